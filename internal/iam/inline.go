package iam

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
)

// EntityKind names the IAM entities that carry policies.
type EntityKind string

// The entity kinds.
const (
	KindUser  EntityKind = kindUser
	KindGroup EntityKind = kindGroup
	KindRole  EntityKind = kindRole
)

// holder is an entity with inline and attached policies.
type holder interface {
	policyLists() (inline *[]InlinePolicy, attached *[]string)
	entityName() string
}

func (u *User) policyLists() (*[]InlinePolicy, *[]string)  { return &u.Inline, &u.Attached }
func (g *Group) policyLists() (*[]InlinePolicy, *[]string) { return &g.Inline, &g.Attached }
func (r *Role) policyLists() (*[]InlinePolicy, *[]string)  { return &r.Inline, &r.Attached }
func (u *User) entityName() string                         { return u.Name }
func (g *Group) entityName() string                        { return g.Name }
func (r *Role) entityName() string                         { return r.Name }

// kindInfo is what differs between users, groups and roles.
type kindInfo struct {
	member     string // the name parameter, e.g. "userName"
	maxName    int
	inlineMax  int    // aggregate inline policy size
	quota      string // managed policy quota name
	notFound   func(string) error
	capitalize string // "User", for messages
}

func (k EntityKind) info() (kindInfo, bool) {
	switch k {
	case KindUser:
		return kindInfo{"userName", MaxUserName, MaxUserInlineSize, "PoliciesPerUser", noSuchUser, "User"}, true
	case KindGroup:
		return kindInfo{"groupName", MaxGroupName, MaxGroupInlineSize, "PoliciesPerGroup", noSuchGroup, "Group"}, true
	case KindRole:
		return kindInfo{"roleName", MaxRoleName, MaxRoleInlineSize, "PoliciesPerRole", noSuchRole, "Role"}, true
	}
	return kindInfo{}, false
}

// mutateHolder applies fn to an entity of kind k.
func (s *Service) mutateHolder(ctx context.Context, account string, k EntityKind, name string, fn func(holder) error) error {
	info, ok := k.info()
	if !ok {
		return invalidInput("unknown entity kind " + string(k))
	}
	if err := checkEntityName(name, info.member, info.maxName); err != nil {
		return err
	}
	var err error
	switch k {
	case KindUser:
		_, err = mutateUser(ctx, s, account, name, func(u *User) error { return fn(u) })
	case KindGroup:
		_, err = mutateGroup(ctx, s, account, name, func(g *Group) error { return fn(g) })
	case KindRole:
		_, err = mutateRole(ctx, s, account, name, func(r *Role) error { return fn(r) })
	}
	return err
}

// getHolder reads an entity of kind k.
func (s *Service) getHolder(ctx context.Context, account string, k EntityKind, name string) (holder, error) {
	switch k {
	case KindUser:
		return s.GetUser(ctx, account, name)
	case KindGroup:
		return s.GetGroup(ctx, account, name)
	case KindRole:
		return s.GetRole(ctx, account, name)
	}
	return nil, invalidInput("unknown entity kind " + string(k))
}

func noSuchInline(k EntityKind, name string) error {
	return awserr.New(awserr.NoSuchEntity, "The %s policy with name %s cannot be found.", k, name)
}

// PutInlinePolicy adds or replaces an inline policy of a user, group or
// role.
func (s *Service) PutInlinePolicy(ctx context.Context, account string, k EntityKind, entity, name, doc string) error {
	info, ok := k.info()
	if !ok {
		return invalidInput("unknown entity kind " + string(k))
	}
	var v violations
	checkName(&v, entity, info.member, info.maxName)
	checkName(&v, name, "policyName", MaxPolicyName)
	checkDocument(&v, doc, "policyDocument")
	if err := v.err(); err != nil {
		return err
	}
	if _, err := parseDocument(doc, policy.Identity); err != nil {
		return err
	}
	return s.mutateHolder(ctx, account, k, entity, func(h holder) error {
		inline, _ := h.policyLists()
		list := slices.Clone(*inline)
		replaced := false
		for i := range list {
			if list[i].Name == name {
				list[i].Document = doc
				replaced = true
			}
		}
		if !replaced {
			list = append(list, InlinePolicy{Name: name, Document: doc})
		}
		total := 0
		for _, p := range list {
			total += policySize(p.Document)
		}
		if total > info.inlineMax {
			return limitExceeded("Maximum policy size of " + strconv.Itoa(info.inlineMax) + " bytes exceeded for " + string(k) + " " + h.entityName())
		}
		*inline = list
		return nil
	})
}

