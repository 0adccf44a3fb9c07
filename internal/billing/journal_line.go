package billing

import (
	"bytes"
	"errors"
	"hash/crc32"
	"strconv"
	"time"
)

// A journal line is one usage record: the tag "U1", the record's fields in a fixed order, and a
// CRC-32C of everything before it, separated by tabs and ended by a newline:
//
//	U1 <tab> request_id <tab> user_id <tab> ... <tab> first_token_ns <tab> crc32c(8 hex) \n
//
// Text fields escape '%', tab, CR, LF and NUL (a mapped segment ends at its first NUL) as %XX;
// numbers are decimal; stream is 0 or 1; durations are nanoseconds and times Unix nanoseconds. A
// line that does not parse or whose checksum does not match (a write cut by a crash) is skipped by
// the reader.

// lineTag starts every record line.
const lineTag = "U1"

// lineFields is the number of tab-separated fields of a line, the tag and checksum included.
const lineFields = 22

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errBadLine is returned for a line that is not a complete, intact record.
var errBadLine = errors.New("journal: malformed or damaged record line")

// appendLine appends rec's journal line (newline included) to dst.
func appendLine(dst []byte, rec *Record) []byte {
	start := len(dst)
	dst = append(dst, lineTag...)
	dst = appendText(append(dst, '\t'), rec.RequestID)
	dst = appendInts(dst, rec.UserID, rec.APIKeyID, rec.ChannelID, rec.AccountID)
	dst = appendText(append(dst, '\t'), rec.Model)
	dst = appendText(append(dst, '\t'), rec.Endpoint)
	stream := int64(0)
	if rec.Stream {
		stream = 1
	}
	dst = appendInts(dst, stream, rec.PromptTokens, rec.CompletionTokens, rec.CachedTokens, rec.CacheWrite5mTokens,
		rec.CacheWrite1hTokens, rec.ReasoningTokens, rec.Quota, int64(rec.StatusCode), int64(rec.Duration), rec.At.UnixNano())
	dst = appendText(append(dst, '\t'), rec.UpstreamModel)
	dst = appendInts(dst, int64(rec.FirstToken))
	sum := crc32.Checksum(dst[start:], crcTable)
	dst = append(dst, '\t')
	dst = appendHex32(dst, sum)
	return append(dst, '\n')
}

func appendInts(dst []byte, vs ...int64) []byte {
	for _, v := range vs {
		dst = strconv.AppendInt(append(dst, '\t'), v, 10)
	}
	return dst
}

func appendHex32(dst []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, digits[(v>>uint(shift))&0xf])
	}
	return dst
}

// appendText appends s with '%', tab, CR, LF and NUL escaped.
func appendText(dst []byte, s string) []byte {
	const digits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%', '\t', '\r', '\n', 0:
			dst = append(dst, '%', digits[c>>4], digits[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// parseText undoes appendText; it refuses bytes appendText never writes unescaped.
func parseText(b []byte) (string, bool) {
	if bytes.IndexByte(b, '%') < 0 {
		return string(b), bytes.IndexByte(b, '\r') < 0
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\r':
			return "", false
		case c != '%':
			out = append(out, c)
		case i+2 >= len(b):
			return "", false
		default:
			v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8)
			if err != nil {
				return "", false
			}
			out = append(out, byte(v))
			i += 2
		}
	}
	return string(out), true
}

// parseLine reads one journal line (with or without its newline) back into a record.
func parseLine(line []byte) (Record, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	cut := bytes.LastIndexByte(line, '\t')
	if cut < 0 || len(line)-cut-1 != 8 {
		return Record{}, errBadLine
	}
	sum, err := strconv.ParseUint(string(line[cut+1:]), 16, 32)
	if err != nil || uint32(sum) != crc32.Checksum(line[:cut], crcTable) {
		return Record{}, errBadLine
	}
	f := bytes.Split(line[:cut], []byte{'\t'})
	if len(f) != lineFields-1 || string(f[0]) != lineTag {
		return Record{}, errBadLine
	}
	var rec Record
	ok := true
	text := func(b []byte) string {
		s, good := parseText(b)
		ok = ok && good
		return s
	}
	num := func(b []byte) int64 {
		v, err := strconv.ParseInt(string(b), 10, 64)
		ok = ok && err == nil
		return v
	}
	rec.RequestID = text(f[1])
	rec.UserID, rec.APIKeyID, rec.ChannelID, rec.AccountID = num(f[2]), num(f[3]), num(f[4]), num(f[5])
	rec.Model, rec.Endpoint = text(f[6]), text(f[7])
	switch string(f[8]) {
	case "1":
		rec.Stream = true
	case "0":
	default:
		ok = false
	}
	rec.PromptTokens, rec.CompletionTokens, rec.CachedTokens = num(f[9]), num(f[10]), num(f[11])
	rec.CacheWrite5mTokens, rec.CacheWrite1hTokens, rec.ReasoningTokens = num(f[12]), num(f[13]), num(f[14])
	rec.Quota = num(f[15])
	status := num(f[16])
	rec.StatusCode = int(status)
	rec.Duration = time.Duration(num(f[17]))
	rec.At = time.Unix(0, num(f[18]))
	rec.UpstreamModel = text(f[19])
	rec.FirstToken = time.Duration(num(f[20]))
	if !ok || rec.RequestID == "" || status < 0 || status > 999 {
		return Record{}, errBadLine
	}
	return rec, nil
}
