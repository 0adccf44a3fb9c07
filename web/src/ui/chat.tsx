// The chat box of the playground and the share-link page: a transcript, a prompt, and the
// answer streamed in as it arrives; a refusal is shown in the gateway's own words.
import { useRef, useState } from "preact/hooks";
import { streamChat, type ChatMsg, type ChatTarget } from "../lib/chat";
import { num, t } from "../lib/i18n";
import { message } from "../lib/api";
import { Alert, Button, Field } from "./kit";

/** A chat against target with model. */
export function ChatBox(props: { target: ChatTarget; model: string; disabled?: boolean }) {
  const [msgs, setMsgs] = useState<ChatMsg[]>([]);
  const [draft, setDraft] = useState("");
  const [partial, setPartial] = useState<string | null>(null);
  const [error, setError] = useState<string>();
  const [usage, setUsage] = useState<string>();
  const abort = useRef<AbortController | null>(null);
  const send = async (e: Event) => {
    e.preventDefault();
    const q = draft.trim();
    if (!q || !props.model) return;
    const history: ChatMsg[] = [...msgs, { role: "user", content: q }];
    setMsgs(history);
    setDraft("");
    setError(undefined);
    setUsage(undefined);
    setPartial("");
    abort.current = new AbortController();
    let acc = "";
    try {
      const r = await streamChat(props.target, props.model, history, (d) => setPartial((acc += d)), abort.current.signal);
      setMsgs([...history, { role: "assistant", content: r.text }]);
      if (r.usage) setUsage(t("{p} input + {c} output tokens", { p: num(r.usage.prompt_tokens), c: num(r.usage.completion_tokens) }));
    } catch (err) {
      if (acc) setMsgs([...history, { role: "assistant", content: acc }]);
      if ((err as Error).name !== "AbortError") setError(message(err));
    } finally {
      setPartial(null);
      abort.current = null;
    }
  };
  const streaming = partial !== null;
  return (
    <div class="chat">
      <ol class="transcript" aria-live="polite" aria-label={t("Conversation")}>
        {msgs.map((m) => (
          <li class={`msg ${m.role}`}>
            <span class="sr-only">{m.role === "user" ? t("You") : t("Assistant")}: </span>
            {m.content}
          </li>
        ))}
        {streaming && (
          <li class="msg assistant streaming" data-testid="streaming">
            {partial || <span class="spinner" aria-label={t("Waiting for the answer")} />}
          </li>
        )}
      </ol>
      <Alert>{error}</Alert>
      {usage && <p class="muted small">{usage}</p>}
      <form class="prompt" onSubmit={send}>
        <Field label={t("Message")} wide>
          {(id) => (
            <textarea
              id={id}
              rows={3}
              value={draft}
              disabled={props.disabled}
              onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void send(e);
              }}
            />
          )}
        </Field>
        <div class="row end">
          {msgs.length > 0 && !streaming && (
            <Button onClick={() => (setMsgs([]), setError(undefined), setUsage(undefined))}>{t("New chat")}</Button>
          )}
          {streaming ? (
            <Button kind="danger" onClick={() => abort.current?.abort()}>
              {t("Stop")}
            </Button>
          ) : (
            <Button kind="primary" type="submit" disabled={props.disabled || !props.model || !draft.trim()}>
              {t("Send")}
            </Button>
          )}
        </div>
      </form>
    </div>
  );
}
