package wire

import "github.com/oapi-codegen/nullable"

// Null is p as a nullable wire member: its value, or an explicit null when p is nil. A required
// nullable member must be set this way: left unset it would be written as its zero value.
func Null[T any](p *T) nullable.Nullable[T] {
	if p == nil {
		return nullable.NewNullNullable[T]()
	}
	return nullable.NewNullableWithValue(*p)
}

// NullMap is like Null with the value converted by f.
func NullMap[T, U any](p *T, f func(T) U) nullable.Nullable[U] {
	if p == nil {
		return nullable.NewNullNullable[U]()
	}
	return nullable.NewNullableWithValue(f(*p))
}

// Ptr is n's value, or nil when n is null or absent.
func Ptr[T any](n nullable.Nullable[T]) *T {
	v, err := n.Get()
	if err != nil {
		return nil
	}
	return &v
}

// Change reads a member of a PATCH-like body: set tells whether it was sent at all (a value or
// null), and v is its value (nil for null or absent).
func Change[T any](n nullable.Nullable[T]) (v *T, set bool) {
	return Ptr(n), n.IsSpecified()
}

// Opt is p as an optional nullable wire member: its value, or absent (left out of the JSON)
// when p is nil.
func Opt[T any](p *T) nullable.Nullable[T] {
	if p == nil {
		return nil
	}
	return nullable.NewNullableWithValue(*p)
}
