// A real flow with the generated client against a running server: administrator sign-in, a
// channel with an account and a price, a user with an API key, a chat call through the gateway,
// and the call in the usage logs. Run by clients/ts/client_test.go after `tsc --strict`.
import {
  createAuthClient,
  createPoolgate,
  errorMessage,
  streamChatCompletion,
  GatewayStreamError,
  type AdminSchema,
  type ChatCompletionChunk,
  type GatewaySchema,
} from "../src/index.js";

const env = process.env;
const baseUrl = env.POOLGATE_URL ?? "";
const upstream = env.UPSTREAM_URL ?? "";
let passed = 0;
let failed = 0;

function check(name: string, ok: boolean, detail?: unknown): void {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}: ${JSON.stringify(detail)}`);
  }
}

async function main(): Promise<void> {
  const authc = createAuthClient({ baseUrl });
  const login = await authc.POST("/auth/password/login", {
    body: { username: env.ADMIN_USERNAME ?? "", password: env.ADMIN_PASSWORD ?? "" },
  });
  check("admin signs in", login.response.status === 200 && typeof login.data?.token === "string", login.error);
  const admin = createPoolgate({ baseUrl, token: login.data?.token }).admin;

  const denied = await createPoolgate({ baseUrl, token: "not-a-token" }).admin.GET("/api/channels");
  check("a bad token is refused with the error shape", denied.response.status === 401 && errorMessage(denied.error) !== "request failed", denied.error);

  const channel = await admin.POST("/api/channels", {
    body: { name: "ts-main", type: "openai", base_url: upstream, models: ["gpt-4o-mini"] },
  });
  const ch: AdminSchema<"Channel"> | undefined = channel.data;
  check("channel created", channel.response.status === 201 && ch?.name === "ts-main", channel.error);
  const channelId = ch?.id ?? 0;

  const account = await admin.POST("/api/channels/{id}/accounts", {
    params: { path: { id: channelId } },
    body: { credential: "sk-upstream-ts-0001" },
  });
  check("account created without echoing the credential", account.response.status === 201 && account.data?.has_credential === true &&
    !JSON.stringify(account.data).includes("sk-upstream-ts-0001"), account.error);

  const price = await admin.POST("/api/models", { body: { name: "gpt-4o-mini", input_price: 3_000_000, output_price: 7_000_000 } });
  check("price set", price.response.status === 201, price.error);

  const reg = await authc.POST("/auth/password/register", { body: { username: "ts-user", password: "ts-user-password" } });
  check("user registered", reg.response.status === 200 && reg.data?.user.username === "ts-user", reg.error);
  const userId = reg.data?.user.id ?? 0;
  const funded = await admin.PUT("/api/users/{id}", { params: { path: { id: userId } }, body: { balance: 1_000_000 } });
  check("user funded", funded.data?.balance === 1_000_000, funded.error);

  const user = createPoolgate({ baseUrl, token: () => reg.data?.token }).user;
  const key = await user.POST("/api/user/api-keys", { body: { name: "ts", description: "from the TypeScript client" } });
  check("api key created", key.response.status === 201 && key.data?.key.startsWith("sk-") === true, key.error);

  const gateway = createPoolgate({ baseUrl, token: key.data?.key }).gateway;
  const chat = await gateway.POST("/v1/chat/completions", {
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "hello from typescript" }] },
  });
  // The JSON answer is typed (not a union with the event stream): no narrowing needed.
  const completion: GatewaySchema<"ChatCompletion"> | undefined = chat.data;
  const answer = completion?.choices[0]?.message.content;
  check("chat completion through the gateway, typed", chat.response.status === 200 && typeof answer === "string" && answer.length > 0 &&
    completion?.usage !== undefined && completion.usage.total_tokens > 0, chat.error ?? completion);
  const requestId = chat.response.headers.get("X-Request-Id") ?? "";

  // A stream read event by event, each event a typed ChatCompletionChunk.
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of streamChatCompletion(gateway, { model: "gpt-4o-mini", messages: [{ role: "user", content: "stream please" }] })) {
    chunks.push(chunk);
  }
  const streamed = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
  check("a streamed chat completion as typed chunks", chunks.length > 1 && streamed.length > 0 && chunks.every((c) => c.object === "chat.completion.chunk"), chunks);

  // A stream refused before its first byte throws with the gateway's words.
  let refused: unknown;
  try {
    for await (const _ of streamChatCompletion(gateway, { model: "no-such-model", messages: [{ role: "user", content: "x" }] })) {
      // not reached
    }
  } catch (err) {
    refused = err;
  }
  check("a refused stream throws GatewayStreamError with the status", refused instanceof GatewayStreamError && refused.status === 404 &&
    refused.message.length > 0, String(refused));

  // Usage is written in batches off the request path: wait for both calls' logs (bounded).
  let found: AdminSchema<"UsageLogPage">["items"] = [];
  for (let i = 0; i < 100 && found.length < 2; i++) {
    const logs = await admin.GET("/api/logs", { params: { query: { user_id: userId, limit: 10 } } });
    found = logs.data?.items ?? [];
    if (found.length < 2) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const log = found.find((l) => l.request_id === requestId);
  check("the call is in the usage logs", log !== undefined && log.model === "gpt-4o-mini" && log.status_code === 200 &&
    log.quota > 0, found);

  const own = await user.GET("/api/user/logs", { params: { query: { limit: 5 } } });
  check("the user sees their own calls", (own.data?.items.length ?? 0) >= 2, own.error);
  const stats = await admin.GET("/api/stats", { params: { query: { group_by: "model" } } });
  check("stats by model", stats.data?.items.some((r) => r.key === "gpt-4o-mini" && r.calls >= 2) === true, stats.data);
}

main()
  .catch((err: unknown) => {
    failed++;
    console.log(`not ok - flow threw: ${String(err)}`);
  })
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 ? 0 : 1;
  });
