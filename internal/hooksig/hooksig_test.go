package hooksig_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/internal/hooksig"
)

var secret = []byte("hook-secret")

func TestSignVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_704_067_200, 0)
	r := hooksig.Request{Method: "POST", Target: "/notify", Authorization: "Bearer user-token", Carid: "17",
		Body: []byte(`{"action":"next"}`)}
	sig := hooksig.Sign(secret, r, now)
	require.Regexp(t, `^t=1704067200,v2=[0-9a-f]{64}$`, sig)
	require.NoError(t, hooksig.Verify(secret, r, sig, now.Add(4*time.Minute)))

	// Whatever a receiver acts on is covered: change any of it and the signature fails.
	for name, change := range map[string]func(*hooksig.Request){
		"OtherPath":          func(x *hooksig.Request) { x.Target = "/audit_limit" },
		"OtherQuery":         func(x *hooksig.Request) { x.Target = "/notify?x=1" },
		"OtherMethod":        func(x *hooksig.Request) { x.Method = "PUT" },
		"ForgedBearer":       func(x *hooksig.Request) { x.Authorization = "Bearer someone-else" },
		"NoBearer":           func(x *hooksig.Request) { x.Authorization = "" },
		"ForgedCarid":        func(x *hooksig.Request) { x.Carid = "18" },
		"OtherBody":          func(x *hooksig.Request) { x.Body = []byte(`{"action":"next" }`) },
		"BodyMovedToHeaders": func(x *hooksig.Request) { x.Carid, x.Body = "17\n", nil },
	} {
		x := r
		change(&x)
		require.ErrorIs(t, hooksig.Verify(secret, x, sig, now), hooksig.ErrBadSignature, name)
	}
	require.ErrorIs(t, hooksig.Verify([]byte("other"), r, sig, now), hooksig.ErrBadSignature)
	require.ErrorIs(t, hooksig.Verify(secret, r, sig, now.Add(6*time.Minute)), hooksig.ErrStale, "a replay after the window")
	require.ErrorIs(t, hooksig.Verify(secret, r, sig, now.Add(-6*time.Minute)), hooksig.ErrStale)
	require.ErrorIs(t, hooksig.Verify(secret, r, "", now), hooksig.ErrNoSignature)
	require.ErrorIs(t, hooksig.Verify(secret, r, "t=x,v2=00", now), hooksig.ErrBadSignature)
	require.ErrorIs(t, hooksig.Verify(secret, r, strings.Replace(sig, "v2=", "v1=", 1), now), hooksig.ErrBadSignature,
		"the old body-only scheme is not accepted")
}

// TestOverHTTP signs a request as a client sends it and verifies it as a server receives it.
func TestOverHTTP(t *testing.T) {
	t.Parallel()
	got := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- hooksig.VerifyRequest(secret, r, 1<<20, time.Now())
	}))
	defer srv.Close()
	for _, tt := range []struct{ method, path, body string }{
		{http.MethodPost, "/hooks/notify?team=a%20b", `{"a":1}`},
		{http.MethodGet, "/remote-accounts", ""},
		{http.MethodPost, "/pool/%E6%B1%A0", ""},
	} {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Carid", "3")
		hooksig.SignRequest(secret, req, []byte(tt.body), time.Now())
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		require.NoError(t, <-got, tt.path)
	}
}
