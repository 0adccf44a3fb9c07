package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// redisURL decides the Redis to use from REDIS_URL and seed 000's REDIS_ENABLE, REDIS_HOST and
// REDIS_PORT ("" for none):
//   - REDIS_ENABLE=false: none, whatever else is set;
//   - REDIS_URL when set;
//   - else redis://REDIS_HOST:REDIS_PORT/0 when REDIS_HOST is set, or when REDIS_ENABLE=true
//     (host 127.0.0.1 then).
func redisURL(str func(string) string, integer func(string, int64, int64) int64, errs *[]error) string {
	enable := strings.ToLower(strings.TrimSpace(str("REDIS_ENABLE")))
	switch enable {
	case "", "true", "1", "yes", "false", "0", "no":
	default:
		*errs = append(*errs, fmt.Errorf("REDIS_ENABLE must be true or false, got %q", enable))
	}
	host := strings.TrimSpace(str("REDIS_HOST"))
	port := integer("REDIS_PORT", 1, 65535)
	switch {
	case enable == "false" || enable == "0" || enable == "no":
		return ""
	case str("REDIS_URL") != "":
		return str("REDIS_URL")
	case host == "" && enable == "":
		return ""
	case host == "":
		host = "127.0.0.1"
	}
	if strings.ContainsAny(host, "/@?#") {
		*errs = append(*errs, fmt.Errorf("REDIS_HOST must be a host name or address, got %q", host))
		return ""
	}
	return "redis://" + net.JoinHostPort(strings.Trim(host, "[]"), strconv.FormatInt(port, 10)) + "/0"
}
