package apptest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// RecordDirEnv names the directory where, when set, every validated exchange (request and
// response, streams excepted) of the API tests is appended as JSON lines, one file per test
// process, for `make contract` to replay through Prism (cmd/contractreplay).
const RecordDirEnv = "CONTRACT_RECORD_DIR"

// Exchange is one recorded request and its response.
type Exchange struct {
	Contract string `json:"contract"`
	// Checked is set when the request was meant to match its contract (bad-input tests send
	// invalid requests on purpose and only their responses are checked).
	Checked    bool              `json:"checked"`
	Method     string            `json:"method"`
	URI        string            `json:"uri"`
	Header     map[string]string `json:"header"`
	Body       []byte            `json:"body,omitempty"`
	Status     int               `json:"status"`
	RespHeader map[string]string `json:"resp_header"`
	RespBody   []byte            `json:"resp_body,omitempty"`
}

// recordedHeaders are the request headers a replay needs (content and credentials).
var recordedHeaders = []string{"Content-Type", "Authorization", "Cookie", "X-Api-Key", "X-Goog-Api-Key", "Anthropic-Version"}

// recordedRespHeaders are the response headers the contracts describe.
var recordedRespHeaders = []string{"Content-Type", "Content-Disposition", "Location", "Retry-After", "X-Request-Id"}

// maxRecorded bounds a recorded body; larger exchanges are not recorded.
const maxRecorded = 1 << 20

var recorder struct {
	once sync.Once
	mu   sync.Mutex
	enc  *json.Encoder
	err  error
}

func pick(h http.Header, names []string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		if v := h.Get(n); v != "" {
			out[n] = v
		}
	}
	return out
}

// record appends an exchange when RecordDirEnv is set.
func record(contract string, checked bool, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	dir := os.Getenv(RecordDirEnv)
	if dir == "" || len(reqBody) > maxRecorded || len(respBody) > maxRecorded {
		return nil
	}
	recorder.once.Do(func() {
		if recorder.err = os.MkdirAll(dir, 0o750); recorder.err != nil { //nolint:gosec // the test run's own directory
			return
		}
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("exchanges-%d.jsonl", os.Getpid())), //nolint:gosec // the test run's own directory
			os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		recorder.err = err
		recorder.enc = json.NewEncoder(f) // closed when the test process exits
	})
	if recorder.err != nil {
		return recorder.err
	}
	recorder.mu.Lock()
	defer recorder.mu.Unlock()
	return recorder.enc.Encode(Exchange{Contract: contract, Checked: checked, Method: req.Method, URI: req.URL.RequestURI(),
		Header: pick(req.Header, recordedHeaders), Body: reqBody, Status: resp.StatusCode,
		RespHeader: pick(resp.Header, recordedRespHeaders), RespBody: respBody})
}
