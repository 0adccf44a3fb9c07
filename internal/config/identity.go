package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// loadIdentity reads the identity variables: PUBLIC_URL, TRUSTED_PROXIES, SMTP_URL, SMTP_FROM,
// the default OpenID provider and ADMIN_API_LOGIN_INIT_KEY. PUBLIC_URL defaults to
// http://localhost:{PORT}; it must be an absolute http(s) URL without a path beyond "/".
func (c *Config) loadIdentity(str func(string) string, errs *[]error) {
	c.PublicURL = strings.TrimRight(str("PUBLIC_URL"), "/")
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:" + strconv.Itoa(c.Port)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		*errs = append(*errs, fmt.Errorf("PUBLIC_URL must be an absolute http(s) URL such as https://gate.example.com, got %q", c.PublicURL))
	}
	for item := range strings.SplitSeq(str("TRUSTED_PROXIES"), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			if ip := net.ParseIP(item); ip != nil {
				bits := 8 * len(ip.To16())
				if ip.To4() != nil {
					ip, bits = ip.To4(), 32
				}
				c.TrustedProxies = append(c.TrustedProxies, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
				continue
			}
		}
		_, n, err := net.ParseCIDR(item)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("TRUSTED_PROXIES: %q is not a CIDR or an IP address", item))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	c.SMTPURL, c.SMTPFrom = str("SMTP_URL"), str("SMTP_FROM")
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			*errs = append(*errs, fmt.Errorf("SMTP_URL must be smtp://user:pass@host:port or smtps://..., got %q", redactURL(c.SMTPURL)))
		}
	}
	c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret = strings.TrimRight(str("OIDC_ISSUER"), "/"), str("OIDC_CLIENT_ID"), str("OIDC_CLIENT_SECRET")
	if c.OIDCIssuer != "" {
		if u, err := url.Parse(c.OIDCIssuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			*errs = append(*errs, fmt.Errorf("OIDC_ISSUER must be an absolute http(s) URL, got %q", c.OIDCIssuer))
		}
		if c.OIDCClientID == "" {
			*errs = append(*errs, fmt.Errorf("OIDC_CLIENT_ID is required with OIDC_ISSUER"))
		}
	}
	c.AdminLoginInitKey = str("ADMIN_API_LOGIN_INIT_KEY")
	if c.AdminLoginInitKey != "" && len(c.AdminLoginInitKey) < 8 {
		*errs = append(*errs, fmt.Errorf("ADMIN_API_LOGIN_INIT_KEY must be at least 8 characters"))
	}
}

// markString reports whether a secret string is set, for logging.
func markString(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}
