package billing

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fullRecord sets every field of a record to a distinct non-zero value (reflection, so a field
// added to Record without a place in the journal line fails TestJournalLineRoundTrip).
func fullRecord(t *testing.T) Record {
	t.Helper()
	var rec Record
	v := reflect.ValueOf(&rec).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Unix(1_760_000_000, 123_456_789)))
		case f.Kind() == reflect.String:
			f.SetString("v%\t\r\n" + v.Type().Field(i).Name + " é")
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.CanInt():
			f.SetInt(int64(100 + i))
		default:
			t.Fatalf("Record.%s has a kind the journal line does not carry: add it to appendLine and parseLine", v.Type().Field(i).Name)
		}
	}
	return rec
}

func TestJournalLineRoundTrip(t *testing.T) {
	t.Parallel()
	rec := fullRecord(t)
	line := appendLine(nil, &rec)
	require.Equal(t, byte('\n'), line[len(line)-1])
	require.Equal(t, 1, bytes.Count(line, []byte{'\n'}), "one line per record, whatever its text")
	got, err := parseLine(line)
	require.NoError(t, err)
	require.True(t, rec.At.Equal(got.At))
	got.At = rec.At
	require.Equal(t, rec, got, "every field comes back")

	zero := Record{RequestID: "r", At: time.Unix(0, 0)}
	got, err = parseLine(appendLine(nil, &zero))
	require.NoError(t, err)
	require.Equal(t, zero.RequestID, got.RequestID)
	require.False(t, got.Stream)
}

func TestJournalLineDamaged(t *testing.T) {
	t.Parallel()
	rec := fullRecord(t)
	line := appendLine(nil, &rec)
	for cut := range len(line) - 1 { // every torn write of the line
		_, err := parseLine(line[:cut])
		require.ErrorIs(t, err, errBadLine, "cut at %d", cut)
	}
	for i := range len(line) - 1 { // every single flipped bit (the checksum catches it)
		bad := append([]byte(nil), line...)
		bad[i] ^= 0x04
		_, err := parseLine(bad)
		require.ErrorIs(t, err, errBadLine, "byte %d changed", i)
	}
	noID := Record{At: time.Unix(1, 0)}
	_, err := parseLine(appendLine(nil, &noID))
	require.ErrorIs(t, err, errBadLine, "a record without a request id is refused")
}

// FuzzJournalLine: any input parses or is refused, never panics; a parsed record encodes to a
// line that parses back to the same record. The seed corpus (testdata/fuzz/FuzzJournalLine) has
// intact, torn and corrupted lines.
func FuzzJournalLine(f *testing.F) {
	rec := Record{RequestID: "AB3XK-1z", UserID: 7, APIKeyID: 3, Model: "gpt-4o-mini", Endpoint: "chat", Stream: true,
		PromptTokens: 12, CompletionTokens: 40, Quota: 93, StatusCode: 200, Duration: 1500 * time.Millisecond,
		At: time.Unix(1_760_000_000, 5), UpstreamModel: "gpt-4o-mini-2024", FirstToken: 2 * time.Millisecond}
	line := appendLine(nil, &rec)
	f.Add(line)
	f.Add(line[:len(line)/2])
	f.Add([]byte("U1\t%zz\t1\t2\t3\t4\tm\te\t1\t1\t1\t1\t1\t1\t1\t1\t200\t1\t1\tu\t1\t00000000\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := parseLine(in)
		if err != nil {
			return
		}
		again, err := parseLine(appendLine(nil, &got))
		if err != nil {
			t.Fatalf("a parsed record does not encode to a parsable line: %v", err)
		}
		if !again.At.Equal(got.At) {
			t.Fatalf("time changed: %v != %v", again.At, got.At)
		}
		again.At = got.At
		if again != got {
			t.Fatalf("round trip changed the record: %+v != %+v", again, got)
		}
	})
}

// TestJournalLineCorpus: the fuzz corpus's intact lines parse, the others are refused.
func TestJournalLineCorpus(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/fuzz/FuzzJournalLine/*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, name := range files {
		raw, err := os.ReadFile(name) //nolint:gosec // the test's own corpus
		require.NoError(t, err)
		lines := strings.SplitN(strings.TrimSpace(string(raw)), "\n", 2)
		require.Len(t, lines, 2, name)
		in, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		require.NoError(t, err, name)
		_, err = parseLine([]byte(in))
		if strings.HasPrefix(filepath.Base(name), "valid") {
			require.NoError(t, err, name)
		} else {
			require.ErrorIs(t, err, errBadLine, name)
		}
	}
}
