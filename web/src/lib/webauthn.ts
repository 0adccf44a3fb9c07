// Passkeys in the browser: the server's `{"publicKey": …}` options (base64url strings) become
// the binary options of navigator.credentials, and the credential the browser makes goes back as
// the JSON of PublicKeyCredential.toJSON() (base64url strings), which the server takes as is.
import type { AuthSchema } from "./api";
import { t } from "./i18n";

type Json = Record<string, unknown>;

const fromB64url = (s: string): ArrayBuffer => {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out.buffer;
};

const toB64url = (buf: ArrayBuffer | null | undefined): string | undefined => {
  if (!buf) return undefined;
  let s = "";
  for (const c of new Uint8Array(buf)) s += String.fromCharCode(c);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

const withIds = (list: unknown) => (Array.isArray(list) ? list.map((c: Json) => ({ ...c, id: fromB64url(String(c.id)) })) : undefined);

/** Whether this browser can use passkeys at all. */
export const passkeysSupported = () => typeof window.PublicKeyCredential === "function" && !!navigator.credentials;

function unsupported(): never {
  throw new Error(t("This browser cannot use passkeys."));
}

/** A credential as PublicKeyCredential.toJSON() gives it. */
export type CredentialJSON = AuthSchema<"PublicKeyCredentialJSON">;

function credentialJSON(c: PublicKeyCredential): CredentialJSON {
  const response: Json = { clientDataJSON: toB64url(c.response.clientDataJSON) };
  if ("attestationObject" in c.response) {
    const r = c.response as AuthenticatorAttestationResponse;
    response.attestationObject = toB64url(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    const r = c.response as AuthenticatorAssertionResponse;
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    response.userHandle = toB64url(r.userHandle);
  }
  return {
    id: c.id,
    rawId: toB64url(c.rawId) ?? "",
    type: "public-key",
    authenticatorAttachment: c.authenticatorAttachment ?? undefined,
    clientExtensionResults: c.getClientExtensionResults(),
    response,
  };
}

/** Makes a new passkey from the server's creation options; its JSON for the server. */
export async function createPasskey(options: { publicKey: Json }): Promise<CredentialJSON> {
  if (!passkeysSupported()) unsupported();
  const o = options.publicKey;
  const user = o.user as Json;
  const publicKey = {
    ...o,
    challenge: fromB64url(String(o.challenge)),
    user: { ...user, id: fromB64url(String(user.id)) },
    excludeCredentials: withIds(o.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
  const c = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential | null;
  if (!c) throw new Error(t("No passkey was made."));
  return credentialJSON(c);
}

/** Signs the server's request options with a passkey; the assertion's JSON for the server. */
export async function signWithPasskey(options: { publicKey: Json }): Promise<CredentialJSON> {
  if (!passkeysSupported()) unsupported();
  const o = options.publicKey;
  const publicKey = {
    ...o,
    challenge: fromB64url(String(o.challenge)),
    allowCredentials: withIds(o.allowCredentials),
  } as unknown as PublicKeyCredentialRequestOptions;
  const c = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential | null;
  if (!c) throw new Error(t("No passkey was chosen."));
  return credentialJSON(c);
}
