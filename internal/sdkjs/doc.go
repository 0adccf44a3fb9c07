// Package sdkjs holds the test that drives the official JavaScript SDKs (openai,
// @anthropic-ai/sdk, @google/genai, pinned in tools/node) unmodified against a running Poolgate:
// every SDK against every upstream protocol, normal and streamed, models, token counts,
// embeddings and the SDKs' own error classes. The Go SDKs are driven by internal/api/gateway's
// tests; this package is the second language.
package sdkjs
