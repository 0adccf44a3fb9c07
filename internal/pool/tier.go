package pool

// Tier is what a user may ride and what an account is: an ultra user rides ultra, pro and free
// accounts; a pro user pro and free; a free user only free (seed 000's grant levels).
type Tier uint8

// Tiers, ordered: a user of tier t may use accounts of any tier <= t.
const (
	TierFree  Tier = 1
	TierPro   Tier = 2
	TierUltra Tier = 3
)

// ParseTier reads a tier name; unknown names are free.
func ParseTier(s string) Tier {
	switch s {
	case "ultra":
		return TierUltra
	case "pro":
		return TierPro
	default:
		return TierFree
	}
}

// String is the tier's name.
func (t Tier) String() string {
	switch t {
	case TierUltra:
		return "ultra"
	case TierPro:
		return "pro"
	default:
		return "free"
	}
}
