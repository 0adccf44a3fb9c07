/**
 * Poolgate's TypeScript client: one typed openapi-fetch client per contract, generated from the
 * OpenAPI specs (src/gen, by openapi-typescript — regenerate with `make generate`, never edit),
 * and a small factory that sets the base URL and the credentials.
 *
 * ```ts
 * import { createPoolgate } from "@poolgate/client";
 * const pg = createPoolgate({ baseUrl: "https://pool.example.com", token: jwt });
 * const { data, error } = await pg.admin.GET("/api/channels");
 * ```
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { paths as AdminPaths, components as AdminComponents } from "./gen/admin.js";
import type { paths as AuthPaths, components as AuthComponents } from "./gen/auth.js";
import type { paths as GatewayPaths, components as GatewayComponents } from "./gen/gateway.js";
import type { paths as PublicPaths, components as PublicComponents } from "./gen/public.js";
import type { paths as Seed001Paths, components as Seed001Components } from "./gen/seed001.js";
import type { paths as UserPaths, components as UserComponents } from "./gen/user.js";

export type { AdminPaths, AuthPaths, GatewayPaths, PublicPaths, UserPaths, Seed001Paths };
export type { AdminComponents, AuthComponents, GatewayComponents, PublicComponents, UserComponents, Seed001Components };

/** A schema of the admin contract by name, e.g. `AdminSchema<"Channel">`. */
export type AdminSchema<K extends keyof AdminComponents["schemas"]> = AdminComponents["schemas"][K];
/** A schema of the user contract by name, e.g. `UserSchema<"ApiKey">`. */
export type UserSchema<K extends keyof UserComponents["schemas"]> = UserComponents["schemas"][K];
/** A schema of the public contract by name. */
export type PublicSchema<K extends keyof PublicComponents["schemas"]> = PublicComponents["schemas"][K];
/** A schema of the auth contract by name. */
export type AuthSchema<K extends keyof AuthComponents["schemas"]> = AuthComponents["schemas"][K];
/** A schema of the seed 001 compatible contract by name, e.g. `Seed001Schema<"LoginResponse">`. */
export type Seed001Schema<K extends keyof Seed001Components["schemas"]> = Seed001Components["schemas"][K];
/** A schema of the gateway contract by name. */
export type GatewaySchema<K extends keyof GatewayComponents["schemas"]> = GatewayComponents["schemas"][K];

/** The management error body: `{"detail": {"error", "code"}}`. */
export type ApiError = AdminSchema<"Error">;

/** Where the server is and how to authenticate. */
export interface PoolgateOptions {
  /** The server's root URL, e.g. `https://pool.example.com` (no trailing path). */
  baseUrl: string;
  /**
   * Sent as `Authorization: Bearer <token>`: a sign-in JWT or an API key (`sk-...`). A function is
   * called on every request, so a token that changes (sign-in, sign-out) needs no new client.
   * Leave it out in a browser that signs in with the session cookie.
   */
  token?: string | (() => string | undefined);
  /** Cookies: `"include"` sends the session cookie cross-origin (default: the fetch default). */
  credentials?: RequestCredentials;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof globalThis.fetch;
}

