package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/pricesync"
	"github.com/poolgate/poolgate/internal/store"
)

// ModelSync fetches the selected channels' upstream model lists and applies them in one step.
func (h *Handler) ModelSync(ctx context.Context, req adminapi.ModelSyncRequestObject) (adminapi.ModelSyncResponseObject, error) {
	fetched, err := h.ChannelSync(ctx, adminapi.ChannelSyncRequestObject{Body: &adminapi.ChannelSelection{ChannelIds: req.Body.ChannelIds}})
	if err != nil {
		return nil, err
	}
	items := fetched.(adminapi.ChannelSync200JSONResponse).Items
	ok := []int64{}
	for _, it := range items {
		if it.Ok {
			ok = append(ok, it.ChannelId)
		}
	}
	out := adminapi.ModelSync200JSONResponse{Fetched: items, Applied: []adminapi.ModelSyncApplyItem{}}
	if len(ok) == 0 {
		return out, nil
	}
	applied, err := h.ModelSyncApply(ctx, adminapi.ModelSyncApplyRequestObject{Body: &adminapi.ModelSyncApply{
		ChannelIds: &ok, Remove: req.Body.Remove}})
	if err != nil {
		return nil, err
	}
	out.Applied = applied.(adminapi.ModelSyncApply200JSONResponse).Items
	return out, nil
}

// priceFetchTimeout bounds fetching a price list.
const priceFetchTimeout = 30 * time.Second

// priceChanges reads the price list (fetched from url, or the document a client fetched) and
// compares it with the current prices.
func (h *Handler) priceChanges(ctx context.Context, url *string, doc *adminapi.PriceListDocument, quotaPerUSD *int64) ([]pricesync.Change, int, error) {
	var perUSD int64
	if quotaPerUSD != nil {
		perUSD = *quotaPerUSD
	}
	var body []byte
	switch {
	case (url == nil) == (doc == nil):
		return nil, 0, fault.New(fault.Invalid, "give exactly one of url and list")
	case doc != nil:
		b, err := json.Marshal(*doc)
		if err != nil {
			return nil, 0, fault.Wrap(fault.Invalid, "list: not JSON", err)
		}
		body = b
	default:
		b, err := h.fetchPriceList(ctx, *url)
		if err != nil {
			return nil, 0, err
		}
		body = b
	}
	list, err := pricesync.Parse(body, perUSD)
	if err != nil {
		if errors.Is(err, pricesync.ErrUnusable) {
			return nil, 0, fault.Wrap(fault.Unprocessable, err.Error(), err)
		}
		return nil, 0, err
	}
	models, err := h.Queries.ModelList(ctx, h.Pool)
	if err != nil {
		return nil, 0, err
	}
	current := make(map[string]pricesync.Price, len(models))
	for _, m := range models {
		current[m.Name] = pricesync.Price{Input: m.InputPrice, Output: m.OutputPrice, CachedInput: m.CachedInputPrice}
	}
	chans, err := h.Queries.ChannelList(ctx, h.Pool)
	if err != nil {
		return nil, 0, err
	}
	served := map[string]bool{}
	for _, c := range chans {
		for _, m := range c.Models {
			served[m] = true
		}
	}
	changes, unchanged := pricesync.Diff(list, current, served)
	return changes, unchanged, nil
}

