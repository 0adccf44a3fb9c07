package hook

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxErrorText bounds a stored delivery error.
const maxErrorText = 300

var (
	urlPattern    = regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>]+`)
	secretPattern = regexp.MustCompile(`(?i)\b(sk-[A-Za-z0-9_\-]{2})[A-Za-z0-9_\-]+|\b(bearer\s+)\S+`)
)

// SanitizeError makes a delivery error safe to store and show to administrators: URLs are
// reduced to scheme and host (paths and queries may carry tokens), key-like strings and bearer
// tokens are masked, and the text is bounded.
func SanitizeError(msg string) string {
	msg = urlPattern.ReplaceAllStringFunc(msg, func(raw string) string {
		trimmed := strings.TrimRight(raw, ".,;:)")
		u, err := url.Parse(trimmed)
		if err != nil || u.Host == "" {
			return "<url>"
		}
		return u.Scheme + "://" + u.Host + raw[len(trimmed):]
	})
	msg = secretPattern.ReplaceAllString(msg, "$1$2…")
	if len(msg) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// HostOf is the host of a hook URL (no path, query or credentials), for administrators.
func HostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
