package iam

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
)

// Request is one authorization question: may Caller perform Action on
// Resource, which belongs to ResourceAccount?
type Request struct {
	Caller          Principal
	Action          string // "lambda:CreateFunction"
	Resource        string // an ARN, or "*"
	ResourceAccount string // "" means the caller's own account
	SourceIP        string
	SecureTransport bool
	// Context holds condition keys the route knows about the request:
	// lambda:FunctionArn, iam:PassedToService, aws:RequestTag/KEY,
	// aws:TagKeys, aws:ResourceTag/KEY, aws:RequestedRegion, ... Keys that
	// describe the caller or the connection (aws:SourceIp, aws:CurrentTime,
	// aws:SecureTransport, aws:PrincipalTag/*, aws:PrincipalArn, aws:userid,
	// aws:MultiFactorAuthPresent, ...) come from authentication and are
	// ignored here.
	Context map[string][]string
	// ResourcePolicy returns the target's resource-based policy, nil when
	// it has none (a Lambda function's policy; a role's trust policy for
	// sts:AssumeRole). It may be nil itself.
	ResourcePolicy func(ctx context.Context) (*policy.Policy, error)
}

// Denied is AWS's AccessDenied for req with the given reason ("because no
// identity-based policy allows the ACTION action", ...).
func Denied(req Request, reason string) error {
	res := req.Resource
	if res == "" {
		res = "*"
	}
	return awserr.New(awserr.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s %s", req.Caller.ARN, req.Action, res, reason)
}

// Authorize decides a request the way AWS does (see policy.Evaluate):
// explicit denies win; the guardrails of the caller's account must allow;
// then the resource-based policy, the caller's identity-based policies
// (a user's own and its groups', or a session's role's), its permissions
// boundary and its session policies decide, same-account or
// cross-account. The root user of an account may do everything in it,
// within the guardrails. A role's trust policy must itself allow every
// sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity request.
//
// It returns nil to allow, or an AccessDenied error with AWS's message.
func (s *Service) Authorize(ctx context.Context, req Request) error {
	r, in, err := s.evaluate(ctx, &req, s.now())
	if err != nil {
		return err
	}
	if r.Allowed() {
		return nil
	}
	return awserr.New(awserr.AccessDenied, "%s", r.Message(in.Request))
}

// isTrustAction reports whether an action is decided by a role's trust
// policy, which must then allow it.
func isTrustAction(action string) bool {
	a := strings.ToLower(action)
	return strings.HasPrefix(a, "sts:assumerole") || a == "sts:tagsession" || a == "sts:setsourceidentity" || a == "sts:setcontext"
}

// evaluate gathers everything that decides req and evaluates it.
func (s *Service) evaluate(ctx context.Context, req *Request, now time.Time) (policy.Result, policy.Input, error) {
	c := &req.Caller
	in := policy.Input{ResourceAccount: req.ResourceAccount}
	in.Request = policy.Request{Principal: c.policyPrincipal(), Action: req.Action, Resource: req.Resource}
	if in.Request.Resource == "" {
		in.Request.Resource = "*"
	}
	if c.Temporary() && !c.Expiration.IsZero() && !now.Before(c.Expiration) {
		return policy.Result{}, in, awserr.New(awserr.ExpiredToken, "The security token included in the request is expired")
	}
	if c.Session == SessionGetSessionToken && !getSessionTokenAllowed(req.Action) {
		// Without MFA, GetSessionToken credentials cannot call IAM or STS
		// (other than AssumeRole and GetCallerIdentity), as in AWS.
		return policy.Result{}, in, awserr.New(awserr.UnrecognizedClient, "The security token included in the request is invalid")
	}
	invalid := func(why string) (policy.Result, policy.Input, error) {
		return policy.Result{Decision: policy.ImplicitDeny, Reason: why}, in, nil
	}

	set, err := s.principalSet(ctx, c)
	if err != nil {
		return policy.Result{}, in, err
	}
	if set.broken {
		return invalid("because the caller's policies could not be read")
	}
	if c.Type != TypeRoot && !set.found {
		return invalid("because no identity-based policy allows the " + req.Action + " action")
	}
	in.Identity, in.Boundary = set.identity, set.boundary
	tags := set.tags
	if c.Type == TypeAssumedRole {
		if c.AccessKeyID != "" {
			se := s.session(ctx, c.AccessKeyID)
			if se == nil || se.broken {
				return invalid("because no session policy allows the " + req.Action + " action")
			}
			in.Session = se.policies
		}
		if len(c.SessionTags) > 0 {
			merged := make(map[string]string, len(tags)+len(c.SessionTags))
			for k, v := range tags {
				merged[k] = v
			}
			for _, t := range c.SessionTags {
				for k := range merged {
					if strings.EqualFold(k, t.Key) {
						delete(merged, k)
					}
				}
				merged[t.Key] = t.Value
			}
			tags = merged
		}
	}
	g, err := s.guardrails(ctx, c.Account)
	if err != nil {
		return policy.Result{}, in, err
	}
	if g.broken {
		return invalid("because the account's service control policies could not be read")
	}
	in.Guardrails = g.policies
	if req.ResourcePolicy != nil {
		rp, err := req.ResourcePolicy(ctx)
		if err != nil {
			return policy.Result{}, in, err
		}
		in.Resource = rp
	}
	s.fillContext(ctx, &in.Request.Context, req, tags, now)

	r := policy.Evaluate(in)
	if r.Allowed() && isTrustAction(req.Action) {
		if in.Resource == nil || in.Resource.Kind() != policy.Trust || !in.Resource.Check(in.Request).Allowed() {
			r = policy.Result{Decision: policy.ImplicitDeny, Reason: "because no resource-based policy allows the " + req.Action + " action"}
		}
	}
	return r, in, nil
}

func getSessionTokenAllowed(action string) bool {
	a := strings.ToLower(action)
	switch {
	case strings.HasPrefix(a, "iam:"):
		return false
	case strings.HasPrefix(a, "sts:"):
		return a == "sts:assumerole" || a == "sts:getcalleridentity" || a == "sts:tagsession" || a == "sts:setsourceidentity"
	}
	return true
}

// reservedKeys are condition keys that only authentication may set.
var reservedKeys = map[string]bool{
	"aws:sourceip": true, "aws:currenttime": true, "aws:epochtime": true, "aws:securetransport": true,
	"aws:multifactorauthpresent": true, "aws:multifactorauthage": true, "aws:principalorgid": true,
	"aws:principalorgpaths": true, "aws:sourceidentity": true, "aws:tokenissuetime": true,
	"aws:username": true, "aws:userid": true, "aws:principalarn": true, "aws:principalaccount": true,
	"aws:principaltype": true, "aws:federatedprovider": true, "aws:principalservicename": true,
	"aws:principalisawsservice": true, "aws:principalservicenameslist": true, "aws:viaawsservice": true,
	"aws:calledvia": true, "aws:calledviafirst": true, "aws:calledvialast": true,
}

func reservedKey(k string) bool {
	lk := strings.ToLower(k)
	return reservedKeys[lk] || strings.HasPrefix(lk, "aws:principaltag/")
}

// fillContext sets the request's condition keys: the route's, then the
// global keys authentication decides.
func (s *Service) fillContext(ctx context.Context, pc *policy.Context, req *Request, tags map[string]string, now time.Time) {
	for k, v := range req.Context {
		if !reservedKey(k) {
			pc.Set(k, v...)
		}
	}
	c := &req.Caller
	pc.SetTime(now)
	if req.SourceIP != "" {
		pc.Set("aws:SourceIp", req.SourceIP)
	}
	if req.SecureTransport {
		pc.Set("aws:SecureTransport", "true")
	} else {
		pc.Set("aws:SecureTransport", "false")
	}
	pc.Set("aws:ViaAWSService", "false")
	for k, v := range tags {
		pc.Set("aws:PrincipalTag/"+k, v)
	}
	if c.Temporary() {
		pc.Set("aws:MultiFactorAuthPresent", "false")
		if !c.IssuedAt.IsZero() {
			pc.Set("aws:TokenIssueTime", c.IssuedAt.UTC().Format(time.RFC3339))
		}
	}
	if c.SourceIdentity != "" {
		pc.Set("aws:SourceIdentity", c.SourceIdentity)
	}
	if org := s.cachedOrgID(ctx); org != "" {
		pc.Set("aws:PrincipalOrgID", org)
	}
}

// cachedOrgID returns the organization's ID, creating it on first use
// ("" if the store cannot be reached; aws:PrincipalOrgID is then absent).
func (s *Service) cachedOrgID(ctx context.Context) string {
	s.mgmtOnce.Lock()
	id := s.orgID
	s.mgmtOnce.Unlock()
	if id != "" {
		return id
	}
	id, err := s.metaValue(ctx, "org-id", newOrgID)
	if err != nil {
		s.log.Warn("organization id", "err", err)
		return ""
	}
	s.mgmtOnce.Lock()
	s.orgID = id
	s.mgmtOnce.Unlock()
	return id
}

// authzCache holds compiled policy sets per principal and guardrails per
// account, rebuilt when the account's (or organization's) generation
// moves on.
type authzCache struct {
	mu     sync.RWMutex
	sets   map[string]*policySet
	guards map[string]*guardSet
}

func (c *authzCache) init() {
	c.sets = map[string]*policySet{}
	c.guards = map[string]*guardSet{}
}

// policySource names where an identity-based policy came from, as IAM's
// policy simulator reports it.
type policySource struct {
	ID   string // policy name or ARN
	Type string // "user", "group", "role", "aws-managed", "user-managed"
}

// policySet is a principal's compiled identity-based policies.
type policySet struct {
	gen      uint64
	found    bool
	broken   bool
	identity []*policy.Policy
	sources  []policySource
	boundary *policy.Policy
	tags     map[string]string
}

type guardSet struct {
	gen      uint64
	broken   bool
	policies []*policy.Policy
}

// principalSet returns the caller's current identity-based policies.
func (s *Service) principalSet(ctx context.Context, c *Principal) (*policySet, error) {
	var key string
	switch c.Type {
	case TypeRoot:
		return &policySet{found: true}, nil
	case TypeUser:
		key = "u:" + c.Account + ":" + c.UserID
	case TypeAssumedRole:
		key = "r:" + c.Account + ":" + c.RoleID
	default:
		return &policySet{}, nil
	}
	gen, _ := s.idx.gen(c.Account)
	s.authz.mu.RLock()
	set := s.authz.sets[key]
	s.authz.mu.RUnlock()
	if set != nil && set.gen == gen {
		return set, nil
	}
	set = s.buildSet(c)
	set.gen = gen
	s.authz.mu.Lock()
	s.authz.sets[key] = set
	s.authz.mu.Unlock()
	return set, nil
}

// buildSet compiles a user's or role's policies from the in-memory copy.
func (s *Service) buildSet(c *Principal) *policySet {
	set := &policySet{}
	switch c.Type {
	case TypeUser:
		u := s.idx.userByID(c.Account, c.UserID)
		if u == nil {
			return set
		}
		set.found, set.tags = true, tagMap(u.Tags)
		s.addPolicies(set, u.Inline, u.Attached, "user")
		for _, gid := range u.Groups {
			if g := s.idx.groupByID(c.Account, gid); g != nil {
				s.addPolicies(set, g.Inline, g.Attached, "group")
			}
		}
		s.setBoundary(set, u.Boundary)
	case TypeAssumedRole:
		r := s.idx.roleByID(c.Account, c.RoleID)
		if r == nil {
			return set
		}
		set.found, set.tags = true, tagMap(r.Tags)
		s.addPolicies(set, r.Inline, r.Attached, "role")
		s.setBoundary(set, r.Boundary)
	}
	return set
}

func (s *Service) addPolicies(set *policySet, inline []InlinePolicy, attached []string, typ string) {
	for _, ip := range inline {
		p, err := policy.Parse([]byte(ip.Document), policy.Identity)
		if err != nil {
			s.log.Error("stored inline policy does not parse", "policy", ip.Name, "err", err)
			set.broken = true
			continue
		}
		set.identity = append(set.identity, p)
		set.sources = append(set.sources, policySource{ID: ip.Name, Type: typ})
	}
	for _, arn := range attached {
		p, mp, ok := s.parsedManaged(arn, policy.Identity)
		if mp == nil {
			continue // deleted while attached: grants nothing
		}
		if !ok {
			set.broken = true
			continue
		}
		typ := "user-managed"
		if mp.AWSManaged() {
			typ = "aws-managed"
		}
		set.identity = append(set.identity, p)
		set.sources = append(set.sources, policySource{ID: arn, Type: typ})
	}
}

// setBoundary compiles a permissions boundary. A boundary whose policy is
// gone allows nothing: it fails closed.
func (s *Service) setBoundary(set *policySet, arn string) {
	if arn == "" {
		return
	}
	p, mp, ok := s.parsedManaged(arn, policy.Boundary)
	if mp == nil || !ok {
		set.boundary = denyAllBoundary()
		return
	}
	set.boundary = p
}

var denyAllBoundary = sync.OnceValue(func() *policy.Policy {
	p, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`), policy.Boundary)
	if err != nil {
		panic(err)
	}
	return p
})

// parsedManaged parses a managed policy's default version as kind k. mp
// is nil when the policy does not exist; ok is false when it does not
// parse.
func (s *Service) parsedManaged(arn string, k policy.Kind) (p *policy.Policy, mp *ManagedPolicy, ok bool) {
	mp = s.cachedPolicy(arn)
	if mp == nil {
		return nil, nil, false
	}
	if mp.AWSManaged() && k == policy.Identity {
		return awsManagedSet().parsed[arn], mp, true
	}
	v := mp.Default()
	if v == nil {
		return nil, mp, false
	}
	p, err := policy.Parse([]byte(v.Document), k)
	if err != nil {
		s.log.Error("stored managed policy does not parse", "policy", arn, "err", err)
		return nil, mp, false
	}
	return p, mp, true
}

// guardrails returns the SCPs that apply to principals of account: none
// for the management account.
func (s *Service) guardrails(ctx context.Context, account string) (*guardSet, error) {
	mgmt, err := s.managementAccount(ctx)
	if err != nil {
		return nil, err
	}
	if account == "" || account == mgmt {
		return &guardSet{}, nil
	}
	_, gen := s.idx.gen(account)
	s.authz.mu.RLock()
	g := s.authz.guards[account]
	s.authz.mu.RUnlock()
	if g != nil && g.gen == gen {
		return g, nil
	}
	g = &guardSet{gen: gen}
	for _, id := range s.targetPolicyIDs(account) {
		var content string
		if id == FullAWSAccessID {
			content = fullAWSAccess.Content
		} else {
			s.idx.mu.RLock()
			op := s.idx.orgPols[orgKey("policy", id)]
			s.idx.mu.RUnlock()
			if op == nil {
				continue // deleted: DeleteSCP refuses while attached
			}
			content = op.Content
		}
		p, err := policy.Parse([]byte(content), policy.Guardrail)
		if err != nil {
			s.log.Error("stored service control policy does not parse", "policy", id, "err", err)
			g.broken = true
			continue
		}
		g.policies = append(g.policies, p)
	}
	s.authz.mu.Lock()
	s.authz.guards[account] = g
	s.authz.mu.Unlock()
	return g, nil
}