// InlinePolicy returns an inline policy of a user, group or role.
func (s *Service) InlinePolicy(ctx context.Context, account string, k EntityKind, entity, name string) (string, error) {
	if err := checkEntityName(name, "policyName", MaxPolicyName); err != nil {
		return "", err
	}
	h, err := s.getHolder(ctx, account, k, entity)
	if err != nil {
		return "", err
	}
	inline, _ := h.policyLists()
	for _, p := range *inline {
		if p.Name == name {
			return p.Document, nil
		}
	}
	return "", noSuchInline(k, name)
}

// InlinePolicyNames lists the names of an entity's inline policies.
func (s *Service) InlinePolicyNames(ctx context.Context, account string, k EntityKind, entity string) ([]string, error) {
	h, err := s.getHolder(ctx, account, k, entity)
	if err != nil {
		return nil, err
	}
	inline, _ := h.policyLists()
	names := make([]string, len(*inline))
	for i, p := range *inline {
		names[i] = p.Name
	}
	slices.Sort(names)
	return names, nil
}

// DeleteInlinePolicy deletes an inline policy.
func (s *Service) DeleteInlinePolicy(ctx context.Context, account string, k EntityKind, entity, name string) error {
	if err := checkEntityName(name, "policyName", MaxPolicyName); err != nil {
		return err
	}
	return s.mutateHolder(ctx, account, k, entity, func(h holder) error {
		inline, _ := h.policyLists()
		i := slices.IndexFunc(*inline, func(p InlinePolicy) bool { return p.Name == name })
		if i < 0 {
			return noSuchInline(k, name)
		}
		*inline = slices.Delete(slices.Clone(*inline), i, i+1)
		return nil
	})
}

// AttachPolicy attaches a managed policy to a user, group or role.
func (s *Service) AttachPolicy(ctx context.Context, account string, k EntityKind, entity, arn string) error {
	info, ok := k.info()
	if !ok {
		return invalidInput("unknown entity kind " + string(k))
	}
	if _, _, err := s.policyByARN(ctx, account, arn); err != nil {
		return err
	}
	return s.mutateHolder(ctx, account, k, entity, func(h holder) error {
		_, attached := h.policyLists()
		if slices.Contains(*attached, arn) {
			return nil
		}
		if len(*attached) >= MaxManagedPerEntity {
			return limitExceeded("Cannot exceed quota for " + info.quota + ": " + strconv.Itoa(MaxManagedPerEntity))
		}
		*attached = append(slices.Clone(*attached), arn)
		return nil
	})
}

// DetachPolicy detaches a managed policy.
func (s *Service) DetachPolicy(ctx context.Context, account string, k EntityKind, entity, arn string) error {
	if err := checkPolicyARN(arn, "policyArn"); err != nil {
		return err
	}
	return s.mutateHolder(ctx, account, k, entity, func(h holder) error {
		_, attached := h.policyLists()
		i := slices.Index(*attached, arn)
		if i < 0 {
			return awserr.New(awserr.NoSuchEntity, "Policy %s was not found.", arn)
		}
		*attached = slices.Delete(slices.Clone(*attached), i, i+1)
		return nil
	})
}

// AttachedPolicy names an attached managed policy.
type AttachedPolicy struct {
	Name string
	ARN  string
}

// AttachedPolicies lists the managed policies attached to an entity whose
// path starts with prefix.
func (s *Service) AttachedPolicies(ctx context.Context, account string, k EntityKind, entity, prefix string) ([]AttachedPolicy, error) {
	h, err := s.getHolder(ctx, account, k, entity)
	if err != nil {
		return nil, err
	}
	_, attached := h.policyLists()
	var out []AttachedPolicy
	for _, arn := range *attached {
		acct, path, name, ok := parseEntityARN(arn, kindPolicy)
		if !ok || (prefix != "" && !strings.HasPrefix(path, prefix)) {
			continue
		}
		_ = acct
		out = append(out, AttachedPolicy{Name: name, ARN: arn})
	}
	return out, nil
}

// PolicyEntity is a user, group or role using a managed policy.
type PolicyEntity struct {
	Kind EntityKind
	Name string
	ID   string
}

