// Streaming chat through the gateway (OpenAI chat completions, `stream: true`): the answer is
// read event by event from the response body and handed to onDelta as it arrives.
import { pg, type GatewaySchema } from "./api";

/** One chat message. */
export type ChatMsg = {
  role: "user" | "assistant" | "system";
  content: string;
};

/** How to reach the gateway: a share link, or the caller's credential. */
export interface ChatTarget {
  /** A share link's id; the bearer is its authToken. */
  share?: string;
  /** Sent as `Authorization: Bearer` (an API key, or a share link's authToken); none uses the session cookie. */
  bearer?: string;
  /** The preferred upstream account (`X-Poolgate-Account`). */
  account?: number;
}

/** The message of a gateway error body (OpenAI, Claude or Gemini shape) or of a management error. */
export function gatewayMessage(body: unknown, status: number): string {
  const b = body as { error?: { message?: string } | string; detail?: { error?: string }; message?: string; msg?: string } | undefined;
  if (typeof b?.error === "object" && b.error?.message) return b.error.message;
  if (typeof b?.error === "string") return b.error;
  if (b?.detail?.error) return b.detail.error;
  if (b?.message) return b.message;
  if (b?.msg) return b.msg;
  if (typeof body === "string" && body) return body;
  return `HTTP ${status}`;
}

/** Thrown with the gateway's own message when a chat call is refused or fails mid-stream. */
export class ChatError extends Error {}

function headers(tg: ChatTarget): Record<string, string> {
  const h: Record<string, string> = {};
  if (tg.bearer) h.Authorization = `Bearer ${tg.bearer}`;
  if (tg.account) h["X-Poolgate-Account"] = String(tg.account);
  return h;
}

/**
 * Streams a chat completion; onDelta gets each piece of the answer. Resolves with the whole
 * answer and the usage when the stream reports it.
 */
export async function streamChat(
  tg: ChatTarget,
  model: string,
  messages: ChatMsg[],
  onDelta: (text: string) => void,
  signal?: AbortSignal,
): Promise<{ text: string; usage?: GatewaySchema<"Usage"> }> {
  const body = { model, messages, stream: true, stream_options: { include_usage: true } };
  const r = tg.share
    ? await pg.gateway.POST("/share/{share_id}/v1/chat/completions", { params: { path: { share_id: tg.share } }, body, headers: headers(tg), parseAs: "stream", signal })
    : await pg.gateway.POST("/v1/chat/completions", { body, headers: headers(tg), parseAs: "stream", signal });
  if (!r.response.ok || !r.data) throw new ChatError(gatewayMessage(r.error, r.response.status));
  const reader = (r.data as unknown as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = "";
  let text = "";
  let usage: GatewaySchema<"Usage"> | undefined;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") return { text, usage };
      let ev: { choices?: { delta?: { content?: string | null } }[]; usage?: GatewaySchema<"Usage"> | null; error?: unknown };
      try {
        ev = JSON.parse(data);
      } catch {
        continue;
      }
      if (ev.error) throw new ChatError(gatewayMessage(ev, 200));
      const piece = ev.choices?.[0]?.delta?.content;
      if (piece) {
        text += piece;
        onDelta(piece);
      }
      if (ev.usage) usage = ev.usage;
    }
  }
  return { text, usage };
}

/** The models the caller may use (`GET /v1/models`). */
export async function listModels(tg: ChatTarget): Promise<string[]> {
  const r = await pg.gateway.GET("/v1/models", { headers: headers(tg) });
  if (!r.response.ok || !r.data) throw new ChatError(gatewayMessage(r.error, r.response.status));
  return r.data.data.map((m) => m.id).sort();
}
