package policy

import (
	"slices"
	"strings"
)

// principalSpec is a Principal or NotPrincipal element.
type principalSpec struct {
	// As written: either the string "*" (star) or an object of principal
	// types, in document order.
	star    bool
	entries []principalEntry

	// Compiled.
	anyone    bool     // "*" or {"AWS": "*"}
	accounts  []string // "AWS": account ID or arn:...:iam::ID:root
	arns      []string // "AWS": user, role, assumed-role or federated-user ARNs
	services  []string // "Service", lower case
	providers []string // "Federated"
	canonical []string // "CanonicalUser"
}

type principalEntry struct {
	typ  string // AWS, Service, Federated, CanonicalUser
	vals strList
}

// grant is how directly a resource-based policy's Allow reaches the caller.
// Within one account AWS lets a grant that names the caller's own ARN stand
// on its own, limits a grant to the role behind a session by the session's
// permissions boundary and session policies, and treats a grant to an
// account as a delegation to that account's identity-based policies.
type grant uint8

const (
	grantNone    grant = iota
	grantAccount       // names the caller's account
	grantRole          // names the role (or IAM user) behind a session
	grantDirect        // names the caller itself, or everyone
)

// match returns how the Principal element reaches p (grantNone: not at all).
func (ps *principalSpec) match(p *Principal) grant {
	if ps.anyone {
		return grantDirect
	}
	switch p.Type {
	case TypeService:
		if p.Service != "" && slices.Contains(ps.services, strings.ToLower(p.Service)) {
			return grantDirect
		}
		return grantNone
	case TypeWebIdentity:
		if p.Provider != "" && slices.Contains(ps.providers, p.Provider) {
			return grantDirect
		}
		return grantNone
	case TypeRoot, TypeUser, TypeAssumedRole, TypeFederatedUser:
	default:
		return grantNone
	}
	switch {
	case p.ARN != "" && slices.Contains(ps.arns, p.ARN):
		return grantDirect
	case p.RoleARN != "" && p.Type != TypeRoot && p.Type != TypeUser && slices.Contains(ps.arns, p.RoleARN):
		return grantRole
	case p.Account != "" && slices.Contains(ps.accounts, p.Account):
		return grantAccount
	}
	return grantNone
}

// excludes reports whether a NotPrincipal element leaves p out. AWS checks
// every identity the request carries (the session, the role behind it, the
// account), so p is left out only when each of them is listed: to exempt a
// role session from a Deny with NotPrincipal, the policy must list the
// session ARN, the role ARN and the account.
func (ps *principalSpec) excludes(p *Principal) bool {
	if ps.anyone {
		return true
	}
	switch p.Type {
	case TypeService:
		return p.Service != "" && slices.Contains(ps.services, strings.ToLower(p.Service))
	case TypeWebIdentity:
		return p.Provider != "" && slices.Contains(ps.providers, p.Provider)
	case TypeRoot:
		return p.Account != "" && slices.Contains(ps.accounts, p.Account)
	case TypeUser, TypeAssumedRole, TypeFederatedUser:
		if p.ARN == "" || !slices.Contains(ps.arns, p.ARN) {
			return false
		}
		if p.Type != TypeUser && p.RoleARN != "" && !slices.Contains(ps.arns, p.RoleARN) {
			return false
		}
		return p.Account != "" && slices.Contains(ps.accounts, p.Account)
	}
	return false
}

func (ps *principalSpec) appendJSON(b []byte) []byte {
	if ps.star {
		return appendJSONString(b, "*")
	}
	b = append(b, '{')
	for i, e := range ps.entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, e.typ)
		b = append(b, ':')
		b = e.vals.appendJSON(b)
	}
	return append(b, '}')
}

// principalValue compiles one value of a principal type into ps. It returns
// false for values IAM would reject.
func (ps *principalSpec) add(typ, v string) bool {
	switch typ {
	case "AWS":
		if v == "*" {
			ps.anyone = true
			return true
		}
		if isAccountID(v) {
			ps.accounts = append(ps.accounts, v)
			return true
		}
		acct, kind, ok := parsePrincipalARN(v)
		if !ok {
			return false
		}
		if kind == "root" {
			ps.accounts = append(ps.accounts, acct)
		} else {
			ps.arns = append(ps.arns, v)
		}
		return true
	case "Service":
		if !validServiceName(v) {
			return false
		}
		ps.services = append(ps.services, strings.ToLower(v))
		return true
	case "Federated":
		if v == "" || strings.ContainsAny(v, "*? \t\n") {
			return false
		}
		ps.providers = append(ps.providers, v)
		return true
	case "CanonicalUser":
		// Accepted for compatibility with S3-style policies; Cloister has no
		// canonical users, so these entries never match a caller.
		if v == "" || strings.ContainsAny(v, "*? \t\n") {
			return false
		}
		ps.canonical = append(ps.canonical, v)
		return true
	}
	return false
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parsePrincipalARN accepts the ARNs a policy can name as an "AWS"
// principal: arn:PARTITION:iam::ACCOUNT:root | user/... | role/... and
// arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION |
// federated-user/NAME. Wildcards are not allowed.
func parsePrincipalARN(s string) (account, kind string, ok bool) {
	if strings.ContainsAny(s, "*?") {
		return "", "", false
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !validPartition(parts[1]) || parts[3] != "" || !isAccountID(parts[4]) {
		return "", "", false
	}
	res := parts[5]
	switch parts[2] {
	case "iam":
		switch {
		case res == "root":
			return parts[4], "root", true
		case hasNamedPath(res, "user/"), hasNamedPath(res, "role/"):
			return parts[4], "entity", true
		}
	case "sts":
		if r, ok := strings.CutPrefix(res, "assumed-role/"); ok {
			role, session, ok := strings.Cut(r, "/")
			if ok && role != "" && session != "" && !strings.Contains(session, "/") {
				return parts[4], "session", true
			}
		}
		if name, ok := strings.CutPrefix(res, "federated-user/"); ok && name != "" && !strings.Contains(name, "/") {
			return parts[4], "session", true
		}
	}
	return "", "", false
}

// hasNamedPath reports whether res is prefix followed by an optional path
// and a non-empty name.
func hasNamedPath(res, prefix string) bool {
	rest, ok := strings.CutPrefix(res, prefix)
	return ok && rest != "" && !strings.HasSuffix(rest, "/")
}

func validPartition(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validServiceName accepts DNS-like service principals such as
// "s3.amazonaws.com" or "events.amazonaws.com".
func validServiceName(s string) bool {
	if s == "" || !strings.Contains(s, ".") || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
