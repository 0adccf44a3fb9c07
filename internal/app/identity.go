package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/mail"
	"github.com/poolgate/poolgate/internal/netguard"
	"github.com/poolgate/poolgate/internal/passkey"
	"github.com/poolgate/poolgate/internal/sso"
)

// identity builds the sign-in services: sessions, attempt limits and single-use values (in
// Redis when configured, so every instance shares them), mail for e-mail codes, cross-site
// request protection for the session cookie, and the first administrator from
// ADMIN_API_LOGIN_INIT_KEY.
func (a *App) identity(ctx context.Context, cfg *config.Config, opt Options, guard *netguard.Guard) error {
	var (
		sessions auth.Sessions  = auth.NewMemorySessions(opt.Now)
		limiter  auth.Limiter   = auth.NewMemoryLimiter()
		eph      auth.Ephemeral = auth.NewMemoryEphemeral(opt.Now)
	)
	if a.Redis != nil {
		sessions = auth.NewRedisSessions(a.Redis, cfg.RedisPrefix)
		limiter = auth.NewRedisLimiter(a.Redis, cfg.RedisPrefix)
		eph = auth.NewRedisEphemeral(a.Redis, cfg.RedisPrefix)
	}
	a.Ephemeral = eph
	var mailer auth.Mailer
	if cfg.SMTPURL != "" {
		m, err := mail.New(cfg.SMTPURL, cfg.SMTPFrom, cfg.PublicURL)
		if err != nil {
			return err
		}
		mailer = m
	}
	csrf := http.NewCrossOriginProtection()
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Host != "" {
		if err := csrf.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return fmt.Errorf("PUBLIC_URL: %w", err)
		}
	}
	a.Auth = &auth.Service{Pool: a.Pool, Queries: a.Queries, Sessions: sessions, Secret: cfg.JWTSecret,
		BcryptCost: opt.BcryptCost, MaxDevices: cfg.SessionMaxDevices, Now: opt.Now, Settings: a.Settings,
		Limiter: limiter, Box: a.Box, Mailer: mailer, CSRF: csrf, Bus: a.Bus, Log: a.Log}
	a.Auth.Subscribe(a.Bus)
	a.SSO = &sso.Service{Pool: a.Pool, Queries: a.Queries, Box: a.Box, Auth: a.Auth, Settings: a.Settings,
		Ephemeral: eph, Guard: guard, PublicURL: cfg.PublicURL, Log: a.Log}
	if cfg.OIDCIssuer != "" {
		if err := a.SSO.UpsertDefault(ctx, cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret); err != nil {
			return err
		}
	}
	pk, err := passkey.New(passkey.Config{PublicURL: cfg.PublicURL, SiteName: a.Settings.Get().SiteName,
		Pool: a.Pool, Queries: a.Queries, Ephemeral: eph, Log: a.Log, Now: opt.Now})
	if err != nil { // an IP address as PUBLIC_URL's host, for instance: everything else still works
		a.Log.Warn("passkeys are off", "error", err)
	}
	a.Passkeys = pk
	if cfg.AdminLoginInitKey != "" {
		_, err := a.Auth.CreateFirstAdmin(ctx, "admin", cfg.AdminLoginInitKey)
		switch {
		case err == nil:
			a.Log.Info("created administrator admin from ADMIN_API_LOGIN_INIT_KEY")
		case errors.Is(err, auth.ErrSetupCompleted):
		default:
			return fmt.Errorf("ADMIN_API_LOGIN_INIT_KEY: create administrator: %w", err)
		}
	}
	return nil
}

// ipExtractor finds the client's address: the connecting address, or with TRUSTED_PROXIES the
// first X-Forwarded-For address not among them.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
