package relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// readEvents reads every event of an SSE body through the relay's reader.
func readEvents(r io.Reader) ([]string, error) {
	s := sseReader{r: bufio.NewReaderSize(r, 16)}
	var out []string
	for {
		name, data, err := s.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(data) == 0 || len(data) > maxEventBytes {
			return out, errors.New("an event without data or past the bound was returned")
		}
		out = append(out, name+"\x00"+string(data))
	}
}

// FuzzSSEReader feeds arbitrary bytes to the upstream stream reader: it never panics, always ends,
// returns only events with data within the bound, and splits the same bytes into the same events
// whether they arrive at once or one byte at a time.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"data: {\"a\":1}\n\ndata: [DONE]\n\n",
		"event: message_start\ndata: {}\n\nevent: ping\ndata: {}\r\n\r\n",
		": comment\n\ndata:x\ndata:y\n\n",
		"data: no trailing blank line",
		"event: only a name\n\n\n\ndata:\n\n",
		"data: " + string(bytes.Repeat([]byte("z"), 100)) + "\n\n",
		"\r\n\r\ndata:\tx\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, err1 := readEvents(bytes.NewReader(in))
		trickled, err2 := readEvents(iotest.OneByteReader(bytes.NewReader(in)))
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("errors differ: %v / %v", err1, err2)
		}
		if len(whole) != len(trickled) {
			t.Fatalf("%d events at once, %d byte by byte", len(whole), len(trickled))
		}
		for i := range whole {
			if whole[i] != trickled[i] {
				t.Fatalf("event %d differs: %q / %q", i, whole[i], trickled[i])
			}
		}
	})
}
