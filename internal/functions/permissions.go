package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
)

// resourcePolicy is a function's (or version's, or alias's) resource-based
// policy: the statements AddPermission added, in order.
type resourcePolicy struct {
	Statements []json.RawMessage `json:"statements"`
}

// document renders the policy as Lambda's GetPolicy returns it.
func (p *resourcePolicy) document() []byte {
	doc := struct {
		Version   string            `json:"Version"`
		Id        string            `json:"Id"`
		Statement []json.RawMessage `json:"Statement"`
	}{"2012-10-17", "default", p.Statements}
	b, _ := json.Marshal(doc)
	return b
}

func (p *resourcePolicy) index(sid string) int {
	for i, st := range p.Statements {
		var x struct{ Sid string }
		if json.Unmarshal(st, &x) == nil && x.Sid == sid {
			return i
		}
	}
	return -1
}

// policyOwner is where a qualifier's policy lives and what revision guards it.
type policyOwner struct {
	policy   **resourcePolicy
	revision *string
}

// checkPermissionInput validates AddPermission's members.
func checkPermissionInput(in *PermissionInput) error {
	var v violations
	if in.StatementId == nil {
		v.add(nil, "statementId", "Member must not be null")
	} else if len(*in.StatementId) > 100 || !statementRe.MatchString(*in.StatementId) {
		v.add(*in.StatementId, "statementId", "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)")
	}
	if in.Action == nil {
		v.add(nil, "action", "Member must not be null")
	} else if !actionRe.MatchString(*in.Action) {
		v.add(*in.Action, "action", "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])")
	}
	if in.Principal == nil {
		v.add(nil, "principal", "Member must not be null")
	} else if !handlerRe.MatchString(*in.Principal) {
		v.add(*in.Principal, "principal", `Member must satisfy regular expression pattern: [^\s]+`)
	}
	if in.SourceArn != nil && !sourceARNRe.MatchString(*in.SourceArn) {
		v.add(*in.SourceArn, "sourceArn", `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`)
	}
	if in.SourceAccount != nil && !accountRe.MatchString(*in.SourceAccount) {
		v.add(*in.SourceAccount, "sourceAccount", `Member must satisfy regular expression pattern: \d{12}`)
	}
	if in.EventSourceToken != nil && (len(*in.EventSourceToken) > 256 || !tokenRe.MatchString(*in.EventSourceToken)) {
		v.add(*in.EventSourceToken, "eventSourceToken", `Member must satisfy regular expression pattern: [a-zA-Z0-9._\-]+`)
	}
	if in.PrincipalOrgID != nil && !orgIDRe.MatchString(*in.PrincipalOrgID) {
		v.add(*in.PrincipalOrgID, "principalOrgID", "Member must satisfy regular expression pattern: ^o-[a-z0-9]{10,32}$")
	}
	if in.FunctionUrlAuthType != nil && *in.FunctionUrlAuthType != "NONE" && *in.FunctionUrlAuthType != "AWS_IAM" {
		v.add(*in.FunctionUrlAuthType, "functionUrlAuthType", "Member must satisfy enum value set: [NONE, AWS_IAM]")
	}
	return v.err()
}

// statement builds the policy statement AddPermission adds.
func statement(in *PermissionInput, resource string) (json.RawMessage, error) {
	var principal any
	p := *in.Principal
	switch {
	case p == "*":
		principal = "*"
	case accountRe.MatchString(p):
		principal = map[string]string{"AWS": "arn:aws:iam::" + p + ":root"}
	case len(p) > 12 && p[:12] == "arn:aws:iam:":
		principal = map[string]string{"AWS": p}
	case serviceRe.MatchString(p):
		principal = map[string]string{"Service": p}
	default:
		return nil, invalidParam("The provided principal was invalid. Please check the principal and try again.")
	}
	cond := map[string]map[string]string{}
	add := func(op, key, val string) {
		if cond[op] == nil {
			cond[op] = map[string]string{}
		}
		cond[op][key] = val
	}
	if in.SourceAccount != nil {
		add("StringEquals", "AWS:SourceAccount", *in.SourceAccount)
	}
	if in.SourceArn != nil {
		add("ArnLike", "AWS:SourceArn", *in.SourceArn)
	}
	if in.EventSourceToken != nil {
		add("StringEquals", "lambda:EventSourceToken", *in.EventSourceToken)
	}
	if in.PrincipalOrgID != nil {
		add("StringEquals", "aws:PrincipalOrgID", *in.PrincipalOrgID)
	}
	if in.FunctionUrlAuthType != nil {
		add("StringEquals", "lambda:FunctionUrlAuthType", *in.FunctionUrlAuthType)
	}
	st := struct {
		Sid       string                       `json:"Sid"`
		Effect    string                       `json:"Effect"`
		Principal any                          `json:"Principal"`
		Action    string                       `json:"Action"`
		Resource  string                       `json:"Resource"`
		Condition map[string]map[string]string `json:"Condition,omitempty"`
	}{*in.StatementId, "Allow", principal, *in.Action, resource, cond}
	if len(cond) == 0 {
		st.Condition = nil
	}
	return json.Marshal(st)
}

