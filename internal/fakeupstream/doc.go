// Package fakeupstream is a fake upstream AI provider for Poolgate's tests, its load benchmark and
// its zero-config dev mode (the built-in echo upstream).
//
// A [Server] is an [http.Handler]. Routes match by path suffix, so it works at the root of an
// [net/http/httptest.Server] or mounted under any prefix of another mux. It currently speaks
// OpenAI's chat completions wire format exactly (JSON and server-sent events):
//
//	POST .../chat/completions   echo answer, or the next scripted [Reply]
//	GET  .../models             the ids given to [WithModels]
//
// and OpenAI's other endpoints, scripted the same way (openai_more.go, openai_responses*.go):
// legacy .../completions (text_completion, streamed like chat), .../responses (the response
// object or its typed event stream; unknown stream_options members such as include_usage are
// refused with 400 unknown_parameter as the real API does), .../embeddings (deterministic
// vectors, floats or base64) and .../images/generations (gpt-image-* base64 with token usage,
// DALL·E URLs without usage).
//
// # Echo mode
//
// With no script, a chat completion answers "echo: " followed by the text of the last user message
// (string content, or the text parts of an array content joined by single spaces). Usage is
// deterministic: prompt_tokens is the number of whitespace-separated words across the text of all
// messages (at least 1), completion_tokens the number of words in the answer, cached and reasoning
// tokens 0. A stream sends one content event per word, each word keeping its leading whitespace,
// so the concatenated deltas equal the answer and completion_tokens equals the number of content
// events.
//
// # Scripts
//
// [Server.Enqueue] and [Server.EnqueueFor] queue replies consumed, one per request, by generation
// requests (chat completions) that passed authentication; listing models never consumes a reply.
// A reply can change the status and body, add headers, delay the answer or each stream event, cut a
// stream mid-way or drop the connection before any byte.
//
// # Protocols
//
// The scripting, recording and routing core (server.go, script.go, record.go) knows nothing of a
// wire format. Each wire format lives in its own files and contributes its routes in [New]:
// OpenAI chat completions (openai*.go; Authorization: Bearer), Anthropic Messages
// (anthropic*.go: .../v1/messages and .../v1/messages/count_tokens, x-api-key, anthropic-version
// required, named SSE events) and Gemini (gemini*.go: .../models/{model}:generateContent,
// :streamGenerateContent as SSE with ?alt=sse or a JSON array, :countTokens, :embedContent;
// x-goog-api-key or ?key=). Each answers with its native error bodies, and renders a [Reply]'s
// Thinking and ToolCalls in its own shape.
package fakeupstream
