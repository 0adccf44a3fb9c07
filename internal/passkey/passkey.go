// Package passkey registers passkeys (WebAuthn discoverable credentials) and signs users in
// with them. A ceremony's state is kept by its challenge in a shared single-use store, so the
// finish call needs no cookie and may reach another instance; a challenge works once and
// expires; a sign counter that does not move forward marks a cloned authenticator and is
// refused.
package passkey

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/poolgate/poolgate/gen/db"
	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/store"
)

// ceremonyTTL bounds a ceremony from its options to its finish.
const ceremonyTTL = 5 * time.Minute

// Service runs the WebAuthn ceremonies. A nil *Service answers every call with ErrOff.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
	eph  auth.Ephemeral
	web  *webauthn.WebAuthn
	log  *slog.Logger
	now  func() time.Time
}

// Config configures the relying party: its ID is the host of PublicURL and its origin
// PublicURL's origin.
type Config struct {
	PublicURL string
	SiteName  string
	Pool      *pgxpool.Pool
	Queries   *db.Queries
	Ephemeral auth.Ephemeral
	Log       *slog.Logger
	Now       func() time.Time
}

// ErrOff answers passkey calls when passkeys are not configured (PUBLIC_URL's host must be a
// domain name, such as localhost, not an IP address).
var ErrOff = fault.Code(fault.Unavailable, "passkeys_unavailable", "passkeys are not available on this server")

var (
	errInvalid  = fault.Code(fault.Invalid, "passkey_invalid", "the passkey could not be verified")
	errRefused  = fault.Code(fault.Unauthorized, "passkey_invalid", "the passkey could not be verified")
	errNotFound = fault.New(fault.NotFound, "passkey not found")
)

// New makes the service.
func New(c Config) (*Service, error) {
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("passkeys: PUBLIC_URL %q has no host", c.PublicURL)
	}
	timeout := webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL}
	web, err := webauthn.New(&webauthn.Config{
		RPID: u.Hostname(), RPDisplayName: c.SiteName, RPOrigins: []string{u.Scheme + "://" + u.Host},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(), UserVerification: protocol.VerificationPreferred},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{pool: c.Pool, q: c.Queries, eph: c.Ephemeral, web: web, log: c.Log, now: c.Now}, nil
}

// user is a Poolgate user as WebAuthn sees it: the user handle is the user id (8 bytes, big
// endian), never a name or address.
type user struct {
	id    int64
	name  string
	creds []webauthn.Credential
}

func handle(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) } //nolint:gosec // ids are positive

func (u *user) WebAuthnID() []byte                         { return handle(u.id) }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// load reads a user and their passkeys.
func (s *Service) load(ctx context.Context, uid int64) (*user, []*db.Passkey, error) {
	u, err := s.q.UserGet(ctx, s.pool, uid)
	if err != nil {
		return nil, nil, store.Translate(err, "user not found")
	}
	rows, err := s.q.PasskeyListByUser(ctx, s.pool, uid)
	if err != nil {
		return nil, nil, store.Translate(err, "")
	}
	wu := &user{id: u.ID, name: u.Username}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal(r.Credential, &c); err == nil {
			wu.creds = append(wu.creds, c)
		}
	}
	return wu, rows, nil
}

// ceremony is a begun ceremony, kept by its challenge.
type ceremony struct {
	User    int64                 `json:"user,omitempty"`
	Session *webauthn.SessionData `json:"session"`
}

func (s *Service) keep(ctx context.Context, kind string, c ceremony) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := s.eph.Put(ctx, kind+c.Session.Challenge, b, ceremonyTTL); err != nil {
		return fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	return nil
}

// take finds a ceremony by its challenge, once.
func (s *Service) take(ctx context.Context, kind, challenge string) (*ceremony, error) {
	if challenge == "" {
		return nil, nil
	}
	b, ok, err := s.eph.Take(ctx, kind+challenge)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
	}
	var c ceremony
	if !ok || json.Unmarshal(b, &c) != nil || c.Session == nil {
		return nil, nil
	}
	return &c, nil
}