// fetchPriceList fetches a price list from an address the outbound guard allows.
func (h *Handler) fetchPriceList(ctx context.Context, url string) ([]byte, error) {
	if err := h.Guard.Check(ctx, url); err != nil {
		return nil, fault.Wrap(fault.Unprocessable, "price list: the address is not allowed", err)
	}
	fctx, cancel := context.WithTimeout(ctx, priceFetchTimeout)
	defer cancel()
	client := &http.Client{Transport: h.Guard.Transport(), Timeout: priceFetchTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	body, err := pricesync.Fetch(fctx, client, url)
	if err != nil {
		return nil, fault.Wrap(fault.Unprocessable, "price list: could not be fetched", err)
	}
	return body, nil
}

func priceSetOut(p pricesync.Price) adminapi.PriceSet {
	return adminapi.PriceSet{InputPrice: p.Input, OutputPrice: p.Output, CachedInputPrice: wire.Null(p.CachedInput)}
}

// ModelPriceSyncPreview shows which model prices a price list would create or change.
func (h *Handler) ModelPriceSyncPreview(ctx context.Context, req adminapi.ModelPriceSyncPreviewRequestObject) (adminapi.ModelPriceSyncPreviewResponseObject, error) {
	changes, unchanged, err := h.priceChanges(ctx, req.Body.Url, req.Body.List, req.Body.QuotaPerUsd)
	if err != nil {
		return nil, err
	}
	return adminapi.ModelPriceSyncPreview200JSONResponse(pricePreview(changes, unchanged)), nil
}

// ModelPriceSyncPreviewBrowser is ModelPriceSyncPreview for a price list a client fetched.
func (h *Handler) ModelPriceSyncPreviewBrowser(ctx context.Context, req adminapi.ModelPriceSyncPreviewBrowserRequestObject) (adminapi.ModelPriceSyncPreviewBrowserResponseObject, error) {
	changes, unchanged, err := h.priceChanges(ctx, nil, &req.Body.List, req.Body.QuotaPerUsd)
	if err != nil {
		return nil, err
	}
	return adminapi.ModelPriceSyncPreviewBrowser200JSONResponse(pricePreview(changes, unchanged)), nil
}

// pricePreview is the preview's answer: one row per created or changed price.
func pricePreview(changes []pricesync.Change, unchanged int) adminapi.PriceSyncPreview {
	out := adminapi.PriceSyncPreview{Items: make([]adminapi.PriceSyncItem, 0, len(changes)), Unchanged: unchanged}
	for _, c := range changes {
		it := adminapi.PriceSyncItem{Name: c.Name, Action: adminapi.Create, Proposed: priceSetOut(c.Proposed)}
		if c.Current != nil {
			cur := priceSetOut(*c.Current)
			it.Action, it.Current = adminapi.Update, &cur
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// ModelPriceSyncApply writes the prices a price list proposes (only the named models when given).
func (h *Handler) ModelPriceSyncApply(ctx context.Context, req adminapi.ModelPriceSyncApplyRequestObject) (adminapi.ModelPriceSyncApplyResponseObject, error) {
	changes, _, err := h.priceChanges(ctx, req.Body.Url, req.Body.List, req.Body.QuotaPerUsd)
	if err != nil {
		return nil, err
	}
	var only map[string]bool
	if req.Body.Names != nil {
		only = map[string]bool{}
		for _, n := range *req.Body.Names {
			only[n] = true
		}
	}
	out := adminapi.ModelPriceSyncApply200JSONResponse{Items: []adminapi.Model{}}
	err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		for _, c := range changes {
			if only != nil && !only[c.Name] {
				continue
			}
			var m *db.Model
			var err error
			if c.Current == nil {
				m, err = h.Queries.ModelCreate(ctx, tx, db.ModelCreateParams{Name: c.Name, InputPrice: c.Proposed.Input,
					OutputPrice: c.Proposed.Output, CachedInputPrice: c.Proposed.CachedInput})
			} else {
				m, err = h.Queries.ModelUpdateByName(ctx, tx, db.ModelUpdateByNameParams{Name: c.Name, InputPrice: c.Proposed.Input,
					OutputPrice: c.Proposed.Output, CachedInputPrice: c.Proposed.CachedInput})
			}
			if err != nil {
				return store.Translate(err, modelNotFound)
			}
			out.Items = append(out.Items, modelOut(m))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.Bus.Publish(ctx, bus.TopicRoutes, "")
	return out, nil
}
