package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/poolgate/poolgate/clients/go/admin"
	"github.com/poolgate/poolgate/internal/api/wire"
)

func TestGroupsCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ch := b.env.Channel("vip", []string{"gpt-4o-mini"})

	res, err := b.admin.GroupCreateWithResponse(b.ctx, adminclient.GroupCreate{Name: "vip", MultiplierPermille: ptr(1500),
		Description: ptr("priority"), ChannelIds: &[]int64{ch, ch}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode(), string(res.Body))
	g := res.JSON201
	require.Equal(t, "vip", g.Name)
	require.Equal(t, 1500, g.MultiplierPermille)
	require.Equal(t, []int64{ch}, g.ChannelIds)

	def, err := b.admin.GroupCreateWithResponse(b.ctx, adminclient.GroupCreate{Name: "default"})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, def.StatusCode(), string(def.Body))
	require.Equal(t, 1000, def.JSON201.MultiplierPermille)
	require.Empty(t, def.JSON201.ChannelIds)

	dup, err := b.admin.GroupCreateWithResponse(b.ctx, adminclient.GroupCreate{Name: "vip"})
	require.NoError(t, err)
	require.Equal(t, http.StatusConflict, dup.StatusCode(), string(dup.Body))
	unknown, err := b.admin.GroupCreateWithResponse(b.ctx, adminclient.GroupCreate{Name: "x", ChannelIds: &[]int64{ch + 1000}})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, unknown.StatusCode(), string(unknown.Body))

	up, err := b.admin.GroupUpdateWithResponse(b.ctx, g.Id, adminclient.GroupUpdate{MultiplierPermille: ptr(1200)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.StatusCode(), string(up.Body))
	require.Equal(t, 1200, up.JSON200.MultiplierPermille)
	require.Equal(t, []int64{ch}, up.JSON200.ChannelIds, "channels stay when absent")

	// A user joins and leaves a group.
	u := b.env.NewUser("alice", 0)
	uu, err := b.admin.UserUpdateWithResponse(b.ctx, u.ID, adminclient.UserUpdate{GroupId: &g.Id})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, uu.StatusCode(), string(uu.Body))
	require.Equal(t, g.Id, uu.JSON200.GroupId.MustGet())
	bad, err := b.admin.UserUpdateWithResponse(b.ctx, u.ID, adminclient.UserUpdate{GroupId: ptr(int64(999_999))})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, bad.StatusCode(), string(bad.Body))

	list, err := b.admin.GroupListWithResponse(b.ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), string(list.Body))
	require.Len(t, list.JSON200.Items, 2)

	del, err := b.admin.GroupDeleteWithResponse(b.ctx, g.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode(), string(del.Body))
	gone, err := b.admin.GroupDeleteWithResponse(b.ctx, g.Id)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, gone.StatusCode(), string(gone.Body))
	missing, err := b.admin.GroupUpdateWithResponse(b.ctx, g.Id, adminclient.GroupUpdate{Name: ptr("y")})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, missing.StatusCode(), string(missing.Body))

	got, err := b.admin.UserGetWithResponse(b.ctx, u.ID)
	require.NoError(t, err)
	require.Nil(t, wire.Ptr(got.JSON200.GroupId), "deleting a group leaves its users without one")
}
