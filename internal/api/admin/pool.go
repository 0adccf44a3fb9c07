package admin

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/pool"
	"github.com/poolgate/poolgate/internal/secretbox"
	"github.com/poolgate/poolgate/internal/store"
)

const (
	monitorNotFound     = "status monitor not found"
	monitorConflict     = "a status monitor with this name already exists"
	userChannelNotFound = "user channel not found"
)

// accountStatus is the status shown for an account: an active one cooling down shows cooling.
func accountStatus(a *db.Account) adminapi.AccountStatus {
	if a.Status == pool.StatusActive && a.CoolingUntil != nil && a.CoolingUntil.After(time.Now()) {
		return adminapi.AccountStatusCooling
	}
	return adminapi.AccountStatus(a.Status)
}

// limitsOut converts the limits column (a JSON object of strings) to the wire map.
func limitsOut(raw []byte) adminapi.AccountLimits {
	out := adminapi.AccountLimits{}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out) // the column only ever holds what limitsIn wrote
	}
	return out
}

// limitsIn validates wire limits and encodes them for the limits column (nil when absent).
func limitsIn(l *adminapi.AccountLimits) ([]byte, error) {
	if l == nil {
		return nil, nil
	}
	for model, v := range *l {
		if _, err := pool.ParseLimit(v); err != nil {
			return nil, fault.New(fault.Invalid, "limits."+model+": "+err.Error())
		}
	}
	return json.Marshal(*l)
}

// accountCreateParams turns one create body into query parameters.
func (h *Handler) accountCreateParams(channel int64, b *adminapi.AccountCreate) (db.AccountCreateParams, error) {
	p := db.AccountCreateParams{ChannelID: channel, CredentialEnc: h.Box.Seal(b.Credential),
		CredentialTail: secretbox.Tail(b.Credential), Weight: defaultWeight, Status: string(adminapi.ActiveStatusActive),
		Nickname: b.Nickname, OwnerUserID: b.OwnerUserId}
	if b.Name != nil {
		p.Name = *b.Name
	}
	if b.Weight != nil {
		w, err := int32Of("weight", *b.Weight)
		if err != nil {
			return p, err
		}
		p.Weight = w
	}
	if b.Status != nil {
		p.Status = string(*b.Status)
	}
	if b.Tier != nil {
		t := string(*b.Tier)
		p.Tier = &t
	}
	var err error
	if p.MaxConcurrency, err = int32Ptr("max_concurrency", b.MaxConcurrency); err != nil {
		return p, err
	}
	if p.Limits, err = limitsIn(b.Limits); err != nil {
		return p, err
	}
	return p, nil
}

// translateAccountWrite reports a missing owner or channel (foreign key) as not found.
func translateAccountWrite(err error) error {
	if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
		return fault.New(fault.NotFound, "the channel or the owner user does not exist")
	}
	return err
}

