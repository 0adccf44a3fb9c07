package payment

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// errMoney is a malformed amount.
var errMoney = errors.New("an amount is a decimal string with at most two decimals, such as 12.34")

// ParseMoney reads a decimal string of the site's currency ("12", "12.3", "12.34") as cents.
// Floats are never involved.
func ParseMoney(s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 9 || (dot && (frac == "" || len(frac) > 2)) || !digits(whole) || !digits(frac) {
		return 0, errMoney
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, errMoney
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, errMoney
	}
	return w*100 + f, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// FormatMoney writes cents as a decimal string with two decimals ("12.30").
func FormatMoney(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return sign + strconv.FormatInt(cents/100, 10) + "." + strconv.FormatInt(cents/10%10, 10) + strconv.FormatInt(cents%10, 10)
}

// QuotaFor is what cents buy at perUnit quota units per unit of currency, rounded down:
// cents × perUnit / 100, computed without overflow (capped at the largest int64).
func QuotaFor(cents, perUnit int64) int64 {
	return mulDiv(cents, perUnit, 100)
}

// Commission is permille ‰ of quota, rounded down.
func Commission(quota int64, permille int) int64 {
	return mulDiv(quota, int64(permille), 1000)
}

// mulDiv is a × b / d rounded down for non-negative operands, capped at the largest int64.
func mulDiv(a, b, d int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	r := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	r.Quo(r, big.NewInt(d))
	if !r.IsInt64() {
		return 1<<63 - 1
	}
	return r.Int64()
}
