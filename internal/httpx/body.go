package httpx

import (
	"context"
	"io"
	"net/url"
)

type bodyKey struct{}

// KeepBody stores in ctx how to reread the request's body (http.Request.GetBody, which the
// request validator sets), for Body. Handlers get this function, never the framework's context.
func KeepBody(ctx context.Context, getBody func() (io.ReadCloser, error)) context.Context {
	if getBody == nil {
		return ctx
	}
	return context.WithValue(ctx, bodyKey{}, getBody)
}

// Body rereads the request's body KeepBody kept (nil when none was kept or it cannot be read):
// for handlers that need the exact bytes, such as a signature computed over them.
func Body(ctx context.Context) []byte {
	getBody, _ := ctx.Value(bodyKey{}).(func() (io.ReadCloser, error))
	if getBody == nil {
		return nil
	}
	rc, err := getBody()
	if err != nil {
		return nil
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return nil
	}
	return raw
}

type queryKey struct{}

// KeepQuery stores the request's whole query string in ctx, for Query: the generated request
// objects carry only the parameters a contract declares.
func KeepQuery(ctx context.Context, rawQuery string) context.Context {
	return context.WithValue(ctx, queryKey{}, rawQuery)
}

// Query is every query parameter of the request, as KeepQuery kept it (empty without one; a
// malformed pair is skipped).
func Query(ctx context.Context) url.Values {
	raw, _ := ctx.Value(queryKey{}).(string)
	v, _ := url.ParseQuery(raw)
	if v == nil {
		v = url.Values{}
	}
	return v
}