function auth(token: PoolgateOptions["token"]): Middleware {
  return {
    onRequest({ request }) {
      const t = typeof token === "function" ? token() : token;
      if (t && !request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${t}`);
      }
      return request;
    },
  };
}

function make<Paths extends {}, Media extends `${string}/${string}` = `${string}/${string}`>(
  opts: PoolgateOptions,
): Client<Paths, Media> {
  const client = createClient<Paths, Media>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ""),
    headers: opts.headers,
    credentials: opts.credentials,
    fetch: opts.fetch,
  });
  if (opts.token !== undefined) {
    client.use(auth(opts.token));
  }
  return client;
}

/** A client of the admin contract (`/api/*`, an administrator's JWT, cookie or API key). */
export const createAdminClient = (opts: PoolgateOptions): Client<AdminPaths> => make<AdminPaths>(opts);
/** A client of the user contract (`/api/user/*`, the user's own JWT, cookie or API key). */
export const createUserClient = (opts: PoolgateOptions): Client<UserPaths> => make<UserPaths>(opts);
/** A client of the auth contract (sign-in, registration, sign-out). */
export const createAuthClient = (opts: PoolgateOptions): Client<AuthPaths> => make<AuthPaths>(opts);
/**
 * A client of seed 001's own paths (`/api/auth/*`, `/api/api-keys`, `/api/plugin-api/*`, in seed
 * 001's shapes; its errors are `{"detail": "<message>", "code"}`).
 */
export const createSeed001Client = (opts: PoolgateOptions): Client<Seed001Paths> => make<Seed001Paths>(opts);
/** A client of the public contract (settings, announcements, status, setup). */
export const createPublicClient = (opts: PoolgateOptions): Client<PublicPaths> => make<PublicPaths>(opts);
/**
 * The gateway client: its `data` is the JSON answer's type (`ChatCompletion`, `ClaudeMessage`,
 * ...), never a union with the event stream. For a stream, use the typed readers below
 * ({@link streamChatCompletion}, {@link streamResponse}, {@link streamMessage},
 * {@link streamGemini}), or pass `parseAs: "stream"` and read the body with {@link readEvents}.
 */
export type GatewayClient = Client<GatewayPaths, "application/json">;

/** A client of the gateway contract (OpenAI, Claude and Gemini routes, an API key). */
export const createGatewayClient = (opts: PoolgateOptions): GatewayClient => make<GatewayPaths, "application/json">(opts);

/** Every contract's client with the same base URL and credentials. */
export interface Poolgate {
  admin: Client<AdminPaths>;
  user: Client<UserPaths>;
  auth: Client<AuthPaths>;
  public: Client<PublicPaths>;
  gateway: GatewayClient;
}

/** Makes every contract's client with the same base URL and credentials. */
export function createPoolgate(opts: PoolgateOptions): Poolgate {
  return {
    admin: createAdminClient(opts),
    user: createUserClient(opts),
    auth: createAuthClient(opts),
    public: createPublicClient(opts),
    gateway: createGatewayClient(opts),
  };
}

/** The human message of a management error body, or a fallback. */
export function errorMessage(error: unknown, fallback = "request failed"): string {
  const detail = (error as { detail?: { error?: unknown } } | undefined)?.detail;
  return typeof detail?.error === "string" ? detail.error : fallback;
}

// ---- Streams -------------------------------------------------------------------------------

/** One streamed chat completion chunk (`data:` of `POST /v1/chat/completions` with `stream`). */
export type ChatCompletionChunk = GatewaySchema<"ChatCompletionChunk">;
/** One event of a streamed response (`POST /v1/responses` with `stream`). */
export type ResponseStreamEvent = GatewaySchema<"ResponseStreamEvent">;
/** One event of a streamed Claude message (`POST /v1/messages` with `stream`). */
export type ClaudeStreamEvent = GatewaySchema<"ClaudeStreamEvent">;
/** One chunk of a Gemini stream (`streamGenerateContent?alt=sse`). */
export type GeminiChunk = GatewaySchema<"GeminiResponse">;

/** One server-sent event: its `event:` name (when sent) and its `data:` parsed as JSON. */
export interface StreamEvent<T> {
  event?: string;
  data: T;
}

/** A stream that failed: the HTTP error before the first byte, or an error event after it. */
export class GatewayStreamError extends Error {
  constructor(
    message: string,
    /** The HTTP status (the stream's 200 when the error came as an event). */
    readonly status: number,
    /** The error body or event, as the gateway sent it (the protocol's error shape). */
    readonly body: unknown,
  ) {
    super(message);
    this.name = "GatewayStreamError";
  }
}

/** The message of any protocol's error body (OpenAI, Claude, Gemini) or error event. */
function gatewayErrorMessage(body: unknown): string {
  const err = (body as { error?: unknown } | undefined)?.error;
  if (typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string") {
    return (err as { message: string }).message;
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : errorMessage(body, "stream failed");
}

/**
 * Reads a `text/event-stream` body event by event, each event's data parsed as JSON (`T`). It
 * stops at `data: [DONE]` (OpenAI) or at the end of the body, and throws a
 * {@link GatewayStreamError} on an error event (`event: error`, or data that is `{"error": ...}`).
 */
export async function* readEvents<T>(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent<T>> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let event: string | undefined;
  let data: string[] = [];
  const dispatch = (): StreamEvent<T> | "done" | undefined => {
    const text = data.join("\n");
    const name = event;
    event = undefined;
    data = [];
    if (text === "") {
      return undefined;
    }
    if (text === "[DONE]") {
      return "done";
    }
    const parsed: unknown = JSON.parse(text);
    if (name === "error" || (typeof parsed === "object" && parsed !== null && "error" in parsed && !("type" in parsed && (parsed as { type: unknown }).type !== "error"))) {
      throw new GatewayStreamError(gatewayErrorMessage(parsed), 200, parsed);
    }
    return name === undefined ? { data: parsed as T } : { event: name, data: parsed as T };
  };
  // Reads one line; an empty line dispatches the event gathered so far.
  const line = (text: string): StreamEvent<T> | "done" | undefined => {
    if (text === "") {
      return dispatch();
    }
    if (text.startsWith(":")) {
      return undefined;
    }
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let val = colon < 0 ? "" : text.slice(colon + 1);
    if (val.startsWith(" ")) {
      val = val.slice(1);
    }
    if (field === "data") {
      data.push(val);
    } else if (field === "event") {
      event = val;
    }
    return undefined;
  };
  try {
    for (let ended = false; !ended; ) {
      const { value, done } = await reader.read();
      if (done) {
        // The body's end dispatches what is pending, as a blank line would.
        buf += decoder.decode() + "\n\n";
        ended = true;
      } else {
        buf += decoder.decode(value, { stream: true });
      }
      let nl: number;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
        const ev = line(text);
        if (ev === "done") {
          return;
        }
        if (ev !== undefined) {
          yield ev;
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}

async function* stream<T>(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): AsyncGenerator<T> {
  const { data, error, response } = await call;
  if (!response.ok || !(data instanceof ReadableStream)) {
    throw new GatewayStreamError(gatewayErrorMessage(error), response.status, error);
  }
  for await (const ev of readEvents<T>(data as ReadableStream<Uint8Array>)) {
    yield ev.data;
  }
}

type Body<P extends keyof GatewayPaths> = GatewayPaths[P] extends { post: { requestBody?: { content: { "application/json": infer B } } } } ? B : never;

/** Streams a chat completion: `stream: true` is set; yields each typed chunk until `[DONE]`. */
export function streamChatCompletion(gateway: GatewayClient, body: Body<"/v1/chat/completions">): AsyncGenerator<ChatCompletionChunk> {
  return stream<ChatCompletionChunk>(gateway.POST("/v1/chat/completions", { body: { ...body, stream: true }, parseAs: "stream" }));
}

/** Streams a response (Responses API): yields each typed event until `response.completed`. */
export function streamResponse(gateway: GatewayClient, body: Body<"/v1/responses">): AsyncGenerator<ResponseStreamEvent> {
  return stream<ResponseStreamEvent>(gateway.POST("/v1/responses", { body: { ...body, stream: true }, parseAs: "stream" }));
}

/** Streams a Claude message: yields each typed event until `message_stop`. */
export function streamMessage(gateway: GatewayClient, body: Body<"/v1/messages">): AsyncGenerator<ClaudeStreamEvent> {
  return stream<ClaudeStreamEvent>(gateway.POST("/v1/messages", { params: {}, body: { ...body, stream: true }, parseAs: "stream" }));
}

/** Streams Gemini `streamGenerateContent?alt=sse` for `model`: yields each typed chunk. */
export function streamGemini(gateway: GatewayClient, model: string, body: Body<"/v1beta/models/{modelAction}">): AsyncGenerator<GeminiChunk> {
  return stream<GeminiChunk>(gateway.POST("/v1beta/models/{modelAction}", {
    params: { path: { modelAction: `${model}:streamGenerateContent` }, query: { alt: "sse" } },
    body,
    parseAs: "stream",
  }));
}
