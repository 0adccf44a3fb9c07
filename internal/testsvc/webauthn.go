package testsvc

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/require"
)

// Authenticator is a software passkey authenticator (ES256) used as a browser would: it answers
// a server's `{"publicKey": ...}` options with the JSON of PublicKeyCredential.toJSON(), with
// `none` attestation (what browsers send when the relying party asks for none), and counts its
// signatures.
type Authenticator struct {
	rp   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

// NewAuthenticator makes an authenticator with one fresh credential for the relying party whose
// ID is rpID and origin origin (PUBLIC_URL).
func NewAuthenticator(rpID, origin string) *Authenticator {
	return &Authenticator{rp: virtualwebauthn.RelyingParty{ID: rpID, Name: rpID, Origin: origin},
		auth: virtualwebauthn.NewAuthenticator(), cred: virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)}
}

// Register answers creation options with a new credential, as the browser's toJSON() gives it.
func (a *Authenticator) Register(t testing.TB, options []byte) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	require.NoError(t, err)
	a.auth.Options.UserHandle = []byte(opts.UserID) // the handle the credential stores
	res := virtualwebauthn.CreateAttestationResponse(a.rp, a.auth, a.cred, *opts)
	a.auth.AddCredential(a.cred)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(res), &m))
	resp := m["response"].(map[string]any)
	// The library signs a "packed" self attestation; a browser asked for none sends none.
	raw, err := base64.RawURLEncoding.DecodeString(resp["attestationObject"].(string))
	require.NoError(t, err)
	var obj map[string]any
	require.NoError(t, cbor.Unmarshal(raw, &obj))
	none, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": obj["authData"]})
	require.NoError(t, err)
	resp["attestationObject"] = base64.RawURLEncoding.EncodeToString(none)
	resp["transports"] = []string{"internal"}
	return toJSON(t, m)
}

// Assert answers request options with a signature of the next counter value.
func (a *Authenticator) Assert(t testing.TB, options []byte) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	require.NoError(t, err)
	a.cred.Counter++
	res := virtualwebauthn.CreateAssertionResponse(a.rp, a.auth, a.cred, *opts)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(res), &m))
	return toJSON(t, m)
}

// Clone is a copy of the authenticator with the same key and counter, as a cloned hardware
// key would be: its counter moves on its own from here.
func (a *Authenticator) Clone() *Authenticator {
	c := *a
	return &c
}

// toJSON adds what PublicKeyCredential.toJSON() carries besides the library's fields.
func toJSON(t testing.TB, m map[string]any) []byte {
	t.Helper()
	m["clientExtensionResults"] = map[string]any{}
	m["authenticatorAttachment"] = "platform"
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}
