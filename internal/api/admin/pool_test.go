package admin_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
)

func TestAccountPoolFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch := b.env.Channel("main", []string{"gpt-4o-mini"})
	u := b.env.NewUser("alice", 0)

	res, err := b.admin.AccountCreateWithResponse(b.ctx, ch, adminclient.AccountCreate{Credential: "sk-upstream-0000aaaa",
		Nickname: ptr("Car A"), Tier: ptr(adminclient.Ultra), OwnerUserId: wire.Opt(&u.ID), MaxConcurrency: ptr(3),
		Limits: &adminclient.AccountLimits{"gpt-4o-mini": "60/3h", "*": "1000/1d"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	a := res.JSON201
	require.Equal(t, "Car A", a.Nickname)
	require.Equal(t, adminclient.Ultra, a.Tier)
	require.Equal(t, u.ID, a.OwnerUserId.MustGet())
	require.Equal(t, 3, a.MaxConcurrency)
	require.Equal(t, adminclient.AccountLimits{"gpt-4o-mini": "60/3h", "*": "1000/1d"}, a.Limits)
	require.Equal(t, adminclient.AccountStatusActive, a.Status)
	require.Empty(t, a.StatusReason)
	require.Nil(t, wire.Ptr(a.CoolingUntil))

	// Owner 0 makes it shared; other fields stay.
	up, err := b.admin.AccountUpdateWithResponse(b.ctx, ch, a.Id, adminclient.AccountUpdate{OwnerUserId: ptr(int64(0)), Tier: ptr(adminclient.Pro)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Nil(t, wire.Ptr(up.JSON200.OwnerUserId))
	require.Equal(t, adminclient.Pro, up.JSON200.Tier)
	require.Equal(t, 3, up.JSON200.MaxConcurrency)

	// An administrator's disable records its reason; a reset clears it.
	up, err = b.admin.AccountUpdateWithResponse(b.ctx, ch, a.Id, adminclient.AccountUpdate{Status: ptr(adminclient.ActiveStatusDisabled)})
	require.NoError(t, err)
	require.Equal(t, "admin", up.JSON200.StatusReason)
	rs, err := b.admin.AccountResetWithResponse(b.ctx, ch, a.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, rs.StatusCode(), string(rs.Body))
	require.Equal(t, adminclient.AccountStatusActive, rs.JSON200.Status)
	require.Empty(t, rs.JSON200.StatusReason)
	rs, err = b.admin.AccountResetWithResponse(b.ctx, ch, 999)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, rs.StatusCode())

	// Bad limits and unknown owners are refused.
	bad, err := b.raw.AccountCreateWithResponse(b.ctx, ch, adminclient.AccountCreate{Credential: "sk-upstream-0000bbbb",
		Limits: &adminclient.AccountLimits{"m": "lots"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, bad.StatusCode())
	bad, err = b.admin.AccountCreateWithResponse(b.ctx, ch, adminclient.AccountCreate{Credential: "sk-upstream-0000bbbb", OwnerUserId: wire.Opt(ptr(int64(999)))})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, bad.StatusCode())
}

func TestAccountImport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch := b.env.Channel("main", []string{"gpt-4o-mini"})
	res, err := b.admin.AccountImportWithResponse(b.ctx, ch, adminclient.AccountImport{Accounts: []adminclient.AccountCreate{
		{Credential: "sk-import-00000001", Name: ptr("one")},
		{Credential: "sk-import-00000002", Tier: ptr(adminclient.Pro)},
	}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	require.Equal(t, 2, res.JSON201.Created)
	require.Equal(t, "****0002", res.JSON201.Items[1].CredentialTail)

	// All or nothing.
	res, err = b.admin.AccountImportWithResponse(b.ctx, ch, adminclient.AccountImport{Accounts: []adminclient.AccountCreate{
		{Credential: "sk-import-00000003"}, {Credential: "sk-import-00000004", OwnerUserId: wire.Opt(ptr(int64(999)))},
	}})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, res.StatusCode())
	list, err := b.admin.AccountListWithResponse(b.ctx, ch)
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 2)
	res, err = b.admin.AccountImportWithResponse(b.ctx, 999, adminclient.AccountImport{Accounts: []adminclient.AccountCreate{{Credential: "sk-import-00000005"}}})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, res.StatusCode())
}

func TestModelSync(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch := b.env.Channel("main", []string{"gpt-4o-mini", "legacy-model"}, "sk-upstream-aaaa1111")
	empty := b.env.Channel("empty", []string{"gpt-4o"})

	pv, err := b.admin.ModelSyncPreviewWithResponse(b.ctx, adminclient.ChannelSelection{})
	require.NoError(t, err)
	require.Empty(t, pv.JSON200.Items, "nothing synced yet")

	sync, err := b.admin.ChannelSyncWithResponse(b.ctx, adminclient.ChannelSelection{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, sync.StatusCode(), string(sync.Body))
	require.Len(t, sync.JSON200.Items, 2)
	require.True(t, sync.JSON200.Items[0].Ok)
	require.Equal(t, 5, sync.JSON200.Items[0].Models) // the fake upstream's default list
	require.False(t, sync.JSON200.Items[1].Ok)
	require.Contains(t, sync.JSON200.Items[1].Error, "no active account")

	pv, err = b.admin.ModelSyncPreviewWithResponse(b.ctx, adminclient.ChannelSelection{})
	require.NoError(t, err)
	require.Len(t, pv.JSON200.Items, 1)
	require.Equal(t, ch, pv.JSON200.Items[0].ChannelId)
	require.ElementsMatch(t, []string{"gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-5-mini"}, pv.JSON200.Items[0].Add)
	require.Equal(t, []string{"legacy-model"}, pv.JSON200.Items[0].Remove)

	ap, err := b.admin.ModelSyncApplyWithResponse(b.ctx, adminclient.ModelSyncApply{ChannelIds: &[]int64{ch, empty}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ap.StatusCode(), string(ap.Body))
	require.Len(t, ap.JSON200.Items, 1, "only synced channels change")
	require.Contains(t, ap.JSON200.Items[0].Models, "legacy-model", "kept without remove")
	require.Contains(t, ap.JSON200.Items[0].Models, "gpt-5-mini")
	ap, err = b.admin.ModelSyncApplyWithResponse(b.ctx, adminclient.ModelSyncApply{Remove: ptr(true)})
	require.NoError(t, err)
	require.NotContains(t, ap.JSON200.Items[0].Models, "legacy-model")
	got, err := b.admin.ChannelGetWithResponse(b.ctx, ch)
	require.NoError(t, err)
	require.Equal(t, []string{"gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "gpt-5-mini"}, got.JSON200.Models)
}

func TestChannelUsage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch := b.env.Channel("main", []string{"gpt-4o-mini"}, "sk-upstream-aaaa1111")
	b.env.Price("gpt-4o-mini", 1_000_000, 1_000_000)
	u := b.env.NewUser("alice", 1_000_000)
	for range 2 {
		req, err := http.NewRequest(http.MethodPost, b.env.URL+"/v1/chat/completions",
			bytes.NewReader([]byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+u.Key)
		res, err := b.env.RawHTTP.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	b.env.FlushUsage()
	res, err := b.admin.ChannelUsageListWithResponse(b.ctx, &adminclient.ChannelUsageListParams{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode(), string(res.Body))
	require.Len(t, res.JSON200.Items, 1)
	it := res.JSON200.Items[0]
	require.Equal(t, ch, it.ChannelId)
	require.EqualValues(t, 2, it.Requests)
	require.EqualValues(t, 2, it.Succeeded)
	require.Positive(t, it.Quota)

	past := time.Now().Add(-48 * time.Hour)
	res, err = b.admin.ChannelUsageListWithResponse(b.ctx, &adminclient.ChannelUsageListParams{Until: &past})
	require.NoError(t, err)
	require.Zero(t, res.JSON200.Items[0].Requests)
	res, err = b.admin.ChannelUsageListWithResponse(b.ctx, &adminclient.ChannelUsageListParams{Since: ptr(time.Now()), Until: &past})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, res.StatusCode())
}
