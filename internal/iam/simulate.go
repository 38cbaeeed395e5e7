package iam

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
)

// ContextEntry is a condition key and its values for a simulation.
type ContextEntry struct {
	Key    string
	Values []string
	Type   string // string, stringList, numeric, boolean, date, ip, ...
}

// SimulateInput is what IAM's policy simulator takes.
type SimulateInput struct {
	// Source is the user, group or role whose policies are simulated
	// (SimulatePrincipalPolicy); "" for SimulateCustomPolicy.
	Source string
	// Policies are extra identity-based policies (PolicyInputList).
	Policies []string
	// Boundaries replace the source's permissions boundary
	// (PermissionsBoundaryPolicyInputList).
	Boundaries     []string
	Actions        []string
	Resources      []string // "*" when empty
	ResourcePolicy string
	ResourceOwner  string // account that owns the resources; the caller's by default
	CallerARN      string
	Context        []ContextEntry
}

// MatchedStatement names a statement that decided a simulated request.
type MatchedStatement struct {
	SourcePolicyID   string
	SourcePolicyType string // user, group, role, aws-managed, user-managed, resource, IAM Policy, none
}

// EvalResult is one simulated request's outcome.
type EvalResult struct {
	Action   string
	Resource string
	Decision string // allowed, explicitDeny, implicitDeny
	Matched  []MatchedStatement
	// AllowedByOrganizations is set when guardrails took part.
	AllowedByOrganizations *bool
	// AllowedByBoundary is set when a permissions boundary took part.
	AllowedByBoundary *bool
}

// maxSimulations bounds the requests one simulation evaluates.
const maxSimulations = 1000

// Simulate runs IAM's policy simulator for account: the policies of the
// source entity (or only the given ones), the guardrails of the account
// when an entity is simulated, against every action and resource.
func (s *Service) Simulate(ctx context.Context, account string, in SimulateInput) ([]EvalResult, error) {
	if len(in.Actions) == 0 {
		return nil, validation(constraint(nil, "actionNames", "Member must not be null"))
	}
	if len(in.Resources) == 0 {
		in.Resources = []string{"*"}
	}
	if len(in.Actions)*len(in.Resources) > maxSimulations {
		return nil, invalidInput("The simulation is limited to " + strconv.Itoa(maxSimulations) + " action and resource combinations.")
	}
	var ids []*policy.Policy
	var sources []policySource
	var boundary *policy.Policy
	var guards []*policy.Policy
	caller := policy.Principal{Type: policy.TypeUser, Account: account, ARN: EntityARN(account, kindUser, "/", "SimulatedUser")}
	if in.Source != "" {
		set, pr, err := s.sourceSet(ctx, account, in.Source)
		if err != nil {
			return nil, err
		}
		if set.broken {
			return nil, awserr.New(awserr.Service, "The policies of %s could not be read.", in.Source)
		}
		ids, sources, boundary, caller = set.identity, set.sources, set.boundary, pr
		g, err := s.guardrails(ctx, account)
		if err != nil {
			return nil, err
		}
		guards = g.policies
	}
	for i, d := range in.Policies {
		p, err := parseDocument(d, policy.Identity)
		if err != nil {
			return nil, err
		}
		ids = append(ids, p)
		sources = append(sources, policySource{ID: "PolicyInputList." + strconv.Itoa(i+1), Type: "IAM Policy"})
	}
	var boundarySource string
	if len(in.Boundaries) > 0 {
		p, err := parseDocument(in.Boundaries[0], policy.Boundary)
		if err != nil {
			return nil, err
		}
		boundary, boundarySource = p, "PermissionsBoundaryPolicyInputList.1"
	}
	var resPol *policy.Policy
	if in.ResourcePolicy != "" {
		p, err := parseDocument(in.ResourcePolicy, policy.Resource)
		if err != nil {
			return nil, err
		}
		resPol = p
	}
	if in.CallerARN != "" {
		acct, _, _, ok := parseEntityARN(in.CallerARN, kindUser)
		if !ok {
			return nil, invalidInput("Invalid CallerArn " + in.CallerARN + ". The caller must be an IAM user.")
		}
		caller = policy.Principal{Type: policy.TypeUser, Account: acct, ARN: in.CallerARN}
	}
	owner := in.ResourceOwner
	if owner == "" {
		owner = account
	} else if owner != account && !isAccountID(owner) {
		if a, _, _, ok := parseRootARN(owner); ok {
			owner = a
		} else {
			return nil, invalidInput("Invalid ResourceOwner " + owner + ".")
		}
	}
	name := func(ref policy.StatementRef) MatchedStatement {
		switch ref.Kind {
		case policy.Resource:
			return MatchedStatement{"ResourcePolicy", "resource"}
		case policy.Boundary:
			if boundarySource != "" {
				return MatchedStatement{boundarySource, "permissions boundary"}
			}
			return MatchedStatement{"PermissionsBoundary", "permissions boundary"}
		case policy.Guardrail:
			return MatchedStatement{"ServiceControlPolicy", "organizations"}
		}
		for i, p := range ids {
			if p == ref.Policy {
				return MatchedStatement{sources[i].ID, sources[i].Type}
			}
		}
		return MatchedStatement{"", "none"}
	}
	now := s.now()
	var out []EvalResult
	for _, action := range in.Actions {
		if action == "" || len(action) > 128 {
			return nil, validation(constraint(action, "actionNames", "Member must have length between 3 and 128"))
		}
		for _, res := range in.Resources {
			req := policy.Request{Principal: caller, Action: action, Resource: res}
			req.Context.SetTime(now)
			for _, e := range in.Context {
				if e.Key != "" {
					req.Context.Set(e.Key, e.Values...)
				}
			}
			r := policy.Evaluate(policy.Input{
				Request: req, Identity: ids, Boundary: boundary, Guardrails: guards, Resource: resPol, ResourceAccount: owner,
			})
			er := EvalResult{Action: action, Resource: res, Decision: r.Decision.String()}
			for _, m := range r.Matched {
				er.Matched = append(er.Matched, name(m))
			}
			if len(guards) > 0 {
				allowed := !strings.Contains(r.Reason, "service control policy")
				er.AllowedByOrganizations = &allowed
			}
			if boundary != nil {
				allowed := !strings.Contains(r.Reason, "permissions boundary")
				er.AllowedByBoundary = &allowed
			}
			out = append(out, er)
		}
	}
	return out, nil
}

