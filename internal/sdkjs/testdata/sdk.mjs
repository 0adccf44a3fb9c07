// The official JavaScript SDKs (openai, @anthropic-ai/sdk, @google/genai), unmodified, against a
// running Poolgate. Every SDK calls every upstream protocol's model (relayed or translated),
// normal and streamed, and the SDKs' own error classes must come out of Poolgate's errors.
//
// Environment: POOLGATE_URL, POOLGATE_KEY (an sk- key), MODELS (JSON {openai, anthropic, gemini}).
// Prints one line per check and "N passed, M failed"; exits 1 when a check failed.
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';

const base = process.env.POOLGATE_URL;
const key = process.env.POOLGATE_KEY;
const models = JSON.parse(process.env.MODELS);

const openai = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: key, baseURL: base, maxRetries: 0 });
const genai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: base } });

let passed = 0;
let failed = 0;
const results = [];

async function check(name, fn) {
  try {
    const detail = await fn();
    passed++;
    results.push({ name, ok: true, detail });
    console.log(`ok   ${name}${detail ? ` — ${JSON.stringify(detail)}` : ''}`);
  } catch (err) {
    failed++;
    results.push({ name, ok: false, error: String(err && err.stack ? err.stack : err) });
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
  }
}

function equal(got, want, what) {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function positive(n, what) {
  if (!(typeof n === 'number' && n > 0)) throw new Error(`${what}: got ${JSON.stringify(n)}, want a positive number`);
}

// The fake upstream answers "echo: " and the last user message; usage counts words.
const prompt = 'say hello to the pool';
const want = `echo: ${prompt}`;

async function expectError(fn, cls, status, what) {
  try {
    await fn();
  } catch (err) {
    if (cls && !(err instanceof cls)) throw new Error(`${what}: ${err && err.constructor && err.constructor.name} is not ${cls.name}: ${err}`);
    equal(err.status, status, `${what} status`);
    return { class: err.constructor.name, status: err.status, message: String(err.message).slice(0, 120) };
  }
  throw new Error(`${what}: no error`);
}

for (const [up, model] of Object.entries(models)) {
  // ---- OpenAI SDK ----
  await check(`openai chat ${up}`, async () => {
    const r = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] });
    equal(r.object, 'chat.completion', 'object');
    equal(r.choices[0].message.content, want, 'content');
    equal(r.choices[0].finish_reason, 'stop', 'finish_reason');
    positive(r.usage.prompt_tokens, 'prompt_tokens');
    equal(r.usage.completion_tokens, want.split(' ').length, 'completion_tokens');
    return { usage: r.usage.total_tokens };
  });
  await check(`openai chat stream ${up}`, async () => {
    const s = await openai.chat.completions.create({
      model, messages: [{ role: 'user', content: prompt }], stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let usage;
    let finish;
    for await (const ch of s) {
      equal(ch.object, 'chat.completion.chunk', 'chunk object');
      if (ch.choices.length) {
        text += ch.choices[0].delta.content ?? '';
        finish = ch.choices[0].finish_reason ?? finish;
      }
      if (ch.usage) usage = ch.usage;
    }
    equal(text, want, 'streamed text');
    equal(finish, 'stop', 'finish_reason');
    positive(usage && usage.completion_tokens, 'usage in the last chunk');
    return { usage: usage.total_tokens };
  });
  await check(`openai chat stream helper ${up}`, async () => {
    const runner = openai.chat.completions.stream({ model, messages: [{ role: 'user', content: prompt }] });
    const final = await runner.finalChatCompletion();
    equal(final.choices[0].message.content, want, 'final content');
  });
  await check(`openai responses ${up}`, async () => {
    const r = await openai.responses.create({ model, input: prompt });
    equal(r.object, 'response', 'object');
    equal(r.status, 'completed', 'status');
    equal(r.output_text, want, 'output_text');
    positive(r.usage.output_tokens, 'output_tokens');
  });
  await check(`openai responses stream ${up}`, async () => {
    const s = await openai.responses.create({ model, input: prompt, stream: true });
    let text = '';
    let done;
    for await (const ev of s) {
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') done = ev.response;
    }
    equal(text, want, 'streamed text');
    equal(done && done.status, 'completed', 'response.completed');
    positive(done.usage.output_tokens, 'output_tokens');
  });

  // ---- Anthropic SDK ----
  await check(`anthropic messages ${up}`, async () => {
    const m = await anthropic.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: prompt }] });
    equal(m.type, 'message', 'type');
    equal(m.role, 'assistant', 'role');
    equal(m.content.map((b) => b.text).join(''), want, 'text');
    equal(m.stop_reason, 'end_turn', 'stop_reason');
    positive(m.usage.input_tokens, 'input_tokens');
    equal(m.usage.output_tokens, want.split(' ').length, 'output_tokens');
  });
  await check(`anthropic messages stream ${up}`, async () => {
    const s = anthropic.messages.stream({ model, max_tokens: 64, messages: [{ role: 'user', content: prompt }] });
    let text = '';
    s.on('text', (t) => { text += t; });
    const m = await s.finalMessage();
    equal(text, want, 'streamed text');
    equal(m.stop_reason, 'end_turn', 'stop_reason');
    positive(m.usage.output_tokens, 'output_tokens');
  });
  await check(`anthropic messages raw stream ${up}`, async () => {
    const s = await anthropic.messages.create({ model, max_tokens: 64, stream: true, messages: [{ role: 'user', content: prompt }] });
    const types = new Set();
    for await (const ev of s) types.add(ev.type);
    for (const t of ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']) {
      if (!types.has(t)) throw new Error(`no ${t} event (got ${[...types]})`);
    }
  });
  await check(`anthropic count tokens ${up}`, async () => {
    const c = await anthropic.messages.countTokens({ model, messages: [{ role: 'user', content: prompt }] });
    positive(c.input_tokens, 'input_tokens');
  });

  // ---- Google Gen AI SDK ----
  await check(`genai generateContent ${up}`, async () => {
    const r = await genai.models.generateContent({ model, contents: prompt });
    equal(r.text, want, 'text');
    equal(r.candidates[0].finishReason, 'STOP', 'finishReason');
    positive(r.usageMetadata.promptTokenCount, 'promptTokenCount');
    equal(r.usageMetadata.candidatesTokenCount, want.split(' ').length, 'candidatesTokenCount');
  });
  await check(`genai generateContentStream ${up}`, async () => {
    const s = await genai.models.generateContentStream({ model, contents: prompt });
    let text = '';
    let usage;
    for await (const ch of s) {
      text += ch.text ?? '';
      if (ch.usageMetadata) usage = ch.usageMetadata;
    }
    equal(text, want, 'streamed text');
    positive(usage && usage.candidatesTokenCount, 'usageMetadata');
  });
  await check(`genai chat ${up}`, async () => {
    const chat = genai.chats.create({ model });
    const r1 = await chat.sendMessage({ message: prompt });
    equal(r1.text, want, 'first turn');
    const r2 = await chat.sendMessage({ message: 'and again' });
    equal(r2.text, 'echo: and again', 'second turn');
  });
  await check(`genai countTokens ${up}`, async () => {
    const c = await genai.models.countTokens({ model, contents: prompt });
    positive(c.totalTokens, 'totalTokens');
  });
}

