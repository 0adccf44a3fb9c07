// Widgets: countdowns, bar charts (inline SVG, no chart library), the once-shown secret and
// hourly uptime bars.
import { useEffect, useMemo, useState } from "preact/hooks";
import { duration, num, t, when } from "../lib/i18n";
import { Button } from "./kit";

/**
 * Seconds left until `until` (an ISO time) or from `seconds` at mount, ticking each second;
 * onEnd is called once when it reaches zero (to read the figures again).
 */
export function Countdown(props: { until?: string | null; seconds?: number | null; onEnd?: () => void }) {
  const [now, setNow] = useState(Date.now());
  // `seconds` counts from when it was received: a new value (figures read again) starts anew.
  const start = useMemo(() => Date.now(), [props.seconds]);
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  let left: number | null = null;
  if (props.until) left = (new Date(props.until).getTime() - now) / 1000;
  else if (props.seconds !== null && props.seconds !== undefined) left = props.seconds - (Math.max(now, start) - start) / 1000;
  const ended = left !== null && left <= 0;
  const { onEnd } = props;
  useEffect(() => {
    if (ended && onEnd) onEnd();
  }, [ended, onEnd]);
  if (left === null) return <span class="muted">—</span>;
  if (left <= 0) return <span>{t("cleared")}</span>;
  return (
    <span class="countdown" title={props.until ?? undefined}>
      {t("clears in {d}", { d: duration(Math.ceil(left)) })}
    </span>
  );
}

/** One bar of a BarChart. */
export interface Bar {
  label: string;
  value: number;
}

/** A horizontal bar chart with the figures beside each bar (readable at 375 px). */
export function BarChart(props: { title: string; bars: Bar[]; format?: (n: number) => string }) {
  const fmt = props.format ?? num;
  const max = Math.max(1, ...props.bars.map((b) => b.value));
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      {props.bars.length === 0 ? (
        <p class="muted">{t("No data in this period.")}</p>
      ) : (
        <ul role="list">
          {props.bars.map((b) => (
            <li>
              <span class="chart-label" title={b.label}>
                {b.label}
              </span>
              <svg class="chart-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                <rect x="0" y="0" height="10" width={Math.max(0.5, (b.value / max) * 100)} rx="1" />
              </svg>
              <span class="chart-value">{fmt(b.value)}</span>
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}

/**
 * A secret shown once, right after it was created: it can be copied, and once dismissed it is
 * gone from the page for good (the server never returns it again).
 */
export function SecretOnce(props: { secret: string; label: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" role="region" aria-label={props.label}>
      <p>
        <strong>{props.label}</strong> — {t("shown only now: copy it and keep it safe.")}
      </p>
      <code class="secret-value" data-testid="secret">
        {props.secret}
      </code>
      <div class="row">
        <Button
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(props.secret);
              setCopied(true);
            } catch {
              setCopied(false);
            }
          }}
        >
          {copied ? t("Copied") : t("Copy")}
        </Button>
        <Button kind="primary" onClick={props.onDone}>
          {t("I have saved it")}
        </Button>
      </div>
    </div>
  );
}

/** One hour of a monitor's checks. */
export interface UptimeHour {
  start: string;
  checks: number;
  up: number;
}

/**
 * A monitor's last 24 hours as one bar per hour: green when every check passed, amber when some
 * failed, red when most failed, grey without checks.
 */
export function UptimeBars({ hours, pct }: { hours: UptimeHour[]; pct: number | null | undefined }) {
  const tone = (h: UptimeHour) => (h.checks === 0 ? "none" : h.up === h.checks ? "ok" : h.up * 2 >= h.checks ? "warn" : "bad");
  const label = pct === null || pct === undefined ? t("no checks yet") : t("{pct}% up in the last 24 hours", { pct: pct.toFixed(1) });
  return (
    <div class="uptime-bars">
      <svg viewBox={`0 0 ${hours.length * 10} 24`} preserveAspectRatio="none" role="img" aria-label={label}>
        {hours.map((h, i) => (
          <rect class={`hour ${tone(h)}`} x={i * 10 + 1} y="0" width="8" height="24" rx="1.5">
            <title>{`${when(h.start)}: ${h.checks ? `${h.up}/${h.checks}` : t("no checks")}`}</title>
          </rect>
        ))}
      </svg>
      <div class="row between small muted">
        <span>{t("24 hours ago")}</span>
        <span>{pct === null || pct === undefined ? t("no checks yet") : `${pct.toFixed(1)}%`}</span>
        <span>{t("now")}</span>
      </div>
    </div>
  );
}