// EntitiesForPolicy lists the entities of account a managed policy is
// attached to (usage "PermissionsPolicy" or ""), or that use it as their
// permissions boundary ("PermissionsBoundary"). filter is "", User, Role,
// Group, LocalManagedPolicy or AWSManagedPolicy, as IAM's EntityFilter.
func (s *Service) EntitiesForPolicy(ctx context.Context, account, arn, filter, prefix, usage string) ([]PolicyEntity, error) {
	p, _, err := s.policyByARN(ctx, account, arn)
	if err != nil {
		return nil, err
	}
	switch filter {
	case "", "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy":
	default:
		return nil, validation(constraint(filter, "entityFilter", "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]"))
	}
	if filter == "LocalManagedPolicy" && p.AWSManaged() || filter == "AWSManagedPolicy" && !p.AWSManaged() {
		return nil, nil
	}
	boundary := usage == "PermissionsBoundary"
	match := func(attached []string, b string, path string) bool {
		if prefix != "" && !strings.HasPrefix(path, prefix) {
			return false
		}
		if boundary {
			return b == arn
		}
		return slices.Contains(attached, arn)
	}
	var out []PolicyEntity
	if filter == "" || filter == "User" || filter == "LocalManagedPolicy" || filter == "AWSManagedPolicy" {
		for _, u := range s.idx.listUsers(account) {
			if match(u.Attached, u.Boundary, u.Path) {
				out = append(out, PolicyEntity{KindUser, u.Name, u.ID})
			}
		}
	}
	if !boundary && (filter == "" || filter == "Group" || filter == "LocalManagedPolicy" || filter == "AWSManagedPolicy") {
		for _, g := range s.idx.listGroups(account) {
			if match(g.Attached, "", g.Path) {
				out = append(out, PolicyEntity{KindGroup, g.Name, g.ID})
			}
		}
	}
	if filter == "" || filter == "Role" || filter == "LocalManagedPolicy" || filter == "AWSManagedPolicy" {
		for _, r := range s.idx.listRoles(account) {
			if match(r.Attached, r.Boundary, r.Path) {
				out = append(out, PolicyEntity{KindRole, r.Name, r.ID})
			}
		}
	}
	return out, nil
}

// checkBoundary checks that a permissions boundary ARN names a managed
// policy the account can use.
func (s *Service) checkBoundary(ctx context.Context, account, arn string) error {
	if err := checkPolicyARN(arn, "permissionsBoundary"); err != nil {
		return err
	}
	if _, _, err := s.policyByARN(ctx, account, arn); err != nil {
		if awserr.IsType(err, awserr.NoSuchEntity) {
			return awserr.New(awserr.NoSuchEntity, "Scope ARN: %s does not exist or is not attachable.", arn)
		}
		return err
	}
	return nil
}

// PutPermissionsBoundary sets a user's or role's permissions boundary.
func (s *Service) PutPermissionsBoundary(ctx context.Context, account string, k EntityKind, entity, arn string) error {
	if err := s.checkBoundary(ctx, account, arn); err != nil {
		return err
	}
	return s.writeBoundary(ctx, account, k, entity, arn)
}

// DeletePermissionsBoundary removes a user's or role's permissions
// boundary.
func (s *Service) DeletePermissionsBoundary(ctx context.Context, account string, k EntityKind, entity string) error {
	return s.writeBoundary(ctx, account, k, entity, "")
}

func (s *Service) writeBoundary(ctx context.Context, account string, k EntityKind, entity, arn string) error {
	switch k {
	case KindUser:
		if err := checkEntityName(entity, "userName", MaxUserName); err != nil {
			return err
		}
		_, err := mutateUser(ctx, s, account, entity, func(u *User) error {
			if arn == "" && u.Boundary == "" {
				return awserr.New(awserr.NoSuchEntity, "The user with name %s does not have a permissions boundary.", entity)
			}
			u.Boundary = arn
			return nil
		})
		return err
	case KindRole:
		if err := checkEntityName(entity, "roleName", MaxRoleName); err != nil {
			return err
		}
		_, err := mutateRole(ctx, s, account, entity, func(r *Role) error {
			if arn == "" && r.Boundary == "" {
				return awserr.New(awserr.NoSuchEntity, "The role with name %s does not have a permissions boundary.", entity)
			}
			r.Boundary = arn
			return nil
		})
		return err
	}
	return invalidInput("permissions boundaries apply to users and roles")
}