// RegisterOptions begins registering a passkey for the user: the standard creation options,
// their existing passkeys excluded.
func (s *Service) RegisterOptions(ctx context.Context, uid int64) (map[string]any, error) {
	if s == nil {
		return nil, ErrOff
	}
	u, _, err := s.load(ctx, uid)
	if err != nil {
		return nil, err
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(u.creds))
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	opts, sess, err := s.web.BeginRegistration(u, webauthn.WithExclusions(exclude),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		return nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	if err := s.keep(ctx, "pkreg:", ceremony{User: uid, Session: sess}); err != nil {
		return nil, err
	}
	return asMap(opts)
}

// RegisterFinish verifies a new credential (as PublicKeyCredential.toJSON() gives it) against
// the user's ceremony and stores it under name.
func (s *Service) RegisterFinish(ctx context.Context, uid int64, name string, body []byte) (*db.Passkey, error) {
	if s == nil {
		return nil, ErrOff
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, errInvalid
	}
	c, err := s.take(ctx, "pkreg:", parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		return nil, err
	}
	if c == nil || c.User != uid {
		return nil, errInvalid
	}
	u, _, err := s.load(ctx, uid)
	if err != nil {
		return nil, err
	}
	cred, err := s.web.CreateCredential(u, *c.Session, parsed)
	if err != nil {
		s.log.Warn("passkey registration refused", "user_id", uid, "error", err)
		return nil, errInvalid
	}
	b, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = "passkey"
	}
	row, err := s.q.PasskeyCreate(ctx, s.pool, db.PasskeyCreateParams{UserID: uid, CredentialID: cred.ID, Name: name,
		Credential: b, SignCount: int64(cred.Authenticator.SignCount)})
	if store.IsUniqueViolation(err) {
		return nil, fault.New(fault.Conflict, "this passkey is registered already")
	}
	if err != nil {
		return nil, store.Translate(err, "")
	}
	return row, nil
}

// LoginOptions begins a sign-in with any passkey of this site (no user named).
func (s *Service) LoginOptions(ctx context.Context) (map[string]any, error) {
	if s == nil {
		return nil, ErrOff
	}
	opts, sess, err := s.web.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	if err := s.keep(ctx, "pklogin:", ceremony{Session: sess}); err != nil {
		return nil, err
	}
	return asMap(opts)
}

// Login verifies an assertion (as PublicKeyCredential.toJSON() gives it) and returns its user.
// An unknown challenge or passkey, a bad signature, or a counter that did not move forward
// (a cloned authenticator) is refused.
func (s *Service) Login(ctx context.Context, body []byte) (*db.User, error) {
	if s == nil {
		return nil, ErrOff
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, errRefused
	}
	c, err := s.take(ctx, "pklogin:", parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errRefused
	}
	var row *db.Passkey
	found := func(rawID, userHandle []byte) (webauthn.User, error) {
		r, err := s.q.PasskeyGetByCredential(ctx, s.pool, rawID)
		if err != nil {
			return nil, fmt.Errorf("unknown passkey: %w", err)
		}
		if !bytes.Equal(userHandle, handle(r.UserID)) {
			return nil, fmt.Errorf("user handle of another user")
		}
		var cred webauthn.Credential
		if err := json.Unmarshal(r.Credential, &cred); err != nil {
			return nil, err
		}
		row = r
		return &user{id: r.UserID, creds: []webauthn.Credential{cred}}, nil
	}
	cred, err := s.web.ValidateDiscoverableLogin(found, *c.Session, parsed)
	if err != nil {
		s.log.Warn("passkey sign-in refused", "error", err)
		return nil, errRefused
	}
	if cred.Authenticator.CloneWarning {
		s.log.Warn("passkey sign-in refused: the sign counter did not move forward (cloned authenticator?)",
			"user_id", row.UserID, "passkey_id", row.ID)
		return nil, errRefused
	}
	b, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	n, err := s.q.PasskeyUse(ctx, s.pool, db.PasskeyUseParams{ID: row.ID, Credential: b, SignCount: int64(cred.Authenticator.SignCount),
		Now: s.now(), OldSignCount: row.SignCount})
	if err != nil {
		return nil, store.Translate(err, "")
	}
	if n == 0 { // another sign-in moved the counter meanwhile
		return nil, errRefused
	}
	u, err := s.q.UserGet(ctx, s.pool, row.UserID)
	if err != nil {
		return nil, store.Translate(err, "user not found")
	}
	if u.Status == auth.StatusDisabled {
		return nil, fault.New(fault.Forbidden, "this account is disabled")
	}
	return u, nil
}

// List returns the user's passkeys.
func (s *Service) List(ctx context.Context, uid int64) ([]*db.Passkey, error) {
	if s == nil {
		return nil, ErrOff
	}
	rows, err := s.q.PasskeyListByUser(ctx, s.pool, uid)
	if err != nil {
		return nil, store.Translate(err, "")
	}
	return rows, nil
}

// Delete removes one of the user's passkeys.
func (s *Service) Delete(ctx context.Context, uid, id int64) error {
	if s == nil {
		return ErrOff
	}
	n, err := s.q.PasskeyDelete(ctx, s.pool, db.PasskeyDeleteParams{ID: id, UserID: uid})
	if err != nil {
		return store.Translate(err, "")
	}
	if n == 0 {
		return errNotFound
	}
	return nil
}

// asMap is options as a JSON object (the `{"publicKey": {...}}` a browser takes).
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
