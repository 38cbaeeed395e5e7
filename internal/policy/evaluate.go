package policy

// Decision is the outcome of evaluating a request. The zero Decision is
// ImplicitDeny, so a Result nobody filled in denies.
type Decision int

// The decisions.
const (
	// ImplicitDeny: nothing denied the request, but nothing that had to
	// allow it did.
	ImplicitDeny Decision = iota
	// Allow: the request is allowed.
	Allow
	// ExplicitDeny: a Deny statement matched.
	ExplicitDeny
)

// String returns the decision as IAM's policy simulator names it.
func (d Decision) String() string {
	switch d {
	case Allow:
		return "allowed"
	case ExplicitDeny:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// StatementRef names a statement that decided a request.
type StatementRef struct {
	// Kind is the role the policy played in the evaluation: Identity,
	// Resource, Boundary, Session or Guardrail (for Check, the policy's own
	// kind).
	Kind Kind
	// Policy is the policy the statement belongs to, as passed in.
	Policy *Policy
	// Index is the statement's position in the policy.
	Index int
	// Sid is the statement's Sid ("" if it has none).
	Sid string
}

// Result is the outcome of an evaluation.
type Result struct {
	Decision Decision
	// Reason completes AWS's AccessDenied message after "User: ARN is not
	// authorized to perform: ACTION on resource: RESOURCE ", for example
	// "because no identity-based policy allows the lambda:GetFunction
	// action" or "with an explicit deny in a resource-based policy". It is
	// empty when the request is allowed.
	Reason string
	// Matched lists the statements that decided the request: the matching
	// Deny statements for ExplicitDeny, the matching Allow statements of
	// the policies that granted access for Allow, nothing for ImplicitDeny.
	Matched []StatementRef
}

// Allowed reports whether the decision is Allow.
func (r Result) Allowed() bool { return r.Decision == Allow }

// Message returns AWS's AccessDenied message for req, or "" when the
// request is allowed.
func (r Result) Message(req Request) string {
	if r.Decision == Allow {
		return ""
	}
	who := req.Principal.ARN
	switch {
	case who != "":
	case req.Principal.Type == TypeService:
		who = req.Principal.Service
	case req.Principal.Type == TypeWebIdentity:
		who = req.Principal.Provider
	default:
		who = "anonymous"
	}
	res := req.Resource
	if res == "" {
		res = "*"
	}
	return "User: " + who + " is not authorized to perform: " + req.Action + " on resource: " + res + " " + r.Reason
}

// Input is everything that decides one request.
type Input struct {
	Request Request
	// Identity holds the caller's identity-based policies: inline and
	// managed policies of the user, its groups, or the role.
	Identity []*Policy
	// Resource is the target's resource-based policy (Kind Resource), or
	// the role's trust policy (Kind Trust) for sts:AssumeRole*; nil if it
	// has none.
	Resource *Policy
	// ResourceAccount is the account that owns the target. When it differs
	// from the caller's account the request is cross-account, and both the
	// resource-based policy and the caller's own policies must allow it.
	// Empty means the caller's own account (for actions on "*").
	ResourceAccount string
	// Boundary is the caller's permissions boundary, nil for none.
	Boundary *Policy
	// Session holds the session policies of a role or federated-user
	// session, nil for none. The session may do what any of them allows
	// (they are the inline and managed parts of one session policy).
	Session []*Policy
	// Guardrails are the guardrails attached to the caller's account, which
	// act like service control policies attached at one level of an
	// organization: at least one must allow the request (so a deny-list
	// guardrail is attached next to one that allows everything), and a Deny
	// in any of them wins. They apply to the account's root user too. Nil
	// means none are set; callers that belong to no account (services,
	// anonymous callers) have none.
	Guardrails []*Policy
}

// reasonInvalid is the Reason when the Input is unusable (a nil policy, a
// policy of the wrong kind in a slot, an unknown principal type, a user
// without an account): a programming error, which fails closed.
const reasonInvalid = "because the authorization request is invalid"

// Evaluate decides a request the way AWS's policy evaluation logic does:
//
//  1. A Deny in any policy (guardrail, resource-based, identity-based,
//     permissions boundary, session) wins.
//  2. A guardrail must allow the request.
//  3. Services, web identities and anonymous callers have no identity: the
//     resource-based policy must allow them.
//  4. An account's root user may do anything in its own account; in another
//     account the resource-based policy must allow it.
//  5. For IAM users and sessions in the resource's account, an Allow in the
//     identity-based policies suffices when the permissions boundary (if
//     any) and the session policies (if any) allow it too. An Allow in the
//     resource-based policy suffices on its own when it names the caller
//     itself (user ARN, session ARN or "*"); when it names the role behind
//     a session the boundary and session policies must still allow it; when
//     it names the account it only delegates to the identity-based
//     policies.
//  6. Across accounts both sides must allow: the identity-based policies
//     (limited by boundary and session policies) and the resource-based
//     policy.
//
// A role's trust policy (Kind Trust in Input.Resource, for sts:AssumeRole*)
// differs from other resource-based policies in one way: it must always
// name the caller, so an identity-based Allow alone never suffices.
func Evaluate(in Input) Result {
	if !validInput(&in) {
		return Result{Decision: ImplicitDeny, Reason: reasonInvalid}
	}
	req := &in.Request
	ec := newEvalCtx(req)

	var guard polResult
	for _, g := range in.Guardrails {
		guard.merge(ec.evalPolicy(g, Guardrail))
	}
	var res polResult
	if in.Resource != nil {
		res = ec.evalPolicy(in.Resource, Resource)
	}
	var id polResult
	for _, p := range in.Identity {
		id.merge(ec.evalPolicy(p, Identity))
	}
	var bnd polResult
	if in.Boundary != nil {
		bnd = ec.evalPolicy(in.Boundary, Boundary)
	}
	var ses polResult
	for _, p := range in.Session {
		ses.merge(ec.evalPolicy(p, Session))
	}

	// 1. Explicit deny, named in the order AWS evaluates policy types.
	for _, d := range []struct {
		deny bool
		kind Kind
	}{{guard.deny, Guardrail}, {res.deny, Resource}, {id.deny, Identity}, {bnd.deny, Boundary}, {ses.deny, Session}} {
		if d.deny {
			return Result{Decision: ExplicitDeny, Reason: explicitReason(d.kind), Matched: ec.denies}
		}
	}

	// 2. Guardrails.
	action := req.Action
	if len(in.Guardrails) > 0 && !guard.allow {
		return Result{Decision: ImplicitDeny, Reason: implicitReason(Guardrail, action)}
	}

	p := &req.Principal
	sameAccount := in.ResourceAccount == "" || in.ResourceAccount == p.Account
	allow := func(kinds ...Kind) Result {
		return Result{Decision: Allow, Matched: ec.allowsOf(kinds)}
	}
	deny := func(k Kind) Result {
		return Result{Decision: ImplicitDeny, Reason: implicitReason(k, action)}
	}

	// A role can be assumed only by principals its trust policy names, even
	// within the role's account.
	if in.Resource != nil && in.Resource.kind == Trust && res.grant == grantNone {
		return deny(Resource)
	}

	switch {
	// 3. Callers without an identity.
	case !p.iamPrincipal() && p.Type != TypeRoot:
		if res.grant != grantNone {
			return allow(Guardrail, Resource)
		}
		return deny(Resource)

	// 4. The root user.
	case p.Type == TypeRoot:
		if sameAccount {
			return allow(Guardrail)
		}
		if res.grant != grantNone {
			return allow(Guardrail, Resource)
		}
		return deny(Resource)
	}

	// 5 and 6. IAM users and sessions.
	boundaryOK := in.Boundary == nil || bnd.allow
	sessionOK := len(in.Session) == 0 || ses.allow
	identityOK := id.allow && boundaryOK && sessionOK
	// firstMissing names the first policy type on the identity side that
	// did not allow the request.
	firstMissing := func(needIdentity bool) Kind {
		switch {
		case needIdentity && !id.allow:
			return Identity
		case !boundaryOK:
			return Boundary
		}
		return Session
	}

	if !sameAccount {
		if !identityOK {
			return deny(firstMissing(true))
		}
		if res.grant == grantNone {
			return deny(Resource)
		}
		return allow(Guardrail, Resource, Identity, Boundary, Session)
	}
	switch {
	case res.grant == grantDirect:
		return allow(Guardrail, Resource)
	case res.grant == grantRole && boundaryOK && sessionOK:
		return allow(Guardrail, Resource, Boundary, Session)
	case identityOK:
		return allow(Guardrail, Identity, Boundary, Session)
	case res.grant == grantRole:
		return deny(firstMissing(false))
	}
	return deny(firstMissing(true))
}

// Check evaluates one policy on its own, as IAM's SimulateCustomPolicy does
// for a single document: a matching Deny gives ExplicitDeny, else a
// matching Allow gives Allow, else ImplicitDeny. Statements of Resource and
// Trust policies apply only to the principals they name. To decide an
// sts:AssumeRole call, pass the trust policy to Evaluate as Input.Resource
// instead, so that cross-account callers also need their own Allow.
func (p *Policy) Check(req Request) Result {
	if p == nil || !p.kind.valid() || !validPrincipal(&req.Principal) {
		return Result{Decision: ImplicitDeny, Reason: reasonInvalid}
	}
	ec := newEvalCtx(&req)
	r := ec.evalPolicy(p, p.kind)
	switch {
	case r.deny:
		return Result{Decision: ExplicitDeny, Reason: explicitReason(p.kind), Matched: ec.denies}
	case r.allow:
		return Result{Decision: Allow, Matched: ec.allows}
	}
	return Result{Decision: ImplicitDeny, Reason: implicitReason(p.kind, req.Action)}
}

// validPrincipal reports whether p is a caller Evaluate can reason about:
// a known type with the fields that type is identified by.
func validPrincipal(p *Principal) bool {
	switch p.Type {
	case TypeRoot, TypeUser, TypeAssumedRole, TypeFederatedUser:
		return p.ARN != "" && p.Account != ""
	case TypeService:
		return p.Service != ""
	case TypeWebIdentity:
		return p.Provider != ""
	case TypeAnonymous:
		return true
	}
	return false
}

func validInput(in *Input) bool {
	if !validPrincipal(&in.Request.Principal) {
		return false
	}
	if in.Resource != nil && !in.Resource.kind.hasPrincipal() {
		return false
	}
	if in.Boundary != nil && !noPrincipalKind(in.Boundary) {
		return false
	}
	for _, list := range [][]*Policy{in.Identity, in.Session, in.Guardrails} {
		for _, p := range list {
			if !noPrincipalKind(p) {
				return false
			}
		}
	}
	return true
}

// noPrincipalKind reports whether p is a policy whose statements apply to
// the caller without naming it (so it can serve as an identity-based
// policy, boundary, session policy or guardrail).
func noPrincipalKind(p *Policy) bool { return p != nil && p.kind.valid() && !p.kind.hasPrincipal() }

// noun names a kind of policy in AccessDenied messages.
func noun(k Kind) string {
	switch k {
	case Resource, Trust:
		return "resource-based policy"
	case Boundary:
		return "permissions boundary"
	case Session:
		return "session policy"
	case Guardrail:
		return "service control policy"
	}
	return "identity-based policy"
}

func explicitReason(k Kind) string {
	n := noun(k)
	article := "a "
	if n[0] == 'i' {
		article = "an "
	}
	return "with an explicit deny in " + article + n
}

func implicitReason(k Kind, action string) string {
	return "because no " + noun(k) + " allows the " + action + " action"
}

// polResult summarizes one policy's (or one group of policies') statements
// for a request.
type polResult struct {
	deny, allow bool
	grant       grant // best grant among matching Allow statements (Resource policies)
}

func (r *polResult) merge(o polResult) {
	r.deny = r.deny || o.deny
	r.allow = r.allow || o.allow
	r.grant = max(r.grant, o.grant)
}

// evalCtx is the state of one evaluation. It copies what it needs from the
// request instead of pointing to it: escape analysis does not tell fields
// apart, so a pointer here would move every caller's Input to the heap.
type evalCtx struct {
	principal Principal
	action    string
	resource  string
	ctx       map[string][]string
	derived   [len(principalKeys)]string
	allows    []StatementRef
	denies    []StatementRef
}

func newEvalCtx(req *Request) evalCtx {
	ec := evalCtx{principal: req.Principal, action: req.Action, resource: req.Resource, ctx: req.Context.m}
	deriveKeys(&req.Principal, &ec.derived)
	return ec
}

// lookup returns the values of a condition key (lower case); nil if absent.
func (ec *evalCtx) lookup(keyLC string) []string {
	for i := range principalKeys {
		if principalKeys[i] == keyLC {
			if ec.derived[i] == "" {
				return nil
			}
			return ec.derived[i : i+1]
		}
	}
	return ec.ctx[keyLC]
}

// variable returns the value a policy variable takes: the key's single
// value. Absent and multivalued keys do not resolve.
func (ec *evalCtx) variable(keyLC string) (string, bool) {
	v := ec.lookup(keyLC)
	if len(v) != 1 {
		return "", false
	}
	return v[0], true
}

// allowsOf returns the matching Allow statements of policies that played one
// of the given roles. It filters ec.allows in place.
func (ec *evalCtx) allowsOf(kinds []Kind) []StatementRef {
	out := ec.allows[:0]
	for _, r := range ec.allows {
		for _, k := range kinds {
			if r.Kind == k {
				out = append(out, r)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// evalPolicy evaluates every statement of p, recording matches under role.
func (ec *evalCtx) evalPolicy(p *Policy, role Kind) polResult {
	var r polResult
	for i, s := range p.stmts {
		g, ok := s.applies(ec, p.kind)
		if !ok {
			continue
		}
		ref := StatementRef{Kind: role, Policy: p, Index: i, Sid: s.sid}
		if s.effect == effectDeny {
			r.deny = true
			ec.denies = append(ec.denies, ref)
		} else {
			r.allow = true
			r.grant = max(r.grant, g)
			ec.allows = append(ec.allows, ref)
		}
	}
	return r
}

// applies reports whether the statement matches the request and, for
// statements that name principals, how directly.
func (s *statement) applies(ec *evalCtx, k Kind) (grant, bool) {
	// Action.
	m := false
	for i := range s.actions {
		if s.actions[i].match(ec.action, true, ec) {
			m = true
			break
		}
	}
	if m == s.notAction {
		return grantNone, false
	}
	// Resource.
	if s.hasResource && !s.resourceMatches(ec) {
		return grantNone, false
	}
	// Principal.
	g := grantDirect
	if k.hasPrincipal() {
		if s.principal == nil {
			return grantNone, false
		}
		if s.notPrincipal {
			if s.principal.excludes(&ec.principal) {
				return grantNone, false
			}
		} else if g = s.principal.match(&ec.principal); g == grantNone {
			return grantNone, false
		}
	}
	// Condition.
	for i := range s.conds {
		if !s.conds[i].eval(ec) {
			return grantNone, false
		}
	}
	return g, true
}

// resourceMatches applies Resource or NotResource. A Resource value whose
// variable does not resolve matches nothing; a NotResource value whose
// variable does not resolve makes the statement not apply at all, rather
// than apply to everything.
func (s *statement) resourceMatches(ec *evalCtx) bool {
	res := ec.resource
	if !s.notResource {
		for i := range s.resources {
			if s.resources[i].match(res, false, ec) {
				return true
			}
		}
		return false
	}
	for i := range s.resources {
		p := &s.resources[i]
		if !p.resolves(ec) || p.match(res, false, ec) {
			return false
		}
	}
	return true
}
