package auth_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	authclient "github.com/poolgate/poolgate/clients/go/auth"
	userclient "github.com/poolgate/poolgate/clients/go/user"
	"github.com/poolgate/poolgate/internal/apptest"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/testsvc"
)

// recorder keeps every answer body a client received.
type recorder struct {
	base http.RoundTripper
	out  *testsvc.LockedBuffer
}

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(b))
	_, _ = r.out.Write(append(b, '\n'))
	return res, nil
}

// TestNoSecretsLeak signs in every way with the app's log captured: no password, code, TOTP
// secret, client secret, session secret, JWT or API key appears in any log line, and none appears
// in an answer but the one that hands it out.
func TestNoSecretsLeak(t *testing.T) {
	t.Parallel()
	logs := &testsvc.LockedBuffer{}
	answers := &testsvc.LockedBuffer{}
	md := testsvc.StartMaildev(t, "poolgate", "smtp-secret-password")
	idp := testsvc.NewOIDC(t)
	b := setup(t, apptest.WithLog(logs), apptest.WithConfig(func(c *config.Config) {
		c.SMTPURL = md.SMTPURL
		c.AllowPrivateOutbound = "127.0.0.1"
		c.LogLevel = "debug"
	}))
	s := &ssoEnv{testBundle: b, idp: idp}
	s.start(t)
	ctx := context.Background()
	hc := &http.Client{Transport: recorder{base: b.env.RawHTTP.Transport, out: answers}}
	ac, err := authclient.NewClientWithResponses(b.env.URL, authclient.WithHTTPClient(hc))
	require.NoError(t, err)
	uc := func(tok string) *userclient.ClientWithResponses {
		c, err := userclient.NewClientWithResponses(b.env.URL, userclient.WithHTTPClient(hc), userclient.WithRequestEditorFn(apptest.Bearer(tok)))
		require.NoError(t, err)
		return c
	}
	secrets := map[string]string{"SMTP password": "smtp-secret-password", "client secret": idp.ClientSecret}
	once := map[string]string{}

	email := authclient.Email("leak@example.test")
	reg, err := ac.PasswordRegisterWithResponse(ctx, authclient.RegisterRequest{Username: "leak", Password: "leak-password-1", Email: &email})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, reg.StatusCode(), string(reg.Body))
	secrets["password"] = "leak-password-1"
	for range 3 {
		_, err := ac.PasswordLoginWithResponse(ctx, authclient.LoginRequest{Username: "leak", Password: "wrong-password-zz"})
		require.NoError(t, err)
	}
	secrets["wrong password"] = "wrong-password-zz"
	login, err := ac.PasswordLoginWithResponse(ctx, authclient.LoginRequest{Username: "leak", Password: "leak-password-1"})
	require.NoError(t, err)
	tok := login.JSON200.Token
	once["JWT"] = tok
	secrets["session secret"] = strings.SplitN(sessionCookie(t, login.HTTPResponse).Value, ".", 2)[1]

	_, err = ac.EmailCodeSendWithResponse(ctx, authclient.EmailCodeRequest{Email: email, Purpose: authclient.Reset})
	require.NoError(t, err)
	code := md.Code(t, string(email), 1)
	secrets["e-mail code"] = code
	res, err := ac.PasswordResetWithResponse(ctx, authclient.PasswordResetRequest{Email: email, EmailCode: code, NewPassword: "leak-password-2"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, res.StatusCode(), string(res.Body))
	secrets["new password"] = "leak-password-2"

	login, err = ac.PasswordLoginWithResponse(ctx, authclient.LoginRequest{Username: "leak@example.test", Password: "leak-password-2"})
	require.NoError(t, err)
	tok = login.JSON200.Token
	setupRes, err := uc(tok).TotpSetupWithResponse(ctx)
	require.NoError(t, err)
	once["TOTP secret"] = setupRes.JSON200.Secret
	first := totpNow(t, setupRes.JSON200.Secret, time.Now().Add(-30*time.Second))
	_, err = uc(tok).TotpEnableWithResponse(ctx, userclient.TotpCode{Code: first})
	require.NoError(t, err)
	key, err := uc(tok).ApiKeyCreateWithResponse(ctx, userclient.ApiKeyCreateRequest{Name: "k"})
	require.NoError(t, err)
	once["API key"] = key.JSON201.Key

	kind := adminclient.Oidc
	s.provider(t, adminclient.OIDCProviderCreate{Slug: "local", Name: "Local", Kind: &kind, Issuer: &idp.Issuer})
	cb, body := s.signIn(t, newBrowser(t, b.env), b.env.PublicURL+"/auth/login?provider=local&return_to=/app", "leaky")
	require.Equal(t, http.StatusFound, cb.StatusCode, body)
	secrets["SSO session"] = strings.SplitN(sessionOf(t, cb), ".", 2)[1]
	list, err := b.env.Admin().OidcProviderListWithResponse(ctx)
	require.NoError(t, err)
	_, _ = answers.Write(list.Body)

	log := logs.String()
	require.Contains(t, log, `"msg":"request"`, "the log was captured")
	for name, v := range secrets {
		require.NotContains(t, log, v, "%s in the log", name)
		require.NotContains(t, answers.String(), v, "%s in an answer", name)
	}
	for name, v := range once {
		require.NotContains(t, log, v, "%s in the log", name)
		n := 0
		for _, line := range strings.Split(answers.String(), "\n") {
			if strings.Contains(line, v) {
				n++
			}
		}
		require.Equal(t, 1, n, "%s only in the answer that hands it out", name)
	}
	require.NotContains(t, log, "$2a$", "no password hash in the log")
}