// withPolicy runs fn on the policy a qualifier names, writing the owner
// back; it is the one path through which resource policies change.
func (s *Service) withPolicy(ctx context.Context, r Ref, fn func(owner policyOwner, arn string) error) error {
	q := r.Qualifier
	if isVersion(q) {
		var n int
		fmt.Sscanf(q, "%d", &n)
		_, err := s.updateVersion(ctx, r, n, func(v *versionRecord) error {
			return fn(policyOwner{&v.Policy, &v.Config.RevisionId}, v.Config.FunctionArn)
		})
		return err
	}
	_, err := s.mutate(ctx, r, func(rec *functionRecord) error {
		if q == "" || q == LatestVersion {
			return fn(policyOwner{&rec.Policy, &rec.Latest.RevisionId}, FunctionARN(s.cfg.Region, r.Account, r.Name))
		}
		a, ok := rec.Aliases[q]
		if !ok {
			return s.notFound(r)
		}
		return fn(policyOwner{&a.Policy, &a.Alias.RevisionId}, a.Alias.AliasArn)
	})
	return err
}

// AddPermission is AddPermission; it returns the statement added.
func (s *Service) AddPermission(ctx context.Context, r Ref, in *PermissionInput) (string, error) {
	if err := checkPermissionInput(in); err != nil {
		return "", err
	}
	var added json.RawMessage
	err := s.withPolicy(ctx, r, func(o policyOwner, arn string) error {
		if err := checkRevision(in.RevisionId, *o.revision); err != nil {
			return err
		}
		st, err := statement(in, arn)
		if err != nil {
			return err
		}
		p := *o.policy
		if p == nil {
			p = &resourcePolicy{}
		}
		if p.index(*in.StatementId) >= 0 {
			return awserr.New(awserr.ResourceConflict, "The statement id (SID) provided already exists. Please provide a new statement id, or remove the existing statement.")
		}
		next := &resourcePolicy{Statements: append(append([]json.RawMessage{}, p.Statements...), st)}
		doc := next.document()
		if size := len(doc); size > MaxPolicySize {
			return awserr.New(awserr.PolicyLengthExceeded, "The final policy size (%d) is bigger than the limit (%d).", size, MaxPolicySize)
		}
		// The policy must be one the authorizer can evaluate.
		if _, err := policy.Parse(doc, policy.Resource); err != nil {
			var pe *policy.ParseError
			if errors.As(err, &pe) {
				return invalidParam("The resulting policy is invalid: %s", pe.Message)
			}
			return invalidParam("The resulting policy is invalid.")
		}
		*o.policy = next
		*o.revision = newID()
		added = st
		return nil
	})
	if err != nil {
		return "", err
	}
	return string(added), nil
}

// RemovePermission is RemovePermission.
func (s *Service) RemovePermission(ctx context.Context, r Ref, sid string, revision *string) error {
	if len(sid) < 1 || len(sid) > 100 || !nsStatemetRe.MatchString(sid) {
		return validationError(constraint(sid, "statementId", "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)"))
	}
	return s.withPolicy(ctx, r, func(o policyOwner, arn string) error {
		if err := checkRevision(revision, *o.revision); err != nil {
			return err
		}
		p := *o.policy
		if p == nil {
			return awserr.New(awserr.ResourceNotFound, "No policy is associated with the given resource.")
		}
		i := p.index(sid)
		if i < 0 {
			return awserr.New(awserr.ResourceNotFound, "Statement %s is not found in resource policy.", sid)
		}
		rest := append(append([]json.RawMessage{}, p.Statements[:i]...), p.Statements[i+1:]...)
		if len(rest) == 0 {
			*o.policy = nil
		} else {
			*o.policy = &resourcePolicy{Statements: rest}
		}
		*o.revision = newID()
		return nil
	})
}

// Policy is GetPolicy: the resource policy document of the function, version
// or alias r names, and the owner's RevisionId.
func (s *Service) Policy(ctx context.Context, r Ref) (doc string, revision string, err error) {
	rec, _, err := s.load(ctx, r)
	if err != nil {
		return "", "", err
	}
	var p *resourcePolicy
	q := r.Qualifier
	switch {
	case q == "" || q == LatestVersion:
		p, revision = rec.Policy, rec.Latest.RevisionId
	case isVersion(q):
		var n int
		fmt.Sscanf(q, "%d", &n)
		v, _, err := s.loadVersion(ctx, rec, r, n)
		if err != nil {
			return "", "", err
		}
		p, revision = v.Policy, v.Config.RevisionId
	default:
		a, ok := rec.Aliases[q]
		if !ok {
			return "", "", s.notFound(r)
		}
		p, revision = a.Policy, a.Alias.RevisionId
	}
	if p == nil {
		return "", "", awserr.New(awserr.ResourceNotFound, "The resource you requested does not exist.")
	}
	return string(p.document()), revision, nil
}