// sourceSet compiles the policies of the user, group or role an ARN
// names, and the principal that stands for it in a simulation.
func (s *Service) sourceSet(ctx context.Context, account, arn string) (*policySet, policy.Principal, error) {
	notFound := awserr.New(awserr.NoSuchEntity, "Entity %s does not exist.", arn)
	for _, kind := range []string{kindUser, kindGroup, kindRole} {
		acct, path, name, ok := parseEntityARN(arn, kind)
		if !ok {
			continue
		}
		if acct != account {
			return nil, policy.Principal{}, notFound
		}
		set := &policySet{found: true}
		var pr policy.Principal
		switch kind {
		case kindUser:
			u, err := s.GetUser(ctx, account, name)
			if err != nil || u.Path != path {
				return nil, pr, simulateNotFound(err, notFound)
			}
			set = s.buildSet(&Principal{Type: TypeUser, Account: account, UserID: u.ID})
			pr = policy.Principal{Type: policy.TypeUser, Account: account, ARN: u.ARN(), UserID: u.ID}
		case kindGroup:
			g, err := s.GetGroup(ctx, account, name)
			if err != nil || g.Path != path {
				return nil, pr, simulateNotFound(err, notFound)
			}
			s.addPolicies(set, g.Inline, g.Attached, "group")
			pr = policy.Principal{Type: policy.TypeUser, Account: account, ARN: EntityARN(account, kindUser, "/", "SimulatedUser")}
		case kindRole:
			r, err := s.GetRole(ctx, account, name)
			if err != nil || r.Path != path {
				return nil, pr, simulateNotFound(err, notFound)
			}
			set = s.buildSet(&Principal{Type: TypeAssumedRole, Account: account, RoleID: r.ID})
			pr = policy.Principal{Type: policy.TypeAssumedRole, Account: account, RoleARN: r.ARN(),
				ARN: AssumedRoleARN(account, r.Name, "SimulatedSession"), UserID: r.ID + ":SimulatedSession"}
		}
		return set, pr, nil
	}
	return nil, policy.Principal{}, invalidInput("Invalid PolicySourceArn " + arn + ". It must be the ARN of an IAM user, group or role.")
}

func simulateNotFound(err, notFound error) error {
	if err == nil || awserr.IsType(err, awserr.NoSuchEntity) || errors.Is(err, ErrNoAccount) {
		return notFound
	}
	return err
}

// parseRootARN splits arn:aws:iam::ACCOUNT:root.
func parseRootARN(arn string) (account, path, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return "", "", "", false
	}
	account, ok = strings.CutSuffix(rest, ":root")
	return account, "", "", ok && isAccountID(account)
}