// ---- models, embeddings and errors ----
await check('openai models.list', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  for (const m of Object.values(models)) if (!ids.includes(m)) throw new Error(`${m} not in ${ids}`);
  return { count: ids.length };
});
await check('openai models.retrieve', async () => {
  const m = await openai.models.retrieve(models.openai);
  equal(m.id, models.openai, 'id');
  equal(m.object, 'model', 'object');
});
await check('openai embeddings', async () => {
  const e = await openai.embeddings.create({ model: models.openai, input: ['one', 'two words'] });
  equal(e.data.length, 2, 'vectors');
  positive(e.data[0].embedding.length, 'dimensions');
  positive(e.usage.prompt_tokens, 'prompt_tokens');
});
await check('anthropic models.list', async () => {
  const ids = [];
  for await (const m of anthropic.models.list()) ids.push(m.id);
  for (const m of Object.values(models)) if (!ids.includes(m)) throw new Error(`${m} not in ${ids}`);
});
await check('genai models.list', async () => {
  const names = [];
  const pager = await genai.models.list();
  for await (const m of pager) names.push(m.name);
  for (const m of Object.values(models)) if (!names.includes(`models/${m}`)) throw new Error(`models/${m} not in ${names}`);
});
await check('genai models.get', async () => {
  const m = await genai.models.get({ model: models.gemini });
  equal(m.name, `models/${models.gemini}`, 'name');
});

const badOpenAI = new OpenAI({ apiKey: 'sk-not-a-key', baseURL: `${base}/v1`, maxRetries: 0 });
const badAnthropic = new Anthropic({ apiKey: 'sk-not-a-key', baseURL: base, maxRetries: 0 });
const badGenai = new GoogleGenAI({ apiKey: 'sk-not-a-key', httpOptions: { baseUrl: base } });

await check('openai bad key → AuthenticationError', () => expectError(
  () => badOpenAI.chat.completions.create({ model: models.openai, messages: [{ role: 'user', content: 'x' }] }),
  OpenAI.AuthenticationError, 401, 'bad key'));
await check('openai unknown model → NotFoundError', () => expectError(
  () => openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
  OpenAI.NotFoundError, 404, 'unknown model'));
await check('openai invalid body → BadRequestError', () => expectError(
  () => openai.chat.completions.create({ model: models.openai, messages: [{ role: 'user', content: 'x' }], temperature: 9 }),
  OpenAI.BadRequestError, 400, 'temperature 9'));
await check('anthropic bad key → AuthenticationError', () => expectError(
  () => badAnthropic.messages.create({ model: models.anthropic, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
  Anthropic.AuthenticationError, 401, 'bad key'));
await check('anthropic unknown model → NotFoundError', () => expectError(
  () => anthropic.messages.create({ model: 'no-such-model', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
  Anthropic.NotFoundError, 404, 'unknown model'));
await check('anthropic missing max_tokens → BadRequestError', () => expectError(
  () => anthropic.messages.create({ model: models.anthropic, messages: [{ role: 'user', content: 'x' }] }),
  Anthropic.BadRequestError, 400, 'no max_tokens'));
await check('genai bad key → ApiError', async () => {
  try {
    await badGenai.models.generateContent({ model: models.gemini, contents: 'x' });
  } catch (err) {
    if (![400, 401, 403].includes(err.status)) throw new Error(`status ${err.status}: ${err}`);
    if (!String(err.message).includes('API key')) throw new Error(`message does not name the key: ${err.message}`);
    return { class: err.constructor.name, status: err.status };
  }
  throw new Error('no error');
});
await check('genai unknown model → 404', async () => {
  try {
    await genai.models.generateContent({ model: 'no-such-model', contents: 'x' });
  } catch (err) {
    equal(err.status, 404, 'status');
    return { class: err.constructor.name };
  }
  throw new Error('no error');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
