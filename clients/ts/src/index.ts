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
import type { paths as UserPaths, components as UserComponents } from "./gen/user.js";

export type { AdminPaths, AuthPaths, GatewayPaths, PublicPaths, UserPaths };
export type { AdminComponents, AuthComponents, GatewayComponents, PublicComponents, UserComponents };

/** A schema of the admin contract by name, e.g. `AdminSchema<"Channel">`. */
export type AdminSchema<K extends keyof AdminComponents["schemas"]> = AdminComponents["schemas"][K];
/** A schema of the user contract by name, e.g. `UserSchema<"ApiKey">`. */
export type UserSchema<K extends keyof UserComponents["schemas"]> = UserComponents["schemas"][K];
/** A schema of the public contract by name. */
export type PublicSchema<K extends keyof PublicComponents["schemas"]> = PublicComponents["schemas"][K];
/** A schema of the auth contract by name. */
export type AuthSchema<K extends keyof AuthComponents["schemas"]> = AuthComponents["schemas"][K];
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

function make<Paths extends {}>(opts: PoolgateOptions): Client<Paths> {
  const client = createClient<Paths>({
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
/** A client of the public contract (settings, announcements, status, setup). */
export const createPublicClient = (opts: PoolgateOptions): Client<PublicPaths> => make<PublicPaths>(opts);
/**
 * A client of the gateway contract (OpenAI, Claude and Gemini routes, an API key). For streams
 * pass `parseAs: "stream"` and read the body; the official SDKs are the richer choice for chat.
 */
export const createGatewayClient = (opts: PoolgateOptions): Client<GatewayPaths> => make<GatewayPaths>(opts);

/** Every contract's client with the same base URL and credentials. */
export interface Poolgate {
  admin: Client<AdminPaths>;
  user: Client<UserPaths>;
  auth: Client<AuthPaths>;
  public: Client<PublicPaths>;
  gateway: Client<GatewayPaths>;
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
