package auth

import (
	"context"
	"strings"
)

// AuthenticateToken recognises a bare token, as `/logintoken` receives it: an API key (`sk-...`)
// or a sign-in JWT. It fails like Authenticate: 401 for an unknown, revoked or expired token,
// 403 for a disabled user.
func (s *Service) AuthenticateToken(ctx context.Context, tok string) (*Principal, error) {
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return nil, errUnauthorized
	}
	if strings.HasPrefix(tok, KeyPrefix) {
		return s.authKey(ctx, tok)
	}
	return s.authJWT(ctx, tok)
}
