package fakeupstream

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkServe measures the handler alone, the cost the fake adds to a load benchmark.
func BenchmarkServe(b *testing.B) {
	fake := New(WithoutRecording())
	for _, bc := range []struct{ name, body string }{
		{"json", helloBody},
		{"stream", helloStreamUsed},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(bc.body))
					req.Header.Set("Authorization", "Bearer "+testKey)
					w := httptest.NewRecorder()
					fake.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatal(w.Body.String())
					}
				}
			})
		})
	}
}
