package httpx

import (
	"context"
	"encoding/json"
	"io"
)

type bodyKey struct{}

// KeepBody stores in ctx how to reread the request's body (http.Request.GetBody, which the
// request validator sets), for BodyHas. Handlers get this function, never the framework's context.
func KeepBody(ctx context.Context, getBody func() (io.ReadCloser, error)) context.Context {
	if getBody == nil {
		return ctx
	}
	return context.WithValue(ctx, bodyKey{}, getBody)
}

// BodyHas reports whether the request's JSON object body has a member named key, even a null
// one: the generated body types decode both an absent member and a null into a nil pointer. It
// rereads the body KeepBody kept; without one it reports false, so a null then keeps the stored
// value rather than resetting it.
func BodyHas(ctx context.Context, key string) bool {
	getBody, _ := ctx.Value(bodyKey{}).(func() (io.ReadCloser, error))
	if getBody == nil {
		return false
	}
	rc, err := getBody()
	if err != nil {
		return false
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return false
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		return false
	}
	_, ok := members[key]
	return ok
}
