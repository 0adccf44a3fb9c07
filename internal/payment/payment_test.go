package payment

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMoney(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "1": 100, "1.5": 150, "10.05": 1005, "999999999.99": 99999999999, "007.10": 710} {
		got, err := ParseMoney(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", ".5", "1.", "1.234", "-1", "1e3", "1,00", " 1", "1000000000", "0x10", "１"} {
		_, err := ParseMoney(in)
		require.Error(t, err, in)
	}
	require.Equal(t, "10.05", FormatMoney(1005))
	require.Equal(t, "0.07", FormatMoney(7))
}

func TestQuotaAndCommission(t *testing.T) {
	t.Parallel()
	require.Equal(t, int64(5_250_000), QuotaFor(1050, 500_000))
	require.Equal(t, int64(3), QuotaFor(1, 333), "rounded down: 3.33")
	require.Equal(t, int64(1<<63-1), QuotaFor(99999999999, 1<<62), "capped, not overflowed")
	require.Equal(t, int64(525_000), Commission(5_250_000, 100))
	require.Equal(t, int64(0), Commission(9, 100), "0.9 rounds down to 0")
	require.Equal(t, int64(0), Commission(1000, 0))
}

// TestSignatures checks both gateways' signatures against figures computed independently
// (Python's hashlib and hmac).
func TestSignatures(t *testing.T) {
	t.Parallel()
	p := url.Values{"pid": {"1001"}, "out_trade_no": {"PG1"}, "money": {"1.00"}, "name": {"VIP"},
		"trade_status": {"TRADE_SUCCESS"}, "param": {""}, "sign": {"x"}, "sign_type": {"MD5"}}
	require.Equal(t, "bdd8c86b1aa80129ca48218f6f2a2aca", YipaySign(p, "k3y"))
	require.True(t, equalHex("BDD8C86B1AA80129CA48218F6F2A2ACA", YipaySign(p, "k3y")))
	require.Equal(t, "da3e86f580137d7f914c5d389723aa659a408b4a566775961e7b829c43632c0d",
		OpenPaymentSign("sec", []byte(`1765013472.{"a":1}`)))
}
