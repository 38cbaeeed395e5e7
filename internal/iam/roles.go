package iam

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
)

// CreateRoleInput is CreateRole's parameters.
type CreateRoleInput struct {
	Name               string
	Path               string
	Trust              string // AssumeRolePolicyDocument
	Description        string
	MaxSessionDuration int // seconds; 0 means 3600
	Boundary           string
	Tags               []Tag
}

// CreateRole creates a role.
func (s *Service) CreateRole(ctx context.Context, account string, in CreateRoleInput) (*Role, error) {
	var v violations
	checkName(&v, in.Name, "roleName", MaxRoleName)
	checkPath(&v, in.Path, "path")
	checkDocument(&v, in.Trust, "assumeRolePolicyDocument")
	checkDescription(&v, in.Description)
	checkMaxSession(&v, in.MaxSessionDuration)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := checkTrust(in.Trust); err != nil {
		return nil, err
	}
	if in.Path == "" {
		in.Path = "/"
	}
	if in.MaxSessionDuration == 0 {
		in.MaxSessionDuration = DefaultSessionDuration
	}
	if in.Boundary != "" {
		if err := s.checkBoundary(ctx, account, in.Boundary); err != nil {
			return nil, err
		}
	}
	r := &Role{
		Account: account, Name: in.Name, ID: newUniqueID("AROA"), Path: in.Path, CreateDate: s.now().UTC().Truncate(time.Second),
		Trust: in.Trust, Description: in.Description, MaxSessionDuration: in.MaxSessionDuration, Boundary: in.Boundary, Tags: in.Tags,
	}
	err := create(ctx, s, entityKey(account, kindRole, in.Name), r, func() error {
		return awserr.New(awserr.EntityAlreadyExists, "Role with name %s already exists.", in.Name)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func checkMaxSession(v *violations, d int) {
	switch {
	case d == 0:
	case d < DefaultSessionDuration:
		v.add(d, "maxSessionDuration", "Member must have value greater than or equal to 3600")
	case d > MaxRoleSessionDuration:
		v.add(d, "maxSessionDuration", "Member must have value less than or equal to 43200")
	}
}

// checkTrust validates a role trust policy: the grammar of a trust policy,
// IAM's size quota, and only STS actions.
func checkTrust(doc string) error {
	if n := policySize(doc); n > MaxTrustPolicySize {
		return limitExceeded("Cannot exceed quota for ACLSizePerRole: " + strconv.Itoa(MaxTrustPolicySize))
	}
	p, err := parseDocument(doc, policy.Trust)
	if err != nil {
		return err
	}
	for _, st := range p.Statements() {
		var body struct {
			Action json.RawMessage
		}
		if err := json.Unmarshal(st.JSON, &body); err != nil {
			return malformed("Syntax errors in policy.")
		}
		var actions []string
		if err := json.Unmarshal(body.Action, &actions); err != nil {
			var one string
			if json.Unmarshal(body.Action, &one) != nil {
				return malformed("AssumeRole policy may only specify STS AssumeRole actions.")
			}
			actions = []string{one}
		}
		for _, a := range actions {
			if !strings.HasPrefix(strings.ToLower(a), "sts:") {
				return malformed("AssumeRole policy may only specify STS AssumeRole actions.")
			}
		}
	}
	return nil
}

// parseDocument parses a policy document of kind k, mapping a syntax error
// to IAM's MalformedPolicyDocument.
func parseDocument(doc string, k policy.Kind) (*policy.Policy, error) {
	p, err := policy.Parse([]byte(doc), k)
	if err != nil {
		var pe *policy.ParseError
		if errors.As(err, &pe) {
			return nil, malformed(pe.Message)
		}
		return nil, malformed("Syntax errors in policy.")
	}
	return p, nil
}

// GetRole returns a role.
func (s *Service) GetRole(ctx context.Context, account, name string) (*Role, error) {
	if err := checkEntityName(name, "roleName", MaxRoleName); err != nil {
		return nil, err
	}
	r, _, err := load[Role](ctx, s, entityKey(account, kindRole, name), func() error { return noSuchRole(name) })
	return r, err
}

// LookupRole returns a role from the in-memory copy (nil if none).
func (s *Service) LookupRole(account, name string) *Role { return s.idx.role(account, name) }

// ListRoles lists the roles of account whose path starts with prefix.
func (s *Service) ListRoles(account, prefix string) []*Role {
	return filterPath(s.idx.listRoles(account), prefix, func(r *Role) string { return r.Path })
}

// UpdateRole changes a role's description and maximum session duration
// (nil leaves either unchanged).
func (s *Service) UpdateRole(ctx context.Context, account, name string, description *string, maxSession int) error {
	var v violations
	checkName(&v, name, "roleName", MaxRoleName)
	if description != nil {
		checkDescription(&v, *description)
	}
	checkMaxSession(&v, maxSession)
	if err := v.err(); err != nil {
		return err
	}
	_, err := mutateRole(ctx, s, account, name, func(r *Role) error {
		if description != nil {
			r.Description = *description
		}
		if maxSession != 0 {
			r.MaxSessionDuration = maxSession
		}
		return nil
	})
	return err
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, account, name, doc string) error {
	var v violations
	checkName(&v, name, "roleName", MaxRoleName)
	checkDocument(&v, doc, "policyDocument")
	if err := v.err(); err != nil {
		return err
	}
	if err := checkTrust(doc); err != nil {
		return err
	}
	_, err := mutateRole(ctx, s, account, name, func(r *Role) error {
		r.Trust = doc
		return nil
	})
	return err
}

// DeleteRole deletes a role without policies.
func (s *Service) DeleteRole(ctx context.Context, account, name string) error {
	if err := checkEntityName(name, "roleName", MaxRoleName); err != nil {
		return err
	}
	key := entityKey(account, kindRole, name)
	r, rev, err := load[Role](ctx, s, key, func() error { return noSuchRole(name) })
	if err != nil {
		return err
	}
	switch {
	case len(r.Inline) > 0:
		return deleteConflict("delete policies")
	case len(r.Attached) > 0:
		return deleteConflict("detach all policies")
	}
	return remove(ctx, s, key, rev)
}

// TagRole adds or replaces tags on a role.
func (s *Service) TagRole(ctx context.Context, account, name string, tags []Tag) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	_, err := mutateRole(ctx, s, account, name, func(r *Role) error {
		var err error
		r.Tags, err = mergeTags(r.Tags, tags)
		return err
	})
	return err
}

// UntagRole removes tags from a role.
func (s *Service) UntagRole(ctx context.Context, account, name string, keys []string) error {
	if err := checkTagKeys(keys); err != nil {
		return err
	}
	_, err := mutateRole(ctx, s, account, name, func(r *Role) error {
		r.Tags = removeTags(r.Tags, keys)
		return nil
	})
	return err
}

// roleFromARN finds the role an ARN names (the path must match too); nil
// when there is none.
func (s *Service) roleFromARN(arn string) *Role {
	account, path, name, ok := parseEntityARN(arn, kindRole)
	if !ok || account == awsAccount {
		return nil
	}
	r := s.idx.role(account, name)
	if r == nil || r.Path != path || r.Name != name {
		return nil
	}
	return r
}
