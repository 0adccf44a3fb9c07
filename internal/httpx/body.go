package httpx

import (
	"context"
	"encoding/json"
	"io"
)

// BodyHas reports whether the request's JSON object body has a member named key, even a null
// one: the generated body types decode both an absent member and a null into a nil pointer. It
// rereads the body the request validator kept (http.Request.GetBody); without one it reports
// false, so a null then keeps the stored value rather than resetting it.
func BodyHas(ctx context.Context, key string) bool {
	c := Echo(ctx)
	if c == nil || c.Request().GetBody == nil {
		return false
	}
	rc, err := c.Request().GetBody()
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
