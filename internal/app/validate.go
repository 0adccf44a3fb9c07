package app

import (
	"context"
	"errors"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	oapimw "github.com/oapi-codegen/echo-middleware"

	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/config"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
)

const principalKey = "principal"

// validator checks requests against a contract (parameters, bodies and security). Security
// schemes are answered by the auth service: the caller is authenticated once per request whatever
// scheme is asked, and the principal is kept on the echo context.
func (a *App) validator(spec *openapi3.T) echo.MiddlewareFunc {
	spec.Servers = nil
	opts := openapi3filter.Options{
		MultiError: false,
		AuthenticationFunc: func(ctx context.Context, _ *openapi3filter.AuthenticationInput) error {
			c := oapimw.GetEchoContext(ctx)
			if c == nil {
				return errors.New("no echo context")
			}
			_, err := a.authenticate(c)
			return err
		},
	}
	// A schema error's own message prints the schema and the whole offending value, indented
	// (the validator middleware builds it for every refusal): for a 1 MiB array of small objects
	// that cost about 130 MiB per request, and a burst of them passed 1 GiB. The answer is made
	// from the error's reason and path only (requestProblem), so the message stays short.
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		if err.Reason == "" {
			return "does not match the expected format"
		}
		return err.Reason
	})
	return oapimw.OapiRequestValidatorWithOptions(spec, &oapimw.Options{
		SilenceServersWarning: true,
		Options:               opts,
		ErrorHandler:          func(_ echo.Context, err *echo.HTTPError) error { return requestProblem(err) },
	})
}

// authenticate recognises the caller once per request and keeps the outcome on the echo
// context: the principal, or the error (an *echo.HTTPError the validator passes on).
func (a *App) authenticate(c echo.Context) (*auth.Principal, error) {
	switch v := c.Get(principalKey).(type) {
	case *auth.Principal:
		return v, nil
	case error:
		return nil, v
	}
	p, err := a.Auth.Authenticate(c.Request().Context(), c.Request())
	if err != nil {
		fe, ok := fault.As(err)
		if !ok {
			fe = fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
		}
		he := &echo.HTTPError{Code: fe.Status(), Message: fe.Message, Internal: fe}
		c.Set(principalKey, error(he))
		return nil, he
	}
	c.Set(principalKey, p)
	return p, nil
}

// adminFirst authenticates an administrator before the request is validated, so a caller who
// is not one learns nothing of an admin route's parameters or body schema: 401 or 403 whatever
// they send.
func (a *App) adminFirst(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := a.authenticate(c)
		if err != nil {
			return err
		}
		if !p.IsAdmin() {
			return fault.New(fault.Forbidden, httpx.MsgForbidden)
		}
		return next(c)
	}
}

// principal moves the authenticated principal into the request context (after validation, so the
// request's body is the validator's restored one); with admin set it refuses non-administrators.
// A cookie caller whose session's end was pushed back gets the cookie again with the new
// lifetime (sliding expiry).
func (a *App) principal(admin bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, _ := c.Get(principalKey).(*auth.Principal)
			if p != nil {
				if admin && !p.IsAdmin() {
					return fault.New(fault.Forbidden, httpx.MsgForbidden)
				}
				if p.Refreshed && p.Via == auth.ViaSession {
					c.Response().Header().Add("Set-Cookie", a.Auth.RefreshCookie(p, a.Cfg.AppEnv == config.EnvProduction))
				}
				r := c.Request()
				c.SetRequest(r.WithContext(auth.WithPrincipal(r.Context(), p)))
			}
			r := c.Request() // the validator has set GetBody: handlers may reread the exact body (httpx.Body)
			c.SetRequest(r.WithContext(httpx.KeepQuery(httpx.KeepBody(r.Context(), r.GetBody), r.URL.RawQuery)))
			return next(c)
		}
	}
}

// clientInfo adds the caller's address (by the IP extractor: X-Forwarded-For only from
// TRUSTED_PROXIES) and user agent to the request context, for sessions and per-address limits.
func clientInfo(ctx context.Context, c echo.Context) context.Context {
	return auth.WithClient(ctx, auth.Client{IP: c.RealIP(), UserAgent: c.Request().UserAgent()})
}
