package sso

import (
	"context"
	"log/slog"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/tidwall/gjson"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// identity is who the provider says the user is, read with the provider's claim names.
type identity struct {
	Subject  string
	Username string
	Email    string
	Trust    *int16
}

// identityOf reads the claims (dotted paths reach into objects); a missing subject is the
// provider's failure.
func identityOf(p *db.OIDCProvider, claims []byte) (identity, error) {
	id := identity{Subject: gjson.GetBytes(claims, p.ClaimSubject).String()}
	if id.Subject == "" {
		return id, errFailed
	}
	id.Username = gjson.GetBytes(claims, p.ClaimUsername).String()
	if e := gjson.GetBytes(claims, p.ClaimEmail).String(); strings.Contains(e, "@") && len(e) <= 254 {
		id.Email = strings.ToLower(e)
	}
	if p.ClaimTrustLevel != "" {
		if r := gjson.GetBytes(claims, p.ClaimTrustLevel); r.Exists() {
			lvl := int16(min(max(r.Int(), 0), 4))
			id.Trust = &lvl
		}
	}
	return id, nil
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// signIn finds the identity's user, or registers one when the provider allows it (and the
// identity's trust level is at least registration_min_trust_level). A trust level claim updates
// the user's at every sign-in.
func (s *Service) signIn(ctx context.Context, p *db.OIDCProvider, id identity, aff string) (*db.User, error) {
	for range 2 {
		ident, err := s.Queries.UserIdentityGet(ctx, s.Pool, db.UserIdentityGetParams{ProviderID: p.ID, Subject: id.Subject})
		if err == nil {
			return s.existing(ctx, ident.UserID, id)
		}
		if err = store.Translate(err, ""); !fault.Is(err, fault.NotFound) {
			return nil, err
		}
		if !p.AutoRegister {
			return nil, fault.Code(fault.Forbidden, "sso_registration_closed",
				"this provider does not register new users; ask an administrator, or link it from your account")
		}
		v := s.Settings.Get()
		if lvl := v.RegistrationMinTrustLevel; lvl > 0 && (id.Trust == nil || int(*id.Trust) < lvl) {
			return nil, fault.Code(fault.Forbidden, "trust_level_too_low",
				"registration needs trust level "+strconv.Itoa(lvl)+" at the provider")
		}
		u, err := s.register(ctx, p, id, v.NewUserBalance, aff)
		if store.IsUniqueViolation(err) {
			continue // the same identity signed in concurrently: use its user
		}
		return u, err
	}
	return nil, fault.New(fault.Conflict, "sign-in raced; try again")
}

func (s *Service) existing(ctx context.Context, uid int64, id identity) (*db.User, error) {
	u, err := s.Queries.UserGet(ctx, s.Pool, uid)
	if err != nil {
		return nil, store.Translate(err, "user not found")
	}
	if u.Status == auth.StatusDisabled {
		return nil, fault.New(fault.Forbidden, "this account is disabled")
	}
	if id.Trust != nil && *id.Trust != u.TrustLevel {
		if u, err = s.Queries.UserUpdate(ctx, s.Pool, db.UserUpdateParams{ID: uid, TrustLevel: id.Trust}); err != nil {
			return nil, store.Translate(err, "user not found")
		}
	}
	return u, nil
}

// register creates a user and its identity in one transaction. The username comes from the
// username claim (made valid, and made unique with a suffix); the e-mail address is kept only
// when no other user has it (an address never links accounts by itself).
func (s *Service) register(ctx context.Context, p *db.OIDCProvider, id identity, balance int64, aff string) (*db.User, error) {
	name, err := s.freeUsername(ctx, id.Username)
	if err != nil {
		return nil, err
	}
	var email *string
	if id.Email != "" {
		if _, err := s.Queries.UserGetByEmail(ctx, s.Pool, id.Email); err != nil {
			if err = store.Translate(err, ""); !fault.Is(err, fault.NotFound) {
				return nil, err
			}
			email = &id.Email
		}
	}
	var trust int16
	if id.Trust != nil {
		trust = *id.Trust
	}
	var u *db.User
	err = store.WithTx(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		if u, err = s.Auth.CreateUser(ctx, tx, auth.NewUser{Username: name, Email: email, Balance: balance, TrustLevel: trust, Aff: aff}); err != nil {
			return err
		}
		_, err = s.Queries.UserIdentityCreate(ctx, tx, db.UserIdentityCreateParams{UserID: u.ID, ProviderID: p.ID,
			Subject: id.Subject, Email: id.Email})
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// freeUsername makes a valid username (3–32 of letters, digits, `_`, `.`, `-`) from a claim
// and, when it is taken, adds a random suffix.
func (s *Service) freeUsername(ctx context.Context, claim string) (string, error) {
	var b strings.Builder
	for _, r := range claim {
		if r < 128 && (r == '_' || r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		}
	}
	base := b.String()
	if len(base) > 27 {
		base = base[:27]
	}
	if len(base) < 3 {
		base = "user"
	}
	name := base
	for range 8 {
		_, err := s.Queries.UserGetByUsername(ctx, s.Pool, name)
		if err != nil {
			if err = store.Translate(err, ""); fault.Is(err, fault.NotFound) {
				return name, nil
			}
			return "", err
		}
		name = base + "-" + strings.ToLower(auth.RandomToken(4))
	}
	return "", fault.New(fault.Conflict, "no free username; try again")
}

// link ties the identity to the binding user; an identity linked to another user is refused.
func (s *Service) link(ctx context.Context, p *db.OIDCProvider, id identity, uid int64) (*db.User, error) {
	ident, err := s.Queries.UserIdentityGet(ctx, s.Pool, db.UserIdentityGetParams{ProviderID: p.ID, Subject: id.Subject})
	switch {
	case err == nil && ident.UserID != uid:
		return nil, errIdentityUsed
	case err == nil:
	default:
		if err = store.Translate(err, ""); !fault.Is(err, fault.NotFound) {
			return nil, err
		}
		_, err = s.Queries.UserIdentityCreate(ctx, s.Pool, db.UserIdentityCreateParams{UserID: uid, ProviderID: p.ID,
			Subject: id.Subject, Email: id.Email})
		if store.IsUniqueViolation(err) {
			return nil, errIdentityUsed
		}
		if err != nil {
			return nil, store.Translate(err, "user not found")
		}
	}
	u, err := s.Queries.UserGet(ctx, s.Pool, uid)
	if err != nil {
		return nil, store.Translate(err, "user not found")
	}
	return u, nil
}