// AccountImport adds many accounts to a channel in one transaction.
func (h *Handler) AccountImport(ctx context.Context, req adminapi.AccountImportRequestObject) (adminapi.AccountImportResponseObject, error) {
	params := make([]db.AccountCreateParams, 0, len(req.Body.Accounts))
	for i := range req.Body.Accounts {
		p, err := h.accountCreateParams(req.Id, &req.Body.Accounts[i])
		if err != nil {
			return nil, err
		}
		params = append(params, p)
	}
	out := adminapi.AccountImport201JSONResponse{Items: make([]adminapi.Account, 0, len(params))}
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if err := h.channelExists(ctx, tx, req.Id); err != nil {
			return err
		}
		for _, p := range params {
			a, err := h.Queries.AccountCreate(ctx, tx, p)
			if err != nil {
				return translateAccountWrite(err)
			}
			out.Items = append(out.Items, accountOut(a))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Created = len(out.Items)
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return out, nil
}

// AccountReset puts an account back in rotation: active, no cooldown anywhere, no failures.
func (h *Handler) AccountReset(ctx context.Context, req adminapi.AccountResetRequestObject) (adminapi.AccountResetResponseObject, error) {
	a, err := h.Queries.AccountReset(ctx, h.Pool, db.AccountResetParams{ID: req.AccountId, ChannelID: req.Id})
	if err != nil {
		if err := h.channelExists(ctx, h.Pool, req.Id); err != nil {
			return nil, err
		}
		return nil, store.Translate(err, accountNotFound)
	}
	if err := h.Accounts.Reset(ctx, a.ID); err != nil {
		return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.AccountReset200JSONResponse(accountOut(a)), nil
}

func userChannelOut(u *db.UserChannel) adminapi.UserChannel {
	return adminapi.UserChannel{Id: u.ID, UserId: u.UserID, ChannelId: u.ChannelID, Priority: int(u.Priority), CreatedAt: u.CreatedAt}
}

// UserChannelList lists the bindings of users to dedicated channels.
func (h *Handler) UserChannelList(ctx context.Context, req adminapi.UserChannelListRequestObject) (adminapi.UserChannelListResponseObject, error) {
	rows, err := h.Queries.UserChannelList(ctx, h.Pool, db.UserChannelListParams{UserID: req.Params.UserId, ChannelID: req.Params.ChannelId})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.UserChannelList200JSONResponse{Items: make([]adminapi.UserChannel, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, userChannelOut(r))
	}
	return out, nil
}

// UserChannelCreate dedicates a channel to a user and reroutes.
func (h *Handler) UserChannelCreate(ctx context.Context, req adminapi.UserChannelCreateRequestObject) (adminapi.UserChannelCreateResponseObject, error) {
	b := req.Body
	p := db.UserChannelCreateParams{UserID: b.UserId, ChannelID: b.ChannelId}
	if b.Priority != nil {
		v, err := int32Of("priority", *b.Priority)
		if err != nil {
			return nil, err
		}
		p.Priority = v
	}
	u, err := h.Queries.UserChannelCreate(ctx, h.Pool, p)
	if store.IsUniqueViolation(err) {
		return nil, fault.New(fault.Conflict, "the user is already bound to this channel")
	}
	if err != nil {
		if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
			return nil, fault.New(fault.NotFound, "the user or the channel does not exist")
		}
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.UserChannelCreate201JSONResponse(userChannelOut(u)), nil
}

// UserChannelDelete removes a binding and reroutes.
func (h *Handler) UserChannelDelete(ctx context.Context, req adminapi.UserChannelDeleteRequestObject) (adminapi.UserChannelDeleteResponseObject, error) {
	n, err := h.Queries.UserChannelDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, userChannelNotFound)
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return adminapi.UserChannelDelete204Response{}, nil
}

func monitorOut(m *db.StatusMonitor) adminapi.StatusMonitor {
	out := adminapi.StatusMonitor{Id: m.ID, Name: m.Name, ChannelId: m.ChannelID, Model: m.Model,
		IntervalSeconds: int(m.IntervalSeconds), Public: m.Public, Enabled: m.Enabled,
		LastStatus: adminapi.StatusMonitorLastStatus(m.LastStatus), LastMessage: m.LastMessage,
		LastCheckedAt: m.LastCheckedAt, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if m.LastLatencyMs != nil {
		v := int(*m.LastLatencyMs)
		out.LastLatencyMs = &v
	}
	return out
}

// monitorWriteErr translates a monitor write: a duplicate name, or a missing channel.
func monitorWriteErr(err error) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fault.New(fault.NotFound, monitorNotFound)
	case store.IsUniqueViolation(err):
		return fault.New(fault.Conflict, monitorConflict)
	}
	if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
		return fault.New(fault.NotFound, channelNotFound) // the channel was deleted meanwhile
	}
	return err
}

// StatusMonitorList lists the status monitors.
func (h *Handler) StatusMonitorList(ctx context.Context, _ adminapi.StatusMonitorListRequestObject) (adminapi.StatusMonitorListResponseObject, error) {
	rows, err := h.Queries.StatusMonitorList(ctx, h.Pool)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.StatusMonitorList200JSONResponse{Items: make([]adminapi.StatusMonitor, 0, len(rows))}
	for _, m := range rows {
		out.Items = append(out.Items, monitorOut(m))
	}
	return out, nil
}

// StatusMonitorCreate adds a monitor (every 300 s, public and enabled unless given).
func (h *Handler) StatusMonitorCreate(ctx context.Context, req adminapi.StatusMonitorCreateRequestObject) (adminapi.StatusMonitorCreateResponseObject, error) {
	b := req.Body
	p := db.StatusMonitorCreateParams{Name: b.Name, ChannelID: b.ChannelId, IntervalSeconds: 300, Public: true, Enabled: true}
	if b.Model != nil {
		p.Model = *b.Model
	}
	if b.IntervalSeconds != nil {
		v, err := int32Of("interval_seconds", *b.IntervalSeconds)
		if err != nil {
			return nil, err
		}
		p.IntervalSeconds = v
	}
	if b.Public != nil {
		p.Public = *b.Public
	}
	if b.Enabled != nil {
		p.Enabled = *b.Enabled
	}
	if err := h.channelExists(ctx, h.Pool, b.ChannelId); err != nil {
		return nil, err
	}
	m, err := h.Queries.StatusMonitorCreate(ctx, h.Pool, p)
	if err != nil {
		return nil, monitorWriteErr(err)
	}
	return adminapi.StatusMonitorCreate201JSONResponse(monitorOut(m)), nil
}

