package admin

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	adminapi "github.com/poolgate/poolgate/gen/api/admin"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/api/wire"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
	"github.com/poolgate/poolgate/internal/wallet"
)

const codeNotFound = "redemption code not found"

// RedemptionCodeList lists codes, masked, newest first.
func (h *Handler) RedemptionCodeList(ctx context.Context, req adminapi.RedemptionCodeListRequestObject) (adminapi.RedemptionCodeListResponseObject, error) {
	q := req.Params
	pg, ps, off, lim := page(q.Page, q.PageSize)
	var status *string
	if q.Status != nil {
		s := string(*q.Status)
		status = &s
	}
	rows, err := h.Queries.RedemptionCodeList(ctx, h.Pool, db.RedemptionCodeListParams{Name: q.Name, Status: status, Off: off, Lim: lim})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	total, err := h.Queries.RedemptionCodeCount(ctx, h.Pool, db.RedemptionCodeCountParams{Name: q.Name, Status: status})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	out := adminapi.RedemptionCodeList200JSONResponse{Items: make([]adminapi.RedemptionCode, 0, len(rows)),
		Total: total, Page: pg, PageSize: ps}
	now := time.Now()
	for _, c := range rows {
		out.Items = append(out.Items, codeOut(c, now))
	}
	return out, nil
}

// RedemptionCodeCreate makes a batch of codes in one transaction and returns them in full.
func (h *Handler) RedemptionCodeCreate(ctx context.Context, req adminapi.RedemptionCodeCreateRequestObject) (adminapi.RedemptionCodeCreateResponseObject, error) {
	b := req.Body
	maxUses := int32(1)
	if b.MaxUses != nil {
		maxUses = int32(*b.MaxUses) //nolint:gosec // the contract bounds it to 1e6
	}
	if (b.Quota == nil) == (b.PlanId == nil) {
		return nil, fault.New(fault.Invalid, "give exactly one of quota and plan_id")
	}
	out := adminapi.RedemptionCodeCreate201JSONResponse{Name: b.Name, Codes: make([]string, 0, b.Count)}
	err := store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
		if b.PlanId != nil {
			if _, err := h.Queries.PlanGet(ctx, tx, *b.PlanId); err != nil {
				return store.Translate(err, planNotFound)
			}
		}
		for range b.Count {
			c, err := h.Queries.RedemptionCodeCreate(ctx, tx, db.RedemptionCodeCreateParams{Name: b.Name,
				Code: wallet.NewCode(), Quota: deref(b.Quota), PlanID: b.PlanId, MaxUses: maxUses, ExpiresAt: wire.Ptr(b.ExpiresAt)})
			if err != nil {
				return store.Translate(err, "")
			}
			out.Codes = append(out.Codes, c.Code)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RedemptionCodeExport answers a batch's codes in full as CSV.
func (h *Handler) RedemptionCodeExport(ctx context.Context, req adminapi.RedemptionCodeExportRequestObject) (adminapi.RedemptionCodeExportResponseObject, error) {
	rows, err := h.Queries.RedemptionCodeExport(ctx, h.Pool, req.Params.Name)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"id", "name", "code", "quota", "max_uses", "used_count", "status", "expires_at", "created_at"})
	now := time.Now()
	for _, c := range rows {
		exp := ""
		if c.ExpiresAt != nil {
			exp = c.ExpiresAt.UTC().Format(time.RFC3339)
		}
		_ = w.Write([]string{strconv.FormatInt(c.ID, 10), c.Name, c.Code, strconv.FormatInt(c.Quota, 10),
			strconv.Itoa(int(c.MaxUses)), strconv.Itoa(int(c.UsedCount)), wallet.Status(c, now), exp,
			c.CreatedAt.UTC().Format(time.RFC3339)})
	}
	w.Flush()
	disposition := `attachment; filename="redemption-codes.csv"`
	return adminapi.RedemptionCodeExport200TextcsvResponse{Body: &buf, ContentLength: int64(buf.Len()),
		Headers: adminapi.RedemptionCodeExport200ResponseHeaders{
			ContentDisposition: &disposition}}, nil
}

// RedemptionCodeUpdate disables, re-enables, resizes or re-dates a code.
func (h *Handler) RedemptionCodeUpdate(ctx context.Context, req adminapi.RedemptionCodeUpdateRequestObject) (adminapi.RedemptionCodeUpdateResponseObject, error) {
	b := req.Body
	var maxUses *int32
	if b.MaxUses != nil {
		v := int32(*b.MaxUses) //nolint:gosec // the contract bounds it to 1e6
		maxUses = &v
	}
	p := db.RedemptionCodeUpdateParams{ID: req.Id, Disabled: b.Disabled, MaxUses: maxUses}
	p.ExpiresAt, p.SetExpiresAt = wire.Change(b.ExpiresAt)
	c, err := h.Queries.RedemptionCodeUpdate(ctx, h.Pool, p)
	if fault.Is(store.Translate(err, ""), fault.Invalid) {
		return nil, fault.New(fault.Invalid, "max_uses: cannot be below the uses so far")
	}
	if err != nil {
		return nil, store.Translate(err, codeNotFound)
	}
	return adminapi.RedemptionCodeUpdate200JSONResponse(codeOut(c, time.Now())), nil
}

// RedemptionCodeDelete removes a code; what it credited stays.
func (h *Handler) RedemptionCodeDelete(ctx context.Context, req adminapi.RedemptionCodeDeleteRequestObject) (adminapi.RedemptionCodeDeleteResponseObject, error) {
	n, err := h.Queries.RedemptionCodeDelete(ctx, h.Pool, req.Id)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	if n == 0 {
		return nil, fault.New(fault.NotFound, codeNotFound)
	}
	return adminapi.RedemptionCodeDelete204Response{}, nil
}

func codeOut(c *db.RedemptionCode, now time.Time) adminapi.RedemptionCode {
	return adminapi.RedemptionCode{Id: c.ID, Name: c.Name, CodeHint: wallet.Hint(c.Code), Quota: c.Quota, PlanId: wire.Null(c.PlanID),
		MaxUses: int(c.MaxUses), UsedCount: int(c.UsedCount), Status: adminapi.RedemptionCodeStatus(wallet.Status(c, now)),
		ExpiresAt: wire.Null(c.ExpiresAt), CreatedAt: c.CreatedAt}
}
