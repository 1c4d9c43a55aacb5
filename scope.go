package jwesession

import (
	"net/http"
	"strconv"
	"strings"
)

// A cookie's scope is where the browser sends it: Domain and Path, and
// SameSite and Partitioned (CHIPS) for cross-site requests. Every cookie of
// a manager (the session token and its chunks, the companion, the
// tombstone, the flash) has the manager's scope, and so does every
// deletion, which a browser applies only to the cookie of the same name,
// domain, path and partition.
//
// The cookie's prefix follows from the scope: "__Host-" (host-only, Path
// "/", Secure: no sibling subdomain can plant or shadow the cookie) unless
// Domain is set or Path is not "/", which that prefix forbids; then
// "__Secure-" (Secure only); none with DevelopmentCookies.

// Limits on the scope's values (each attribute value a browser keeps is
// at most 1024 bytes; a DNS name at most 253).
const (
	maxDomainLen = 253
	maxPathLen   = 255
)

// checkScope checks and fills in the scope fields of cfg. hostPrefix
// reports whether CookieName was given with the "__Host-" prefix.
func (cfg *Config) checkScope(hostPrefix bool) error {
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if !validPath(cfg.Path) {
		return errf(ErrInvalidConfig, "Path must start with / and hold at most %d printable ASCII characters other than ;", maxPathLen)
	}
	if strings.HasPrefix(cfg.Domain, ".") {
		return errf(ErrInvalidConfig, "Domain %q: write it without the leading dot (a Domain cookie is sent to every subdomain anyway)", cfg.Domain)
	}
	if cfg.Domain != "" && !validDomain(cfg.Domain) {
		return errf(ErrInvalidConfig, "Domain must be a host name such as example.com (letters, digits, hyphens, dots; at most %d characters)", maxDomainLen)
	}
	if hostPrefix && !cfg.hostOnly() {
		return errf(ErrInvalidConfig, "CookieName asks for the __Host- prefix, which Domain or a Path other than / rule out: name the cookie without the prefix (the library writes __Secure- then), or drop Domain and Path")
	}
	switch cfg.SameSite {
	case 0:
		cfg.SameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if cfg.DevelopmentCookies {
			return errf(ErrInvalidConfig, "SameSite=None needs Secure, which DevelopmentCookies drops (browsers refuse the cookie): use SameSiteLaxMode in development")
		}
	default:
		return errf(ErrInvalidConfig, "SameSite must be http.SameSiteLaxMode (the default), http.SameSiteStrictMode or http.SameSiteNoneMode")
	}
	if cfg.Partitioned && cfg.DevelopmentCookies {
		return errf(ErrInvalidConfig, "Partitioned needs Secure, which DevelopmentCookies drops (browsers refuse the cookie): leave Partitioned off in development")
	}
	return nil
}

// hostOnly reports whether the scope allows the __Host- prefix: no
// Domain, Path "/".
func (cfg *Config) hostOnly() bool { return cfg.Domain == "" && cfg.Path == "/" }

// prefix returns the prefix of every cookie name for the scope.
func (cfg *Config) prefix() string {
	switch {
	case cfg.DevelopmentCookies:
		return ""
	case cfg.hostOnly():
		return "__Host-"
	}
	return "__Secure-"
}

// scopeAttrs returns the attributes of every cookie of the scope, as
// appendAttrs writes them around Max-Age: "; Path=P[; Domain=D]" and
// "; HttpOnly[; Secure]; SameSite=X[; Partitioned]".
func (cfg *Config) scopeAttrs() (head, tail string) {
	head = "; Path=" + cfg.Path
	if cfg.Domain != "" {
		head += "; Domain=" + cfg.Domain
	}
	tail = "; HttpOnly"
	if !cfg.DevelopmentCookies {
		tail += "; Secure"
	}
	switch cfg.SameSite {
	case http.SameSiteStrictMode:
		tail += "; SameSite=Strict"
	case http.SameSiteNoneMode:
		tail += "; SameSite=None"
	default:
		tail += "; SameSite=Lax"
	}
	if cfg.Partitioned {
		tail += "; Partitioned"
	}
	return head, tail
}

// appendAttrs appends the attributes every cookie of the manager carries;
// a negative maxAge (noMaxAge) writes no Max-Age: a browser-session
// cookie, which the browser drops when it closes.
func (n *cookieNames) appendAttrs(dst []byte, maxAge int) []byte {
	dst = append(dst, n.attrHead...)
	if maxAge >= 0 {
		dst = append(dst, "; Max-Age="...)
		dst = strconv.AppendInt(dst, int64(maxAge), 10)
	}
	return append(dst, n.attrTail...)
}

// maxAttrsLen bounds what appendAttrs appends (Max-Age has at most 20
// digits).
const maxAttrsLen = len("; Path=; Domain=; Max-Age=; HttpOnly; Secure; SameSite=Strict; Partitioned") + maxPathLen + maxDomainLen + 20

// validPath reports whether p is a cookie path the library writes: "/"
// and then printable ASCII other than ";".
func validPath(p string) bool {
	if len(p) == 0 || len(p) > maxPathLen || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x21 || c > 0x7e || c == ';' {
			return false
		}
	}
	return true
}

// validDomain reports whether d is a host name: dot-separated labels of
// letters, digits and inner hyphens.
func validDomain(d string) bool {
	if len(d) > maxDomainLen {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
