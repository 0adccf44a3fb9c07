package hook

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// What the audit and notify hooks receive as userToken (HOOK_USER_TOKEN).
const (
	// UserTokenKey sends the caller's credential unchanged (seed 000): the API key, or a share
	// link's authToken.
	UserTokenKey = "key"
	// UserTokenHash sends the SHA-256 of the credential, lowercase hex: receivers tell callers
	// apart, and match keys they know, without ever holding a usable key.
	UserTokenHash = "hash"
	// UserTokenUserID sends the Poolgate user id (decimal).
	UserTokenUserID = "user_id"
)

// userToken is the userToken (and bearer token) the audit and notify hooks receive for c.
func (s *Service) userToken(c Call) string {
	switch s.cfg.UserToken {
	case UserTokenHash:
		if c.Token == "" {
			return ""
		}
		sum := sha256.Sum256([]byte(c.Token))
		return hex.EncodeToString(sum[:])
	case UserTokenUserID:
		if c.UserID == 0 {
			return ""
		}
		return strconv.FormatInt(c.UserID, 10)
	default:
		return c.Token
	}
}
