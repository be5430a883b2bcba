package throttlepolicy

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Matches tells whether every condition of the group holds for the call.
func (g *Group) Matches(c *Call) bool {
	for i := range g.conds {
		if !g.conds[i].matches(c) {
			return false
		}
	}
	return true
}

// matches evaluates one condition. Regular expressions are searched (unanchored, as WSO2's
// regex:find): use ^...$ to match a whole value. An absent header, parameter or claim does
// not match (and so matches an inverted condition).
func (cc *compiledCond) matches(c *Call) bool {
	var ok bool
	switch cc.typ {
	case condIP:
		ok = c.ClientIP.IsValid() && c.ClientIP.Unmap() == cc.ip
	case condIPRange:
		ok = c.ClientIP.IsValid() && cc.prefix.Contains(c.ClientIP.Unmap())
	case condHeader:
		if c.Request != nil {
			for _, v := range c.Request.Header[cc.name] {
				if cc.re.MatchString(v) {
					ok = true
					break
				}
			}
		}
	case condQuery:
		if c.Request != nil && c.Request.URL != nil {
			ok = queryMatches(c.Request.URL.RawQuery, cc.name, cc.re)
		}
	case condClaim:
		if v, found := claimValue(c.Claims, cc.name); found {
			ok = cc.re.MatchString(v)
		}
	}
	return ok != cc.invert
}

// queryMatches scans a raw query for name=value pairs matching re, without building a map.
func queryMatches(raw, name string, re *regexp.Regexp) bool {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(k, "%+") {
			if uk, err := url.QueryUnescape(k); err == nil {
				k = uk
			}
		}
		if k != name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			if uv, err := url.QueryUnescape(v); err == nil {
				v = uv
			}
		}
		if re.MatchString(v) {
			return true
		}
	}
	return false
}

// claimValue returns a claim of the access token by its JWT name. Lists (aud, roles) are
// joined with spaces, as scope is.
func claimValue(cl *contract.AccessTokenClaims, name string) (string, bool) {
	if cl == nil {
		return "", false
	}
	str := func(s string) (string, bool) { return s, s != "" }
	switch name {
	case "iss":
		return str(cl.Issuer)
	case "sub":
		return str(cl.Subject)
	case "aud":
		return str(strings.Join(cl.Audience, " "))
	case "exp":
		return strconv.FormatInt(cl.ExpiresAt, 10), cl.ExpiresAt != 0
	case "iat":
		return strconv.FormatInt(cl.IssuedAt, 10), cl.IssuedAt != 0
	case "jti":
		return str(cl.JTI)
	case "client_id", "azp":
		return str(cl.ClientID)
	case "scope":
		return str(cl.Scope)
	case "username", "preferred_username":
		return str(cl.Username)
	case "roles":
		return str(strings.Join(cl.Roles, " "))
	case "key_type", "keytype":
		return str(cl.KeyType)
	}
	if cl.Application == nil {
		return "", false
	}
	switch name {
	case "application.id", "application_id":
		return str(cl.Application.ID)
	case "application.name", "application_name":
		return str(cl.Application.Name)
	case "application.owner":
		return str(cl.Application.Owner)
	case "application.tier", "application_tier":
		return str(cl.Application.Tier)
	}
	return "", false
}
