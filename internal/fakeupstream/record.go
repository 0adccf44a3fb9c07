package fakeupstream

import (
	"bytes"
	"net/http"
	"sync"
)

// Request is a request received by a [Server], as recorded for [Server.Requests].
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path as received, prefix included.
	Path string
	// Header is a copy of the request headers.
	Header http.Header
	// Body is a copy of the request body.
	Body []byte
	// Credential is the caller's credential as the protocol extracts it ("" if none).
	Credential string
}

// recorder keeps the most recent requests in a ring.
type recorder struct {
	capacity int // fixed by New
	mu       sync.Mutex
	ring     []Request
	total    int // requests recorded since the last reset
}

func (rc *recorder) record(r *http.Request, body []byte, credential string) {
	if rc.capacity == 0 {
		return
	}
	req := Request{
		Method:     r.Method,
		Path:       r.URL.Path,
		Header:     r.Header.Clone(),
		Body:       bytes.Clone(body),
		Credential: credential,
	}
	if req.Body == nil {
		req.Body = []byte{}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.ring) < rc.capacity {
		rc.ring = append(rc.ring, req)
	} else {
		rc.ring[rc.total%rc.capacity] = req
	}
	rc.total++
}

// Requests returns copies of the recorded requests, oldest first: every request received since
// [New] or [Server.Reset], or only the most recent ones when more arrived than the recording
// capacity (see [WithRecording]).
func (s *Server) Requests() []Request {
	rc := &s.rec
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Request, 0, len(rc.ring))
	start := 0
	if len(rc.ring) == rc.capacity && rc.capacity > 0 {
		start = rc.total % rc.capacity
	}
	for i := range rc.ring {
		req := rc.ring[(start+i)%len(rc.ring)]
		req.Header = req.Header.Clone()
		req.Body = bytes.Clone(req.Body)
		out = append(out, req)
	}
	return out
}

func (rc *recorder) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.ring, rc.total = nil, 0
}
