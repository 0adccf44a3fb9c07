package testsvc_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/poolgate/poolgate/internal/mail"
	"github.com/poolgate/poolgate/internal/testsvc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"))
}

// TestMaildev sends a mail through maildev with SMTP authentication (the mail package) and reads
// its code back over maildev's API.
func TestMaildev(t *testing.T) {
	t.Parallel()
	md := testsvc.StartMaildev(t, "mailer", "mail-password")
	m, err := mail.New(md.SMTPURL, "Poolgate <noreply@example.test>", "http://localhost:8080")
	require.NoError(t, err)
	require.NoError(t, m.Send(context.Background(), "bob@example.test", "Your code ✓", "Your code is 123456.\r\n"))
	require.Equal(t, "123456", md.Code(t, "bob@example.test", 1))
	got := md.Mails(t, "bob@example.test")[0]
	require.Equal(t, "Your code ✓", got.Subject)
	require.Equal(t, "noreply@example.test", got.From[0].Address)

	bad, err := mail.New("smtp://mailer:wrong@"+md.SMTPURL[len("smtp://mailer:mail-password@"):], "", "http://localhost")
	require.NoError(t, err)
	require.Error(t, bad.Send(context.Background(), "bob@example.test", "x", "y"), "wrong SMTP password")
}

// TestOIDC starts the provider and reads its discovery document.
func TestOIDC(t *testing.T) {
	t.Parallel()
	o := testsvc.NewOIDC(t)
	o.Start(t, "http://127.0.0.1:1/auth/callback")
	res, err := http.Get(o.Issuer + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	auth, token, userinfo := o.Endpoints(t)
	require.Contains(t, auth, o.Issuer)
	require.Contains(t, token, o.Issuer)
	require.Contains(t, userinfo, o.Issuer)
}
