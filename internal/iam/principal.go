package iam

import (
	"time"

	"github.com/cloister/cloister/internal/policy"
)

// Principal types.
const (
	TypeRoot        = "Root"
	TypeUser        = "User"
	TypeAssumedRole = "AssumedRole"
)

// How temporary credentials were issued (Principal.Session).
const (
	SessionAssumeRole      = "AssumeRole"
	SessionGetSessionToken = "GetSessionToken"
	SessionLambda          = "Lambda"
)

// Principal is an authenticated caller: an account's root user, an IAM
// user, or a role session. Authorization looks up the caller's current
// policies by its IDs; the fields below only identify it.
type Principal struct {
	Account string `json:"account"`
	// ARN is the caller's own ARN: arn:aws:iam::ACCOUNT:root,
	// arn:aws:iam::ACCOUNT:user/PATH/NAME or
	// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
	ARN string `json:"arn"`
	// UserID is aws:userid: the account ID for the root user, the user's
	// unique ID ("AIDA..."), or "ROLEID:SESSION" for a role session.
	UserID string `json:"userId"`
	Type   string `json:"type"` // TypeRoot, TypeUser, TypeAssumedRole
	// Name is the user name, or the role session name.
	Name        string `json:"name,omitempty"`
	AccessKeyID string `json:"-"`

	// Role sessions: the role (with its path), its unique ID and name.
	RoleARN  string `json:"roleArn,omitempty"`
	RoleID   string `json:"roleId,omitempty"`
	RoleName string `json:"roleName,omitempty"`
	// SourceIdentity is the sts:SourceIdentity a session carries.
	SourceIdentity string `json:"sourceIdentity,omitempty"`
	// SessionTags are the session's tags (aws:PrincipalTag/* over the
	// role's own tags); TransitiveTagKeys are those that pass on to
	// chained sessions.
	SessionTags       []Tag    `json:"sessionTags,omitempty"`
	TransitiveTagKeys []string `json:"transitiveTagKeys,omitempty"`
	// Session says how temporary credentials were issued (SessionAssumeRole,
	// SessionGetSessionToken, SessionLambda); "" for long-term keys.
	Session string `json:"session,omitempty"`
	// IssuedAt is aws:TokenIssueTime for temporary credentials.
	IssuedAt time.Time `json:"issuedAt,omitzero"`
	// Expiration is when temporary credentials stop working.
	Expiration time.Time `json:"-"`
}

// Root is the account root principal of account.
func Root(account string) Principal {
	return Principal{Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account, Type: TypeRoot}
}

// Temporary reports whether the principal authenticated with temporary
// (session) credentials.
func (p Principal) Temporary() bool { return p.Session != "" }

// policyPrincipal is the caller as the policy engine sees it.
func (p *Principal) policyPrincipal() policy.Principal {
	pp := policy.Principal{ARN: p.ARN, Account: p.Account, UserID: p.UserID}
	switch p.Type {
	case TypeRoot:
		pp.Type = policy.TypeRoot
	case TypeUser:
		pp.Type = policy.TypeUser
	case TypeAssumedRole:
		pp.Type = policy.TypeAssumedRole
		pp.RoleARN = p.RoleARN
	default:
		pp.Type = policy.PrincipalType("Unknown:" + p.Type) // fails closed in the engine
	}
	return pp
}

// AssumedRoleARN is a role session's ARN (the role's path is not part of
// it).
func AssumedRoleARN(account, roleName, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + session
}
