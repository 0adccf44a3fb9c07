package testsvc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Maildev is a running maildev: an SMTP server that keeps every mail, readable over HTTP.
type Maildev struct {
	// SMTPURL is the SMTP_URL for Poolgate (with the credentials maildev requires).
	SMTPURL string
	// APIURL is maildev's HTTP API root (GET /email lists the mails).
	APIURL string
}

// Mail is one mail maildev received.
type Mail struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	To      []struct {
		Address string `json:"address"`
	} `json:"to"`
	From []struct {
		Address string `json:"address"`
	} `json:"from"`
}

// StartMaildev starts maildev (tools/node) on free loopback ports, requiring SMTP
// authentication with user and password, and stops it when the test ends.
func StartMaildev(t testing.TB, user, password string) *Maildev {
	t.Helper()
	dir := NodeDir(t)
	smtp, web := FreePort(t), FreePort(t)
	args := []string{"node_modules/maildev/bin/maildev", "--smtp", strconv.Itoa(smtp), "--web", strconv.Itoa(web),
		"--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--silent"}
	if user != "" {
		args = append(args, "--incoming-user", user, "--incoming-pass", password)
	}
	p := start(t, dir, nil, nil, args...)
	m := &Maildev{SMTPURL: fmt.Sprintf("smtp://%s:%s@127.0.0.1:%d", user, password, smtp),
		APIURL: fmt.Sprintf("http://127.0.0.1:%d", web)}
	if user == "" {
		m.SMTPURL = fmt.Sprintf("smtp://127.0.0.1:%d", smtp)
	}
	p.waitReady(t, "maildev", func() bool {
		if !dialable(smtp) {
			return false
		}
		res, err := http.Get(m.APIURL + "/email") //nolint:noctx // a local readiness probe
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return m
}

// Mails lists the mails received for an address (all when to is empty), oldest first.
func (m *Maildev) Mails(t testing.TB, to string) []Mail {
	t.Helper()
	res, err := http.Get(m.APIURL + "/email") //nolint:noctx // a local test service
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var all []Mail
	require.NoError(t, json.NewDecoder(res.Body).Decode(&all))
	var out []Mail
	for _, mail := range all {
		for _, a := range mail.To {
			if to == "" || strings.EqualFold(a.Address, to) {
				out = append(out, mail)
				break
			}
		}
	}
	return out
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// Code waits until the address has received n mails (within 10 seconds) and returns the
// 6-digit code of the newest.
func (m *Maildev) Code(t testing.TB, to string, n int) string {
	t.Helper()
	var mails []Mail
	require.Eventually(t, func() bool {
		mails = m.Mails(t, to)
		return len(mails) >= n
	}, 10*time.Second, 20*time.Millisecond, "mail %d to %s", n, to)
	code := sixDigits.FindString(mails[len(mails)-1].Text)
	require.NotEmpty(t, code, "no code in %q", mails[len(mails)-1].Text)
	return code
}
