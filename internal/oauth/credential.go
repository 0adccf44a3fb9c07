// Package oauth keeps OAuth-based upstream accounts usable (docs/accounts.md): their credential
// is a sealed JSON object holding an access token, the refresh token and where to refresh it; the
// access token is refreshed before it expires and once after the upstream refuses it, by a single
// request across every instance (a Redis lock plus an in-process single flight; in process only
// without Redis). A refused refresh marks the account needs_reauth.
package oauth

import (
	"encoding/json"
	"strings"
	"time"
)

// TypeOAuth is the credential type of OAuth accounts.
const TypeOAuth = "oauth"

// Credential is an OAuth account's credential as sealed in accounts.credential_enc.
type Credential struct {
	Type         string    `json:"type"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	TokenURL     string    `json:"token_url,omitempty"`
	ClientID     string    `json:"client_id,omitempty"`
	// ClientSecret goes with refreshes for providers whose client has one (Google).
	ClientSecret string `json:"client_secret,omitempty"` //nolint:gosec // sealed with the tokens, never shown
}

// Parse reads a stored credential: an OAuth credential (ok), or not one (a plain API key).
func Parse(stored string) (*Credential, bool) {
	if !strings.HasPrefix(strings.TrimSpace(stored), "{") {
		return nil, false
	}
	var c Credential
	if err := json.Unmarshal([]byte(stored), &c); err != nil || c.Type != TypeOAuth || c.AccessToken == "" {
		return nil, false
	}
	return &c, true
}

// Encode is the credential as it is sealed.
func (c *Credential) Encode() string {
	b, _ := json.Marshal(c) //nolint:errchkjson,gosec // sealed by the caller, never shown
	return string(b)
}

// fresh reports whether the access token is still good at now plus skew (no expiry: always).
func (c *Credential) fresh(now time.Time, skew time.Duration) bool {
	return c.ExpiresAt.IsZero() || c.ExpiresAt.After(now.Add(skew))
}
