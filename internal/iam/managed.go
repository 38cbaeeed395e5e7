package iam

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
)

// CreatePolicyInput is CreatePolicy's parameters.
type CreatePolicyInput struct {
	Name        string
	Path        string
	Document    string
	Description string
	Tags        []Tag
}

// CreatePolicy creates a customer managed policy with version v1.
func (s *Service) CreatePolicy(ctx context.Context, account string, in CreatePolicyInput) (*ManagedPolicy, error) {
	var v violations
	checkName(&v, in.Name, "policyName", MaxPolicyName)
	checkPath(&v, in.Path, "path")
	checkDocument(&v, in.Document, "policyDocument")
	checkDescription(&v, in.Description)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := checkManagedDocument(in.Document); err != nil {
		return nil, err
	}
	if in.Path == "" {
		in.Path = "/"
	}
	now := s.now().UTC().Truncate(time.Second)
	p := &ManagedPolicy{
		Account: account, Name: in.Name, ID: newUniqueID("ANPA"), Path: in.Path, Description: in.Description,
		CreateDate: now, UpdateDate: now, DefaultVersion: "v1", NextVersion: 2, Tags: in.Tags,
		Versions: []PolicyVersion{{ID: "v1", Document: in.Document, CreateDate: now}},
	}
	err := create(ctx, s, entityKey(account, kindPolicy, in.Name), p, func() error {
		return awserr.New(awserr.EntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", in.Name)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func checkManagedDocument(doc string) error {
	if policySize(doc) > MaxManagedPolicySize {
		return limitExceeded("Cannot exceed quota for PolicySize: " + strconv.Itoa(MaxManagedPolicySize))
	}
	_, err := parseDocument(doc, policy.Identity)
	return err
}

// checkPolicyARN validates a policy ARN parameter.
func checkPolicyARN(arn, member string) error {
	var v violations
	switch {
	case arn == "":
		v.add(nil, member, "Member must not be null")
	case len(arn) < 20:
		v.add(arn, member, "Member must have length greater than or equal to 20")
	case len(arn) > 2048:
		v.add(truncate(arn, 64), member, "Member must have length less than or equal to 2048")
	}
	if err := v.err(); err != nil {
		return err
	}
	if !strings.HasPrefix(arn, "arn:") || strings.Count(arn, ":") < 5 {
		return invalidInput("ARN " + arn + " is not valid.")
	}
	return nil
}

// ManagedPolicyByARN returns a managed policy that account may use: one of
// its own customer managed policies, or an AWS managed policy.
func (s *Service) ManagedPolicyByARN(ctx context.Context, account, arn string) (*ManagedPolicy, error) {
	p, _, err := s.policyByARN(ctx, account, arn)
	return p, err
}

// policyByARN reads a managed policy (with its revision; 0 for AWS managed
// policies).
func (s *Service) policyByARN(ctx context.Context, account, arn string) (*ManagedPolicy, uint64, error) {
	if err := checkPolicyARN(arn, "policyArn"); err != nil {
		return nil, 0, err
	}
	if p := awsManaged(arn); p != nil {
		return p, 0, nil
	}
	acct, path, name, ok := parseEntityARN(arn, kindPolicy)
	if !ok || acct != account {
		return nil, 0, noSuchPolicy(arn)
	}
	p, rev, err := load[ManagedPolicy](ctx, s, entityKey(account, kindPolicy, name), func() error { return noSuchPolicy(arn) })
	if err != nil {
		return nil, 0, err
	}
	if p.Path != path || p.Name != name {
		return nil, 0, noSuchPolicy(arn)
	}
	return p, rev, nil
}

// cachedPolicy finds a managed policy in the in-memory copy (nil if none).
func (s *Service) cachedPolicy(arn string) *ManagedPolicy {
	if p := awsManaged(arn); p != nil {
		return p
	}
	acct, path, name, ok := parseEntityARN(arn, kindPolicy)
	if !ok {
		return nil
	}
	p := s.idx.policy(acct, name)
	if p == nil || p.Path != path || p.Name != name {
		return nil
	}
	return p
}

// mutatePolicy applies fn to a customer managed policy of account.
func (s *Service) mutatePolicy(ctx context.Context, account, arn string, fn func(*ManagedPolicy) error) (*ManagedPolicy, error) {
	p, _, err := s.policyByARN(ctx, account, arn)
	if err != nil {
		return nil, err
	}
	if p.AWSManaged() {
		return nil, unmodifiable(arn)
	}
	return mutate(ctx, s, entityKey(account, kindPolicy, p.Name), func() error { return noSuchPolicy(arn) }, func(q *ManagedPolicy) error {
		if q.ID != p.ID {
			return noSuchPolicy(arn)
		}
		return fn(q)
	})
}

func unmodifiable(arn string) error {
	return awserr.New(awserr.UnmodifiableEntity, "Cannot modify the AWS managed policy %s.", arn)
}

// ListPoliciesInput filters ListPolicies.
type ListPoliciesInput struct {
	Scope        string // All (default), AWS, Local
	OnlyAttached bool
	PathPrefix   string
	UsageFilter  string // PermissionsPolicy, PermissionsBoundary, or ""
}

// ListPolicies lists the managed policies visible in account: AWS managed
// ones first, then the account's own, each in name order.
func (s *Service) ListPolicies(account string, in ListPoliciesInput) ([]*ManagedPolicy, error) {
	switch in.Scope {
	case "", "All", "AWS", "Local":
	default:
		return nil, validation(constraint(in.Scope, "scope", "Member must satisfy enum value set: [All, AWS, Local]"))
	}
	switch in.UsageFilter {
	case "", "PermissionsPolicy", "PermissionsBoundary":
	default:
		return nil, validation(constraint(in.UsageFilter, "policyUsageFilter", "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]"))
	}
	var all []*ManagedPolicy
	if in.Scope != "Local" {
		all = append(all, awsManagedPolicies()...)
	}
	if in.Scope != "AWS" {
		all = append(all, s.idx.listPolicies(account)...)
	}
	all = filterPath(all, in.PathPrefix, func(p *ManagedPolicy) string { return p.Path })
	if !in.OnlyAttached && in.UsageFilter == "" {
		return all, nil
	}
	usage := s.PolicyUsage(account)
	out := all[:0:0]
	for _, p := range all {
		u := usage[p.ARN()]
		keep := !in.OnlyAttached || u.Attachments > 0
		switch in.UsageFilter {
		case "PermissionsPolicy":
			keep = keep && u.Attachments > 0
		case "PermissionsBoundary":
			keep = keep && u.Boundaries > 0
		}
		if keep {
			out = append(out, p)
		}
	}
	return out, nil
}

// Usage counts where a managed policy is used in an account.
type Usage struct {
	Attachments int // attached to users, groups and roles
	Boundaries  int // set as a permissions boundary
}

// PolicyUsage counts, for every managed policy used in account, its
// attachments and permissions-boundary uses.
func (s *Service) PolicyUsage(account string) map[string]Usage {
	out := map[string]Usage{}
	count := func(attached []string, boundary string) {
		for _, a := range attached {
			u := out[a]
			u.Attachments++
			out[a] = u
		}
		if boundary != "" {
			u := out[boundary]
			u.Boundaries++
			out[boundary] = u
		}
	}
	for _, u := range s.idx.listUsers(account) {
		count(u.Attached, u.Boundary)
	}
	for _, g := range s.idx.listGroups(account) {
		count(g.Attached, "")
	}
	for _, r := range s.idx.listRoles(account) {
		count(r.Attached, r.Boundary)
	}
	return out
}

// DeletePolicy deletes a customer managed policy that is attached nowhere
// and has no version but its default.
func (s *Service) DeletePolicy(ctx context.Context, account, arn string) error {
	p, rev, err := s.policyByARN(ctx, account, arn)
	if err != nil {
		return err
	}
	if p.AWSManaged() {
		return unmodifiable(arn)
	}
	if u := s.PolicyUsage(account)[arn]; u.Attachments+u.Boundaries > 0 {
		return awserr.New(awserr.DeleteConflict, "Cannot delete a policy attached to entities.")
	}
	if len(p.Versions) > 1 {
		return awserr.New(awserr.DeleteConflict, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	return remove(ctx, s, entityKey(account, kindPolicy, p.Name), rev)
}

// CreatePolicyVersion adds a version to a customer managed policy,
// optionally making it the default.
func (s *Service) CreatePolicyVersion(ctx context.Context, account, arn, doc string, setDefault bool) (*PolicyVersion, error) {
	var v violations
	checkDocument(&v, doc, "policyDocument")
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkManagedDocument(doc); err != nil {
		return nil, err
	}
	var out PolicyVersion
	_, err := s.mutatePolicy(ctx, account, arn, func(p *ManagedPolicy) error {
		if len(p.Versions) >= MaxPolicyVersions {
			return limitExceeded("A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
		}
		now := s.now().UTC().Truncate(time.Second)
		out = PolicyVersion{ID: "v" + strconv.Itoa(p.NextVersion), Document: doc, CreateDate: now}
		p.NextVersion++
		p.Versions = append(p.Versions, out)
		if setDefault {
			p.DefaultVersion = out.ID
			p.UpdateDate = now
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func checkVersionID(id string) error {
	if !versionIDRe.MatchString(id) {
		return validation(constraint(id, "versionId", `Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`))
	}
	return nil
}

func noSuchVersion(arn, id string) error {
	return awserr.New(awserr.NoSuchEntity, "Policy %s version %s does not exist or is not attachable.", arn, id)
}

// PolicyVersion returns one version of a managed policy.
func (s *Service) PolicyVersion(ctx context.Context, account, arn, id string) (*ManagedPolicy, *PolicyVersion, error) {
	if err := checkVersionID(id); err != nil {
		return nil, nil, err
	}
	p, _, err := s.policyByARN(ctx, account, arn)
	if err != nil {
		return nil, nil, err
	}
	v := p.Version(id)
	if v == nil {
		return nil, nil, noSuchVersion(arn, id)
	}
	return p, v, nil
}

// DeletePolicyVersion deletes a version that is not the default.
func (s *Service) DeletePolicyVersion(ctx context.Context, account, arn, id string) error {
	if err := checkVersionID(id); err != nil {
		return err
	}
	_, err := s.mutatePolicy(ctx, account, arn, func(p *ManagedPolicy) error {
		if p.Version(id) == nil {
			return noSuchVersion(arn, id)
		}
		if p.DefaultVersion == id {
			return awserr.New(awserr.DeleteConflict, "Cannot delete the default version of a policy.")
		}
		for i := range p.Versions {
			if p.Versions[i].ID == id {
				p.Versions = append(p.Versions[:i], p.Versions[i+1:]...)
				break
			}
		}
		return nil
	})
	return err
}

// SetDefaultPolicyVersion makes a version the one that applies.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, account, arn, id string) error {
	if err := checkVersionID(id); err != nil {
		return err
	}
	_, err := s.mutatePolicy(ctx, account, arn, func(p *ManagedPolicy) error {
		if p.Version(id) == nil {
			return noSuchVersion(arn, id)
		}
		p.DefaultVersion = id
		p.UpdateDate = s.now().UTC().Truncate(time.Second)
		return nil
	})
	return err
}
