package public

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	publicapi "github.com/poolgate/poolgate/gen/api/public"
	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/bus"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/hook"
	"github.com/poolgate/poolgate/internal/store"
)

// Token login answers (seed 000).
const (
	msgTokenInvalid = "token invalid or expired"
	msgPlanExpired  = "your plan has expired"
)

func refused(msg string) publicapi.LoginTokenGet401JSONResponse {
	return publicapi.LoginTokenGet401JSONResponse{Code: -1, Msg: msg}
}

// LoginTokenGet signs a user in from a link: with a login-check hook configured every token
// goes to the hook; otherwise the token is one of the user's API keys or sign-in JWTs, or a
// redemption code (CDK, cdk.go). It sets the session cookie and redirects to /app.
func (h *Handler) LoginTokenGet(ctx context.Context, req publicapi.LoginTokenGetRequestObject) (publicapi.LoginTokenGetResponseObject, error) {
	p := req.Params
	tok := ""
	if p.AccessToken != nil {
		tok = *p.AccessToken
	}
	if tok == "" {
		return refused("access_token is required"), nil
	}
	aff := ""
	if p.Aff != nil {
		aff = *p.Aff
	}
	var uid int64
	d, err := h.Hooks.Login(ctx, tok)
	switch {
	case errors.Is(err, hook.ErrLoginOff):
		pr, err := h.Auth.AuthenticateToken(ctx, tok)
		switch {
		case err == nil:
			uid = pr.UserID
		case fault.Is(err, fault.Forbidden):
			return refused(msgTokenInvalid), nil
		case fault.Is(err, fault.Unauthorized): // not a key or JWT: a redemption code (CDK)?
			if uid, err = h.cdkUser(ctx, tok, aff); err != nil {
				return nil, err
			}
			if uid == 0 {
				return refused(msgTokenInvalid), nil
			}
		default:
			return nil, err
		}
	case err != nil:
		return nil, err
	case !d.OK:
		return refused(d.Msg), nil
	default:
		if uid, err = h.tokenUser(ctx, tok, d.Grant, aff); err != nil {
			return nil, err
		}
	}
	u, err := h.Queries.UserGet(ctx, h.Pool, uid)
	if err != nil {
		return nil, err
	}
	if u.Status != auth.StatusActive {
		return refused("this account is disabled"), nil
	}
	if u.PlanExpiresAt != nil && !u.PlanExpiresAt.After(time.Now()) {
		if to := h.Settings.Get().ExpiredRedirectURL; to != "" {
			return publicapi.LoginTokenGet302JSONResponse{Body: publicapi.TokenLoginResult{Code: -2, Msg: msgPlanExpired},
				Headers: publicapi.LoginTokenGet302ResponseHeaders{Location: &to}}, nil
		}
		return publicapi.LoginTokenGet403JSONResponse{Code: -2, Msg: msgPlanExpired}, nil
	}
	if err := h.preferAccount(ctx, u.ID, p.Account, p.Carid, p.Nickname); err != nil {
		return nil, err
	}
	iss, err := h.Auth.Issue(ctx, u)
	if err != nil {
		return nil, err
	}
	cookie := h.Auth.IssuedCookie(iss, h.SecureCookies)
	loc := "/app"
	for _, a := range []*string{p.Account, p.Carid, p.Nickname} {
		if a != nil && *a != "" {
			loc += "?account=" + url.QueryEscape(*a)
			break
		}
	}
	return publicapi.LoginTokenGet302JSONResponse{Body: publicapi.TokenLoginResult{Code: 0, Msg: "success"},
		Headers: publicapi.LoginTokenGet302ResponseHeaders{Location: &loc, SetCookie: &cookie}}, nil
}

// tokenUser finds or creates the user a hook-approved token signs in, and records the hook's
// grant as the user's tier. Tokens are found by their hash, and kept sealed so the audit and
// notify hooks can be given back the token their login check approved (HOOK_USER_TOKEN=login).
// A user created here is aff's owner's invitee (referrer).
func (h *Handler) tokenUser(ctx context.Context, tok, grant, aff string) (int64, error) {
	sum := sha256.Sum256([]byte(tok))
	hash := sum[:]
	var uid int64
	for attempt := 0; attempt < 2 && uid == 0; attempt++ {
		row, err := h.Queries.TokenLoginGet(ctx, h.Pool, hash)
		if err == nil {
			uid = row.UserID
			_ = h.Queries.TokenLoginTouch(ctx, h.Pool, db.TokenLoginTouchParams{TokenHash: hash, TokenEnc: h.Hooks.SealToken(tok)})
			break
		}
		if !store.IsNotFound(err) {
			return 0, err
		}
		pw := make([]byte, 24)
		_, _ = rand.Read(pw)
		ph, err := h.Auth.HashPassword(hex.EncodeToString(pw)) // unusable: the user signs in by token only
		if err != nil {
			return 0, err
		}
		err = store.WithTx(ctx, h.Pool, func(tx pgx.Tx) error {
			ref, err := h.referrer(ctx, tx, aff)
			if err != nil {
				return err
			}
			u, err := h.Queries.UserCreate(ctx, tx, db.UserCreateParams{Username: "token-" + hex.EncodeToString(hash[:6]),
				PasswordHash: ph, Role: auth.RoleUser, Balance: h.Settings.Get().NewUserBalance, ReferredBy: ref})
			if err != nil {
				return err
			}
			if err := h.Queries.TokenLoginCreate(ctx, tx, db.TokenLoginCreateParams{TokenHash: hash, UserID: u.ID,
				TokenEnc: h.Hooks.SealToken(tok)}); err != nil {
				return err
			}
			uid = u.ID
			return nil
		})
		if store.IsUniqueViolation(err) { // signed in concurrently: read the other sign-in's user
			uid = 0
			continue
		}
		if err != nil {
			return 0, err
		}
	}
	if uid == 0 {
		return 0, fault.New(fault.Conflict, "sign-in raced; try again")
	}
	if grant != "" {
		if err := h.Queries.UserGrantSet(ctx, h.Pool, db.UserGrantSetParams{ID: uid, Tier: grant}); err != nil {
			return 0, err
		}
		h.Bus.Publish(ctx, bus.TopicUser, strconv.FormatInt(uid, 10))
	}
	return uid, nil
}

// preferAccount records the account a user asked for (account, or its aliases carid and
// nickname: an id, name or nickname) as the user's preferred account, which the gateway tries
// first for the user's calls while it is eligible. An unknown account is ignored.
func (h *Handler) preferAccount(ctx context.Context, uid int64, refs ...*string) error {
	ref := ""
	for _, r := range refs {
		if r != nil && *r != "" {
			ref = *r
			break
		}
	}
	if ref == "" {
		return nil
	}
	id, err := h.Queries.AccountFindForPreference(ctx, h.Pool, ref)
	if err != nil {
		if store.IsNotFound(err) {
			return nil
		}
		return err
	}
	if err := h.Queries.UserSetPreferredAccount(ctx, h.Pool, db.UserSetPreferredAccountParams{ID: uid, AccountID: &id}); err != nil {
		return err
	}
	h.Bus.Publish(ctx, bus.TopicUser, strconv.FormatInt(uid, 10))
	return nil
}

// referrer is the owner of the referral code aff (nil: no code, or an unknown one).
func (h *Handler) referrer(ctx context.Context, q db.DBTX, aff string) (*int64, error) {
	if aff == "" {
		return nil, nil
	}
	id, err := h.Queries.UserIDByReferralCode(ctx, q, aff)
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &id, nil
}
