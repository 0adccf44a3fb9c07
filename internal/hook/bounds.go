package hook

import "unicode/utf8"

// truncatedMark ends a text cut to a bound.
const truncatedMark = "…[truncated]"

// textBudget hands out a bounded amount of message text, newest message first.
type textBudget struct {
	left int
	// cut is set once anything was cut or left out.
	cut bool
}

// take returns parts within what is left of the budget: whole parts while they fit, then the
// part that crosses the bound cut at a character boundary and marked; nil when nothing is left
// (the message is left out).
func (b *textBudget) take(parts []string) []string {
	if b.left <= 0 {
		b.cut = true
		return nil
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if len(p) <= b.left {
			out = append(out, p)
			b.left -= len(p)
			continue
		}
		out = append(out, cutText(p, b.left))
		b.left, b.cut = 0, true
		break
	}
	return out
}

// cutText keeps at most n bytes of s, cut at a character boundary, and marks the cut; s itself
// when it fits.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + truncatedMark
}