// StatusMonitorGet reads a monitor.
func (h *Handler) StatusMonitorGet(ctx context.Context, req adminapi.StatusMonitorGetRequestObject) (adminapi.StatusMonitorGetResponseObject, error) {
	m, err := h.Queries.StatusMonitorGet(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, monitorNotFound)
	}
	return adminapi.StatusMonitorGet200JSONResponse(monitorOut(m)), nil
}

// StatusMonitorUpdate changes the fields present.
func (h *Handler) StatusMonitorUpdate(ctx context.Context, req adminapi.StatusMonitorUpdateRequestObject) (adminapi.StatusMonitorUpdateResponseObject, error) {
	b := req.Body
	p := db.StatusMonitorUpdateParams{ID: req.Id, Name: b.Name, ChannelID: b.ChannelId, Model: b.Model,
		Public: b.Public, Enabled: b.Enabled}
	var err error
	if p.IntervalSeconds, err = int32Ptr("interval_seconds", b.IntervalSeconds); err != nil {
		return nil, err
	}
	if b.ChannelId != nil {
		if err := h.channelExists(ctx, h.Pool, *b.ChannelId); err != nil {
			return nil, err
		}
	}
	m, err := h.Queries.StatusMonitorUpdate(ctx, h.Pool, p)
	if err != nil {
		return nil, monitorWriteErr(err)
	}
	return adminapi.StatusMonitorUpdate200JSONResponse(monitorOut(m)), nil
}

// StatusMonitorDelete removes a monitor and its history.
func (h *Handler) StatusMonitorDelete(ctx context.Context, req adminapi.StatusMonitorDeleteRequestObject) (adminapi.StatusMonitorDeleteResponseObject, error) {
	n, err := h.Queries.StatusMonitorDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, monitorNotFound)
	}
	return adminapi.StatusMonitorDelete204Response{}, nil
}

// StatusMonitorCheck checks a monitor now and records the result.
func (h *Handler) StatusMonitorCheck(ctx context.Context, req adminapi.StatusMonitorCheckRequestObject) (adminapi.StatusMonitorCheckResponseObject, error) {
	m, err := h.Queries.StatusMonitorGet(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, monitorNotFound)
	}
	if m, err = h.Accounts.CheckMonitor(ctx, m); err != nil {
		return nil, err
	}
	return adminapi.StatusMonitorCheck200JSONResponse(monitorOut(m)), nil
}

// selected filters channels by an optional id list.
func selected(ids *[]int64, id int64) bool { return ids == nil || slices.Contains(*ids, id) }

