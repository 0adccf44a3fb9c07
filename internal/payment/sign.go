package payment

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // the EPay protocol signs with MD5; it is the gateway's choice, not ours
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// signBase joins the non-empty parameters except those in skip, sorted by name, as k=v&k=v
// (values as they are, not URL-encoded): the string both gateways sign.
func signBase(p url.Values, skip ...string) string {
	keys := make([]string, 0, len(p))
	for k, v := range p {
		if len(v) == 0 || v[0] == "" || contains(skip, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(p.Get(k))
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// YipaySign is the EPay signature of p: the lowercase hex MD5 of every non-empty parameter
// except sign and sign_type, sorted by name and joined as k=v&k=v, followed by the merchant key.
func YipaySign(p url.Values, key string) string {
	sum := md5.Sum([]byte(signBase(p, "sign", "sign_type") + key)) //nolint:gosec // EPay's protocol
	return hex.EncodeToString(sum[:])
}

// OpenPaymentSign is the lowercase hex HMAC-SHA256 of msg keyed with secret.
func OpenPaymentSign(secret string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// OpenPaymentSignParams signs query parameters: the HMAC of every non-empty parameter except
// signature, sorted by name and joined as k=v&k=v.
func OpenPaymentSignParams(p url.Values, secret string) string {
	return OpenPaymentSign(secret, []byte(signBase(p, "signature")))
}

// equalHex compares two hex signatures in constant time, case-insensitively.
func equalHex(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}
