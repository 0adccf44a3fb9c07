package admin_test

import (
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	openapi_types "github.com/oapi-codegen/runtime/types"
	"github.com/stretchr/testify/require"

	adminclient "github.com/poolgate/poolgate/clients/go/admin"
	authclient "github.com/poolgate/poolgate/clients/go/auth"
	commonclient "github.com/poolgate/poolgate/clients/go/common"
	adminapi "github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/apptest"
)

// TestAuthorizationBeforeValidation calls every admin operation as a signed-in user who is not an
// administrator (with a session JWT and with an API key), with a body and parameters that break
// the schema: every answer is 403, so nothing of an admin route's schema is revealed; without
// credentials every answer is 401.
func TestAuthorizationBeforeValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.env.NewUser("mallory", 0)
	spec, err := adminapi.GetSpec()
	require.NoError(t, err)
	param := regexp.MustCompile(`\{[^}]+\}`)
	var ops []string
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	sort.Strings(ops)
	require.Greater(t, len(ops), 50)
	writes := 0
	for _, op := range ops {
		method, path, _ := strings.Cut(op, " ")
		url := b.env.URL + param.ReplaceAllString(path, "1") + "?page=-5&page_size=abc"
		for name, token := range map[string]string{"JWT": u.Token, "APIKey": u.Key, "None": ""} {
			req, err := http.NewRequestWithContext(b.ctx, method, url, strings.NewReader(`{"bogus": [1, {"deep": true}], "name": 42}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := b.env.RawHTTP.Do(req)
			require.NoError(t, err)
			got := readAll(t, res)
			if token == "" {
				apptest.RequireError(t, http.StatusUnauthorized, "unauthorized", "", res.StatusCode, got)
			} else {
				apptest.RequireError(t, http.StatusForbidden, "forbidden", msgForbidden, res.StatusCode, got)
			}
			require.NotContains(t, string(got), "bogus", "%s %s", name, op)
		}
		if method == http.MethodPost || method == http.MethodPut {
			writes++
		}
	}
	require.GreaterOrEqual(t, writes, 16)
}

const msgForbidden = "需要管理员权限才能执行这个操作"

func readAll(t *testing.T, res *http.Response) []byte {
	t.Helper()
	defer res.Body.Close()
	var sb strings.Builder
	_, err := io.Copy(&sb, res.Body)
	require.NoError(t, err)
	return []byte(sb.String())
}

// TestUserCreate: an administrator creates users, who sign in like registered ones.
func TestUserCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mail := openapi_types.Email("bob@example.test")
	role := commonclient.UserRoleAdmin
	res, err := b.admin.UserCreateWithResponse(b.ctx, adminclient.UserCreate{Username: "bob", Password: "bob-password",
		Email: &mail, Role: &role, Balance: ptr(int64(700)), TrustLevel: ptr(2)})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	require.Equal(t, "bob", res.JSON201.Username)
	require.Equal(t, commonclient.UserRoleAdmin, res.JSON201.Role)
	require.Equal(t, int64(700), res.JSON201.Balance)
	require.Equal(t, 2, *res.JSON201.TrustLevel)
	require.NotContains(t, string(res.Body), "bob-password")
	tok := b.env.Login("bob@example.test", "bob-password")
	require.NotEmpty(t, tok)

	for name, c := range map[string]adminclient.UserCreate{
		"SameName":  {Username: "BOB", Password: "other-password"},
		"SameEmail": {Username: "bobby", Password: "other-password", Email: &mail},
	} {
		res, err := b.admin.UserCreateWithResponse(b.ctx, c)
		require.NoError(t, err, name)
		apptest.RequireError(t, http.StatusConflict, "conflict", "", res.StatusCode(), res.Body)
	}
}

// TestUserIdentityUpdate: an administrator sets a password (the user's sessions end), an address
// and a trust level, mutes and disables.
func TestUserIdentityUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.env.NewUser("carol", 0)
	pw := "carol-new-password"
	mail := "carol@example.test"
	res, err := b.admin.UserUpdateWithResponse(b.ctx, u.ID, adminclient.UserUpdate{Password: &pw, Email: &mail, TrustLevel: ptr(4)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Equal(t, mail, res.JSON200.Email.MustGet())
	require.Equal(t, 4, *res.JSON200.TrustLevel)
	require.NotContains(t, string(res.Body), pw)
	me, err := b.env.User(u.Token).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, me.StatusCode(), "setting the password ended her sessions")
	me, err = b.env.User(u.Key).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), "her keys still work")
	tok := b.env.Login("carol", pw)

	empty := ""
	res, err = b.admin.UserUpdateWithResponse(b.ctx, u.ID, adminclient.UserUpdate{Email: &empty})
	require.NoError(t, err)
	require.Nil(t, wire.Ptr(res.JSON200.Email))

	muted := commonclient.Muted
	res, err = b.admin.UserUpdateWithResponse(b.ctx, u.ID, adminclient.UserUpdate{Status: &muted})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	me, err = b.env.User(tok).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), "a muted user keeps her session")
	require.Equal(t, commonclient.Muted, me.JSON200.Status)
	login, err := b.env.Auth().PasswordLoginWithResponse(b.ctx, authclient.LoginRequest{Username: "carol", Password: pw})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, login.StatusCode(), "and signs in")

	disabled := commonclient.Disabled
	res, err = b.admin.UserUpdateWithResponse(b.ctx, u.ID, adminclient.UserUpdate{Status: &disabled})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	me, err = b.env.User(tok).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, me.StatusCode(), "disabling ended her sessions")
	me, err = b.env.User(u.Key).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, me.StatusCode(), "and refuses her keys")

	// An administrator setting their own password keeps the session making the change.
	admin, err := b.env.User(b.env.AdminToken).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	other := b.env.Login(apptest.AdminUsername, apptest.AdminPassword)
	np := "admin-new-password-1"
	res, err = b.admin.UserUpdateWithResponse(b.ctx, admin.JSON200.Id, adminclient.UserUpdate{Password: &np})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	still, err := b.env.User(b.env.AdminToken).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, still.StatusCode())
	gone, err := b.env.User(other).MeGetWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, gone.StatusCode())
}
