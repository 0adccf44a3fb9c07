package app

import (
	"context"
	"errors"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	oapimw "github.com/oapi-codegen/echo-middleware"

	"github.com/poolgate/poolgate/internal/auth"
	"github.com/poolgate/poolgate/internal/fault"
	"github.com/poolgate/poolgate/internal/httpx"
)

const principalKey = "principal"

// validator checks requests against a contract (parameters, bodies and security). Security
// schemes are answered by the auth service: the caller is authenticated once per request whatever
// scheme is asked, and the principal is kept on the echo context.
func (a *App) validator(spec *openapi3.T) echo.MiddlewareFunc {
	spec.Servers = nil
	return oapimw.OapiRequestValidatorWithOptions(spec, &oapimw.Options{
		SilenceServersWarning: true,
		Options: openapi3filter.Options{
			MultiError: false,
			AuthenticationFunc: func(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
				c := oapimw.GetEchoContext(ctx)
				if c == nil {
					return errors.New("no echo context")
				}
				if v := c.Get(principalKey); v != nil {
					if err, ok := v.(error); ok {
						return err
					}
					return nil
				}
				p, err := a.Auth.Authenticate(c.Request().Context(), in.RequestValidationInput.Request)
				if err != nil {
					fe, ok := fault.As(err)
					if !ok {
						fe = fault.Wrap(fault.Unavailable, "service temporarily unavailable", err)
					}
					he := &echo.HTTPError{Code: fe.Status(), Message: fe.Message, Internal: fe}
					c.Set(principalKey, error(he))
					return he
				}
				c.Set(principalKey, p)
				return nil
			},
		},
		ErrorHandler: func(_ echo.Context, err *echo.HTTPError) error { return requestProblem(err) },
	})
}

// principal moves the authenticated principal into the request context (after validation, so the
// request's body is the validator's restored one); with admin set it refuses non-administrators.
func principal(admin bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, _ := c.Get(principalKey).(*auth.Principal)
			if p != nil {
				if admin && !p.IsAdmin() {
					return fault.New(fault.Forbidden, httpx.MsgForbidden)
				}
				r := c.Request()
				c.SetRequest(r.WithContext(auth.WithPrincipal(r.Context(), p)))
			}
			r := c.Request()
			c.SetRequest(r.WithContext(httpx.WithEcho(r.Context(), c)))
			return next(c)
		}
	}
}
