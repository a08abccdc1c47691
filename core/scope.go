package core

import "strings"

// Scopes live in one of two claims, as issuers mint them: scope, a string of space-separated
// values (RFC 8693 §4.2, RFC 9068 §2.2.3), and scp, a string of the same form or an array of
// strings, one scope per element (Okta, Microsoft Entra ID). A token may carry both; its scopes are
// then the values of both. Values compare exactly and case-sensitively (RFC 6749 §3.3): "Admin"
// is not "admin" and "admin" is not "admin:read".
//
// The types are checked when the token is verified - a scope that is not a string, or an scp that
// is neither a string nor an array of strings, makes the token invalid (401 "invalid scope
// claim") - so a check on a route never meets a value it cannot read.

var (
	errScopeClaim    = claimTypeError("invalid scope claim")
	errAuthTimeClaim = claimTypeError("invalid auth_time claim")
	errACRClaim      = claimTypeError("invalid acr claim")
)

// skipScopes validates and skips a scope value at s.i: a string, or with array also an array of
// strings.
func skipScopes(s *scanner, array bool) bool {
	if s.i < len(s.b) && s.b[s.i] == '"' {
		_, _, _, ok := s.str()
		return ok
	}
	if !array || s.i >= len(s.b) || s.b[s.i] != '[' {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		s.ws()
		if _, _, _, ok := s.str(); !ok {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ']':
			s.i++
			return true
		case ',':
			s.i++
		default:
			return false
		}
	}
}

// badCustomType reports whether a custom claim Issue was given would make every token it is in
// invalid: scope, scp and acr of a JSON type verification refuses.
func badCustomType(name string, value []byte) bool {
	switch name {
	case "scope", "scp", "acr":
		s := scanner{b: value}
		if name == "acr" {
			_, _, _, ok := s.str()
			return !ok
		}
		return !skipScopes(&s, name == "scp")
	}
	return false
}

// eachScope calls f with every scope of the token, in order, until f returns false; it reports
// whether f always returned true. It allocates nothing unless a value holds JSON escapes.
func (c *Claims) eachScope(f func(string) bool) bool {
	if c == nil {
		return true
	}
	for _, raw := range [2]string{c.raw(c.scope), c.raw(c.scp)} {
		if raw == "" {
			continue
		}
		s := scanner{b: unsafeBytes(raw)}
		if raw[0] == '"' {
			st, en, esc, _ := s.str()
			if !splitScopes(stringAt(s.b, st, en, esc), f) {
				return false
			}
			continue
		}
		s.i++ // [
		for {
			s.ws()
			st, en, esc, ok := s.str()
			if !ok {
				break
			}
			if v := stringAt(s.b, st, en, esc); v != "" && !f(v) {
				return false
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ',' {
				break
			}
			s.i++
		}
	}
	return true
}

// splitScopes calls f with each space-separated value of v (RFC 6749 §3.3), skipping empty ones.
func splitScopes(v string, f func(string) bool) bool {
	for v != "" {
		var tok string
		if i := strings.IndexByte(v, ' '); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			tok, v = v, ""
		}
		if tok != "" && !f(tok) {
			return false
		}
	}
	return true
}

// HasScope reports whether the token grants scope, read from its scope and scp claims (see
// Scopes). It allocates nothing for values without JSON escapes.
func (c *Claims) HasScope(scope string) bool {
	return !c.eachScope(func(s string) bool { return s != scope })
}

// Scopes returns the token's scopes: the space-separated values of its scope claim (RFC 8693
// §4.2, RFC 9068 §2.2.3), then those of its scp claim (a string of the same form, or an array with
// one scope per element). nil when the token carries neither.
func (c *Claims) Scopes() []string {
	var out []string
	c.eachScope(func(s string) bool {
		out = append(out, s)
		return true
	})
	return out
}

// validScope reports whether s is a scope-token of RFC 6749 §3.3: one or more of %x21 / %x23-5B /
// %x5D-7E (printable ASCII without space, '"' and '\'), so that it can be quoted in a challenge
// as it is.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
