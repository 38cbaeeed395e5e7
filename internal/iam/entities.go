package iam

import (
	"strings"
	"time"
)

// Tag is a key-value tag on a user, role, policy or session.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// InlinePolicy is a policy embedded in a user, group or role.
type InlinePolicy struct {
	Name     string `json:"name"`
	Document string `json:"document"`
}

// User is an IAM user.
type User struct {
	Account    string         `json:"account"`
	Name       string         `json:"name"`
	ID         string         `json:"id"`
	Path       string         `json:"path"`
	CreateDate time.Time      `json:"createDate"`
	Tags       []Tag          `json:"tags,omitempty"`
	Boundary   string         `json:"boundary,omitempty"` // managed policy ARN
	Inline     []InlinePolicy `json:"inline,omitempty"`
	Attached   []string       `json:"attached,omitempty"` // managed policy ARNs
	Groups     []string       `json:"groups,omitempty"`   // group IDs
	Keys       []string       `json:"keys,omitempty"`     // access key IDs
}

// ARN is the user's ARN (with its path).
func (u *User) ARN() string { return entityARN(u.Account, "user", u.Path, u.Name) }

// Group is an IAM group.
type Group struct {
	Account    string         `json:"account"`
	Name       string         `json:"name"`
	ID         string         `json:"id"`
	Path       string         `json:"path"`
	CreateDate time.Time      `json:"createDate"`
	Inline     []InlinePolicy `json:"inline,omitempty"`
	Attached   []string       `json:"attached,omitempty"`
}

// ARN is the group's ARN.
func (g *Group) ARN() string { return entityARN(g.Account, "group", g.Path, g.Name) }

// Role is an IAM role.
type Role struct {
	Account            string         `json:"account"`
	Name               string         `json:"name"`
	ID                 string         `json:"id"`
	Path               string         `json:"path"`
	CreateDate         time.Time      `json:"createDate"`
	Trust              string         `json:"trust"` // AssumeRolePolicyDocument
	Description        string         `json:"description,omitempty"`
	MaxSessionDuration int            `json:"maxSessionDuration"` // seconds
	Tags               []Tag          `json:"tags,omitempty"`
	Boundary           string         `json:"boundary,omitempty"`
	Inline             []InlinePolicy `json:"inline,omitempty"`
	Attached           []string       `json:"attached,omitempty"`
	LastUsed           time.Time      `json:"lastUsed,omitzero"`
}

// ARN is the role's ARN.
func (r *Role) ARN() string { return entityARN(r.Account, "role", r.Path, r.Name) }

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	ID         string    `json:"id"` // v1, v2, ...
	Document   string    `json:"document"`
	CreateDate time.Time `json:"createDate"`
}

// ManagedPolicy is a customer managed policy (Account is the owner) or an
// AWS managed policy that Cloister ships (Account "aws").
type ManagedPolicy struct {
	Account        string          `json:"account"`
	Name           string          `json:"name"`
	ID             string          `json:"id"`
	Path           string          `json:"path"`
	Description    string          `json:"description,omitempty"`
	CreateDate     time.Time       `json:"createDate"`
	UpdateDate     time.Time       `json:"updateDate"`
	DefaultVersion string          `json:"defaultVersion"`
	Versions       []PolicyVersion `json:"versions"` // oldest first
	NextVersion    int             `json:"nextVersion"`
	Tags           []Tag           `json:"tags,omitempty"`
}

// ARN is the policy's ARN.
func (p *ManagedPolicy) ARN() string { return entityARN(p.Account, "policy", p.Path, p.Name) }

// AWSManaged reports whether the policy is one of the AWS managed policies.
func (p *ManagedPolicy) AWSManaged() bool { return p.Account == awsAccount }

// Default returns the default version.
func (p *ManagedPolicy) Default() *PolicyVersion { return p.Version(p.DefaultVersion) }

// Version returns the version with this id, or nil.
func (p *ManagedPolicy) Version(id string) *PolicyVersion {
	for i := range p.Versions {
		if p.Versions[i].ID == id {
			return &p.Versions[i]
		}
	}
	return nil
}

// awsAccount is the account part of AWS managed policy ARNs.
const awsAccount = "aws"

func entityARN(account, kind, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":" + kind + path + name
}

// EntityARN returns the ARN of a user, group, role or policy ("user",
// "group", "role", "policy") with path ("" means "/").
func EntityARN(account, kind, path, name string) string { return entityARN(account, kind, path, name) }

// Store keys. Entity names are case-insensitive in IAM: the key holds the
// lower-cased name, escaped to the characters a KV key may hold.
const (
	kindUser   = "user"
	kindGroup  = "group"
	kindRole   = "role"
	kindPolicy = "policy"
	orgPrefix  = "org"
)

func entityKey(account, kind, name string) string {
	return account + "." + kind + "." + escapeName(name)
}

// escapeName maps a name to KV key characters: lower-case letters, digits,
// '-' and '_' stand for themselves; every other byte is "=xx" (hex).
func escapeName(name string) string {
	name = strings.ToLower(name)
	var b strings.Builder
	b.Grow(len(name))
	const hexdig = "0123456789abcdef"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

// splitKey splits an entity key into account and kind.
func splitKey(key string) (account, kind string, ok bool) {
	account, rest, ok := strings.Cut(key, ".")
	if !ok {
		return "", "", false
	}
	kind, _, ok = strings.Cut(rest, ".")
	return account, kind, ok
}

// parseEntityARN splits arn:aws:iam::ACCOUNT:KIND/PATH/NAME.
func parseEntityARN(arn, kind string) (account, path, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return "", "", "", false
	}
	account, rest, ok = strings.Cut(rest, ":")
	if !ok || (account != awsAccount && !isAccountID(account)) {
		return "", "", "", false
	}
	rest, ok = strings.CutPrefix(rest, kind+"/")
	if !ok {
		return "", "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	path, name = "/"+rest[:i+1], rest[i+1:]
	if name == "" {
		return "", "", "", false
	}
	return account, path, name, true
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

func tagMap(tags []Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}