// ChannelSync fetches each selected channel's upstream model list and stores it.
func (h *Handler) ChannelSync(ctx context.Context, req adminapi.ChannelSyncRequestObject) (adminapi.ChannelSyncResponseObject, error) {
	chans, err := h.Queries.ChannelList(ctx, h.Pool)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.ChannelSync200JSONResponse{Items: []adminapi.ChannelSyncItem{}}
	for _, c := range chans {
		if !selected(req.Body.ChannelIds, c.ID) {
			continue
		}
		item := adminapi.ChannelSyncItem{ChannelId: c.ID}
		models, ferr := h.fetchChannelModels(ctx, c.ID)
		if ferr != nil {
			item.Error = ferr.Error()
		} else {
			item.Ok, item.Models = true, len(models)
		}
		if models == nil {
			models = []string{}
		}
		if err := h.Queries.ChannelSetSynced(ctx, h.Pool, db.ChannelSetSyncedParams{ID: c.ID, Ok: item.Ok,
			UpstreamModels: models, At: h.Accounts.Now(), SyncError: item.Error}); err != nil {
			return nil, store.Translate(err, "")
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

func (h *Handler) fetchChannelModels(ctx context.Context, channel int64) ([]string, error) {
	t, err := h.Queries.ChannelProbeTarget(ctx, h.Pool, channel)
	if err != nil {
		if fault.Is(store.Translate(err, ""), fault.NotFound) {
			return nil, pool.ErrNoAccount
		}
		return nil, store.Translate(err, "")
	}
	cred, err := h.Box.Open(t.CredentialEnc)
	if err != nil {
		return nil, errors.New("the account's credential cannot be decrypted")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return h.Accounts.FetchModels(ctx, t.Type, t.BaseURL, cred)
}

// modelDiff is what the upstream lists that the channel does not serve, and the reverse.
func modelDiff(served, upstream []string) (add, remove []string) {
	add, remove = []string{}, []string{}
	for _, m := range upstream {
		if !slices.Contains(served, m) {
			add = append(add, m)
		}
	}
	for _, m := range served {
		if !slices.Contains(upstream, m) {
			remove = append(remove, m)
		}
	}
	return add, remove
}

// ModelSyncPreview shows, per synced channel, what applying its upstream list would change.
func (h *Handler) ModelSyncPreview(ctx context.Context, req adminapi.ModelSyncPreviewRequestObject) (adminapi.ModelSyncPreviewResponseObject, error) {
	chans, err := h.Queries.ChannelList(ctx, h.Pool)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.ModelSyncPreview200JSONResponse{Items: []adminapi.ModelSyncPreviewItem{}}
	for _, c := range chans {
		if c.ModelsSyncedAt == nil || !selected(req.Body.ChannelIds, c.ID) {
			continue
		}
		add, remove := modelDiff(c.Models, c.UpstreamModels)
		out.Items = append(out.Items, adminapi.ModelSyncPreviewItem{ChannelId: c.ID, ChannelName: c.Name,
			SyncedAt: *c.ModelsSyncedAt, Add: add, Remove: remove})
	}
	return out, nil
}

// ModelSyncApply adds the upstream's models to the selected synced channels (and with remove,
// drops the ones it no longer lists), then reroutes.
func (h *Handler) ModelSyncApply(ctx context.Context, req adminapi.ModelSyncApplyRequestObject) (adminapi.ModelSyncApplyResponseObject, error) {
	chans, err := h.Queries.ChannelList(ctx, h.Pool)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	remove := req.Body.Remove != nil && *req.Body.Remove
	out := adminapi.ModelSyncApply200JSONResponse{Items: []adminapi.ModelSyncApplyItem{}}
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		for _, c := range chans {
			if c.ModelsSyncedAt == nil || !selected(req.Body.ChannelIds, c.ID) {
				continue
			}
			models := slices.Clone(c.UpstreamModels)
			if !remove {
				for _, m := range c.Models {
					if !slices.Contains(models, m) {
						models = append(models, m)
					}
				}
			}
			slices.Sort(models)
			if models == nil {
				models = []string{}
			}
			if err := h.Queries.ChannelSetModels(ctx, tx, db.ChannelSetModelsParams{ID: c.ID, Models: models}); err != nil {
				return store.Translate(err, "")
			}
			out.Items = append(out.Items, adminapi.ModelSyncApplyItem{ChannelId: c.ID, Models: models})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return out, nil
}

// ChannelUsageList aggregates the usage logs per channel over a period (default the last day).
func (h *Handler) ChannelUsageList(ctx context.Context, req adminapi.ChannelUsageListRequestObject) (adminapi.ChannelUsageListResponseObject, error) {
	until := h.Accounts.Now()
	if req.Params.Until != nil {
		until = *req.Params.Until
	}
	since := until.Add(-24 * time.Hour)
	if req.Params.Since != nil {
		since = *req.Params.Since
	}
	if !since.Before(until) {
		return nil, fault.New(fault.Invalid, "since must be before until")
	}
	rows, err := h.Queries.ChannelUsage(ctx, h.Pool, db.ChannelUsageParams{Since: since, Until: until})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.ChannelUsageList200JSONResponse{Since: since, Until: until, Items: make([]adminapi.ChannelUsage, 0, len(rows))}
	for _, r := range rows {
		out.Items = append(out.Items, adminapi.ChannelUsage{ChannelId: r.ChannelID, Name: r.Name, Requests: r.Requests,
			Succeeded: r.Succeeded, Failed: r.Failed, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
			Quota: r.Quota})
	}
	return out, nil
}

// tierPtr converts an optional wire tier to its column value.
func tierPtr(t *adminapi.Tier) *string {
	if t == nil {
		return nil
	}
	s := string(*t)
	return &s
}
