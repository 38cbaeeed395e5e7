package policy

import (
	"strconv"
	"strings"
	"time"
)

// PrincipalType says what kind of caller made a request.
type PrincipalType string

// The principal types.
const (
	// TypeRoot is an account's root user (arn:aws:iam::ACCOUNT:root).
	TypeRoot PrincipalType = "Root"
	// TypeUser is an IAM user.
	TypeUser PrincipalType = "User"
	// TypeAssumedRole is a role session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION).
	TypeAssumedRole PrincipalType = "AssumedRole"
	// TypeFederatedUser is a federated user session from GetFederationToken
	// (arn:aws:sts::ACCOUNT:federated-user/NAME).
	TypeFederatedUser PrincipalType = "FederatedUser"
	// TypeService is an AWS service acting on its own behalf, such as
	// s3.amazonaws.com invoking a function.
	TypeService PrincipalType = "Service"
	// TypeWebIdentity is a caller authenticated by an external identity
	// provider (OIDC or SAML) asking to assume a role.
	TypeWebIdentity PrincipalType = "WebIdentity"
	// TypeAnonymous is an unauthenticated caller.
	TypeAnonymous PrincipalType = "Anonymous"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	// ARN is the caller's own ARN: arn:aws:iam::123456789012:user/alice,
	// arn:aws:sts::123456789012:assumed-role/r/session,
	// arn:aws:iam::123456789012:root, ... Empty for services, web
	// identities and anonymous callers.
	ARN string
	// Account is the caller's account ID (empty for services, web identities
	// and anonymous callers).
	Account string
	Type    PrincipalType
	// RoleARN is, for an AssumedRole session, the ARN of the role (with its
	// path), which a policy's "AWS": role-ARN principal matches. For a
	// FederatedUser session it is the ARN of the IAM user whose credentials
	// created the session. A resource-based policy that grants to this ARN
	// grants through the underlying identity, so permissions boundaries and
	// session policies still limit it.
	RoleARN string
	// Service is the service principal, e.g. "s3.amazonaws.com", for
	// TypeService.
	Service string
	// Provider is the identity provider for TypeWebIdentity, as a trust
	// policy's "Federated" principal names it: "cognito-identity.amazonaws.com"
	// or an oidc-provider/saml-provider ARN.
	Provider string
	// UserID is the value of aws:userid: the user's unique ID, or
	// "ROLEID:session" for a role session. For the root user it defaults to
	// the account ID.
	UserID string
}

// iamPrincipal reports whether this kind of caller is an IAM identity
// governed by identity-based policies (and so by the permissions boundaries
// and session policies that restrict them).
func (p *Principal) iamPrincipal() bool {
	switch p.Type {
	case TypeUser, TypeAssumedRole, TypeFederatedUser:
		return true
	}
	return false
}

// Request is what a caller asks to do.
type Request struct {
	Principal Principal
	// Action is "service:Operation", e.g. "lambda:InvokeFunction". Action
	// names match case-insensitively.
	Action string
	// Resource is the target's ARN, or "*" for actions that have no
	// resource (such as lambda:ListFunctions).
	Resource string
	// Context holds the request's condition keys.
	Context Context
}

// Context holds a request's condition keys (aws:SourceIp, aws:CurrentTime,
// aws:PrincipalTag/team, lambda:FunctionUrlAuthType, ...). Key names are
// case-insensitive. Each key has one value or several (a multivalued key
// such as aws:TagKeys); a key with no values is absent.
//
// The keys that describe the principal (aws:PrincipalArn,
// aws:PrincipalAccount, aws:PrincipalType, aws:userid, aws:username,
// aws:PrincipalServiceName, aws:PrincipalIsAWSService) are derived from
// Request.Principal during evaluation and cannot be overridden here: they
// come from authentication, not from request data.
//
// The zero Context is empty and ready to use. A Context must not be modified
// while an evaluation that uses it is running.
type Context struct {
	m map[string][]string
}

// Set sets key to values, replacing any previous values. Setting no values
// removes the key.
func (c *Context) Set(key string, values ...string) {
	k := strings.ToLower(key)
	if len(values) == 0 {
		delete(c.m, k)
		return
	}
	if c.m == nil {
		c.m = make(map[string][]string)
	}
	c.m[k] = append([]string(nil), values...)
}

// Get returns the values of key and whether it is present. The slice must
// not be modified.
func (c *Context) Get(key string) ([]string, bool) {
	v, ok := c.m[strings.ToLower(key)]
	return v, ok
}

// SetTime sets aws:CurrentTime (ISO 8601, UTC) and aws:EpochTime (seconds)
// to t. The policy engine reads no clock: callers set the request time.
func (c *Context) SetTime(t time.Time) {
	c.Set("aws:CurrentTime", t.UTC().Format(time.RFC3339))
	c.Set("aws:EpochTime", strconv.FormatInt(t.Unix(), 10))
}

// Len returns the number of keys.
func (c *Context) Len() int { return len(c.m) }

// principalKeys are the condition keys derived from the principal, lower
// case, in the order of evalCtx.derived.
var principalKeys = [...]string{
	"aws:principalarn",
	"aws:principalaccount",
	"aws:principaltype",
	"aws:userid",
	"aws:username",
	"aws:principalservicename",
	"aws:principalisawsservice",
}

// deriveKeys fills out[i] with the value of principalKeys[i] for p ("" when
// the key is absent for this kind of principal).
func deriveKeys(p *Principal, out *[len(principalKeys)]string) {
	switch p.Type {
	case TypeRoot:
		out[0] = p.ARN
		out[1] = p.Account
		out[2] = "Account"
		out[3] = p.UserID
		if out[3] == "" {
			out[3] = p.Account
		}
	case TypeUser:
		out[0] = p.ARN
		out[1] = p.Account
		out[2] = "User"
		out[3] = p.UserID
		if i := strings.LastIndexByte(p.ARN, '/'); i >= 0 {
			out[4] = p.ARN[i+1:]
		}
	case TypeAssumedRole:
		// aws:PrincipalArn of a role session is the role's ARN.
		out[0] = p.RoleARN
		out[1] = p.Account
		out[2] = "AssumedRole"
		out[3] = p.UserID
	case TypeFederatedUser:
		out[0] = p.ARN
		out[1] = p.Account
		out[2] = "FederatedUser"
		out[3] = p.UserID
	case TypeAnonymous:
		out[2] = "Anonymous"
	case TypeService:
		out[5] = p.Service
	}
	if p.Type == TypeService {
		out[6] = "true"
	} else {
		out[6] = "false"
	}
}
