package api

import (
	"context"
	"strings"

	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
)

// iamOps are the IAM operations Cloister serves. Each authorizes its real
// IAM action on the resource ARN IAM uses before it does anything.
var iamOps = map[string]queryOp{
	// Users
	"CreateUser":   {authzCreateUser, handleCreateUser},
	"GetUser":      {authzUserOrSelf("iam:GetUser"), handleGetUser},
	"ListUsers":    {authzList("iam:ListUsers", "user"), handleListUsers},
	"UpdateUser":   {authzUser("iam:UpdateUser"), handleUpdateUser},
	"DeleteUser":   {authzUser("iam:DeleteUser"), handleDeleteUser},
	"TagUser":      {authzTag(iam.KindUser, "iam:TagUser"), handleTag((*iam.Service).TagUser)},
	"UntagUser":    {authzUntag(iam.KindUser, "iam:UntagUser"), handleUntag((*iam.Service).UntagUser)},
	"ListUserTags": {authzUser("iam:ListUserTags"), handleListUserTags},
	// Access keys
	"CreateAccessKey": {authzUserOrSelf("iam:CreateAccessKey"), handleCreateAccessKey},
	"ListAccessKeys":  {authzUserOrSelf("iam:ListAccessKeys"), handleListAccessKeys},
	"UpdateAccessKey": {authzUserOrSelf("iam:UpdateAccessKey"), handleUpdateAccessKey},
	"DeleteAccessKey": {authzUserOrSelf("iam:DeleteAccessKey"), handleDeleteAccessKey},
	// Groups
	"CreateGroup":         {authzCreateGroup, handleCreateGroup},
	"GetGroup":            {authzGroup("iam:GetGroup"), handleGetGroup},
	"ListGroups":          {authzList("iam:ListGroups", "group"), handleListGroups},
	"UpdateGroup":         {authzGroup("iam:UpdateGroup"), handleUpdateGroup},
	"DeleteGroup":         {authzGroup("iam:DeleteGroup"), handleDeleteGroup},
	"AddUserToGroup":      {authzGroup("iam:AddUserToGroup"), handleAddUserToGroup},
	"RemoveUserFromGroup": {authzGroup("iam:RemoveUserFromGroup"), handleRemoveUserFromGroup},
	"ListGroupsForUser":   {authzUser("iam:ListGroupsForUser"), handleListGroupsForUser},
	// Roles
	"CreateRole":             {authzCreateRole, handleCreateRole},
	"GetRole":                {authzRole("iam:GetRole"), handleGetRole},
	"ListRoles":              {authzList("iam:ListRoles", "role"), handleListRoles},
	"UpdateRole":             {authzRole("iam:UpdateRole"), handleUpdateRole},
	"UpdateAssumeRolePolicy": {authzRole("iam:UpdateAssumeRolePolicy"), handleUpdateAssumeRolePolicy},
	"DeleteRole":             {authzRole("iam:DeleteRole"), handleDeleteRole},
	"TagRole":                {authzTag(iam.KindRole, "iam:TagRole"), handleTag((*iam.Service).TagRole)},
	"UntagRole":              {authzUntag(iam.KindRole, "iam:UntagRole"), handleUntag((*iam.Service).UntagRole)},
	"ListRoleTags":           {authzRole("iam:ListRoleTags"), handleListRoleTags},
	// Inline policies
	"PutUserPolicy":     {authzEntity(iam.KindUser, "iam:PutUserPolicy", ""), handlePutInline(iam.KindUser)},
	"GetUserPolicy":     {authzEntity(iam.KindUser, "iam:GetUserPolicy", ""), handleGetInline(iam.KindUser)},
	"ListUserPolicies":  {authzEntity(iam.KindUser, "iam:ListUserPolicies", ""), handleListInline(iam.KindUser)},
	"DeleteUserPolicy":  {authzEntity(iam.KindUser, "iam:DeleteUserPolicy", ""), handleDeleteInline(iam.KindUser)},
	"PutGroupPolicy":    {authzEntity(iam.KindGroup, "iam:PutGroupPolicy", ""), handlePutInline(iam.KindGroup)},
	"GetGroupPolicy":    {authzEntity(iam.KindGroup, "iam:GetGroupPolicy", ""), handleGetInline(iam.KindGroup)},
	"ListGroupPolicies": {authzEntity(iam.KindGroup, "iam:ListGroupPolicies", ""), handleListInline(iam.KindGroup)},
	"DeleteGroupPolicy": {authzEntity(iam.KindGroup, "iam:DeleteGroupPolicy", ""), handleDeleteInline(iam.KindGroup)},
	"PutRolePolicy":     {authzEntity(iam.KindRole, "iam:PutRolePolicy", ""), handlePutInline(iam.KindRole)},
	"GetRolePolicy":     {authzEntity(iam.KindRole, "iam:GetRolePolicy", ""), handleGetInline(iam.KindRole)},
	"ListRolePolicies":  {authzEntity(iam.KindRole, "iam:ListRolePolicies", ""), handleListInline(iam.KindRole)},
	"DeleteRolePolicy":  {authzEntity(iam.KindRole, "iam:DeleteRolePolicy", ""), handleDeleteInline(iam.KindRole)},
	// Managed policies
	"CreatePolicy":            {authzCreatePolicy, handleCreatePolicy},
	"GetPolicy":               {authzPolicy("iam:GetPolicy"), handleGetPolicy},
	"ListPolicies":            {authzList("iam:ListPolicies", "policy"), handleListPolicies},
	"DeletePolicy":            {authzPolicy("iam:DeletePolicy"), handleDeletePolicy},
	"CreatePolicyVersion":     {authzPolicy("iam:CreatePolicyVersion"), handleCreatePolicyVersion},
	"GetPolicyVersion":        {authzPolicy("iam:GetPolicyVersion"), handleGetPolicyVersion},
	"ListPolicyVersions":      {authzPolicy("iam:ListPolicyVersions"), handleListPolicyVersions},
	"DeletePolicyVersion":     {authzPolicy("iam:DeletePolicyVersion"), handleDeletePolicyVersion},
	"SetDefaultPolicyVersion": {authzPolicy("iam:SetDefaultPolicyVersion"), handleSetDefaultPolicyVersion},
	"ListEntitiesForPolicy":   {authzPolicy("iam:ListEntitiesForPolicy"), handleListEntitiesForPolicy},
	// Attachments and boundaries
	"AttachUserPolicy":              {authzEntity(iam.KindUser, "iam:AttachUserPolicy", "PolicyArn"), handleAttach(iam.KindUser)},
	"AttachGroupPolicy":             {authzEntity(iam.KindGroup, "iam:AttachGroupPolicy", "PolicyArn"), handleAttach(iam.KindGroup)},
	"AttachRolePolicy":              {authzEntity(iam.KindRole, "iam:AttachRolePolicy", "PolicyArn"), handleAttach(iam.KindRole)},
	"DetachUserPolicy":              {authzEntity(iam.KindUser, "iam:DetachUserPolicy", "PolicyArn"), handleDetach(iam.KindUser)},
	"DetachGroupPolicy":             {authzEntity(iam.KindGroup, "iam:DetachGroupPolicy", "PolicyArn"), handleDetach(iam.KindGroup)},
	"DetachRolePolicy":              {authzEntity(iam.KindRole, "iam:DetachRolePolicy", "PolicyArn"), handleDetach(iam.KindRole)},
	"ListAttachedUserPolicies":      {authzEntity(iam.KindUser, "iam:ListAttachedUserPolicies", ""), handleListAttached(iam.KindUser)},
	"ListAttachedGroupPolicies":     {authzEntity(iam.KindGroup, "iam:ListAttachedGroupPolicies", ""), handleListAttached(iam.KindGroup)},
	"ListAttachedRolePolicies":      {authzEntity(iam.KindRole, "iam:ListAttachedRolePolicies", ""), handleListAttached(iam.KindRole)},
	"PutUserPermissionsBoundary":    {authzEntity(iam.KindUser, "iam:PutUserPermissionsBoundary", "PermissionsBoundary"), handlePutBoundary(iam.KindUser)},
	"DeleteUserPermissionsBoundary": {authzEntity(iam.KindUser, "iam:DeleteUserPermissionsBoundary", "current-boundary"), handleDeleteBoundary(iam.KindUser)},
	"PutRolePermissionsBoundary":    {authzEntity(iam.KindRole, "iam:PutRolePermissionsBoundary", "PermissionsBoundary"), handlePutBoundary(iam.KindRole)},
	"DeleteRolePermissionsBoundary": {authzEntity(iam.KindRole, "iam:DeleteRolePermissionsBoundary", "current-boundary"), handleDeleteBoundary(iam.KindRole)},
	// Account-wide views and the policy simulator
	"GetAccountAuthorizationDetails": {authzAccount("iam:GetAccountAuthorizationDetails"), handleAuthorizationDetails},
	"SimulatePrincipalPolicy":        {authzSimulatePrincipal, handleSimulate},
	"SimulateCustomPolicy":           {authzAccount("iam:SimulateCustomPolicy"), handleSimulate},
}

func (q *qcall) ids() *iam.Service { return q.s.cfg.IAM }

// userARN is the ARN of the user named name, with its path when it exists
// (IAM authorizes against the actual user), and its tags as
// aws:ResourceTag keys.
func (q *qcall) userARN(name string) (string, map[string][]string) {
	keys := map[string][]string{}
	if u := q.ids().LookupUser(q.account, name); u != nil {
		addResourceTags(keys, u.Tags)
		return u.ARN(), keys
	}
	return iam.EntityARN(q.account, "user", "/", name), keys
}

func (q *qcall) groupARN(name string) string {
	if g := q.ids().LookupGroup(q.account, name); g != nil {
		return g.ARN()
	}
	return iam.EntityARN(q.account, "group", "/", name)
}

func (q *qcall) roleARN(name string) (string, map[string][]string) {
	keys := map[string][]string{}
	if r := q.ids().LookupRole(q.account, name); r != nil {
		addResourceTags(keys, r.Tags)
		return r.ARN(), keys
	}
	return iam.EntityARN(q.account, "role", "/", name), keys
}

func addResourceTags(keys map[string][]string, tags []iam.Tag) {
	for _, t := range tags {
		keys["aws:ResourceTag/"+t.Key] = []string{t.Value}
	}
}

// addRequestTags sets aws:RequestTag/KEY and aws:TagKeys for tags a
// request sets.
func addRequestTags(keys map[string][]string, tags []iam.Tag) {
	if len(tags) == 0 {
		return
	}
	names := make([]string, len(tags))
	for i, t := range tags {
		keys["aws:RequestTag/"+t.Key] = []string{t.Value}
		names[i] = t.Key
	}
	keys["aws:TagKeys"] = names
}

// tags reads a Tags.member.N.Key/Value list.
func (q *qcall) tags(prefix string) ([]iam.Tag, error) {
	items, err := q.p.structs(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]iam.Tag, len(items))
	for i, it := range items {
		if !q.p.has(it + "Key") {
			return nil, awserr.New(awserr.Validation, "1 validation error detected: Value null at '%skey' failed to satisfy constraint: Member must not be null", lowerFirst(it))
		}
		out[i] = iam.Tag{Key: q.p.get(it + "Key"), Value: q.p.get(it + "Value")}
	}
	return out, nil
}

// nameParam names the entity parameter of an operation on kind k.
func nameParam(k iam.EntityKind) string {
	switch k {
	case iam.KindGroup:
		return "GroupName"
	case iam.KindRole:
		return "RoleName"
	}
	return "UserName"
}

// entityARN is the resource ARN of an entity of kind k.
func (q *qcall) entityARN(k iam.EntityKind, name string) (string, map[string][]string) {
	switch k {
	case iam.KindGroup:
		return q.groupARN(name), map[string][]string{}
	case iam.KindRole:
		return q.roleARN(name)
	}
	return q.userARN(name)
}

// authzEntity authorizes an operation on the user, group or role the
// request names. policyKey names the parameter that sets iam:PolicyARN
// ("PolicyArn") or iam:PermissionsBoundary ("PermissionsBoundary"), or
// "current-boundary" for the entity's own boundary.
func authzEntity(k iam.EntityKind, action, policyKey string) func(q *qcall) error {
	return func(q *qcall) error {
		param := nameParam(k)
		if err := q.p.required(param); err != nil {
			return err
		}
		q.name = q.p.get(param)
		arn, keys := q.entityARN(k, q.name)
		switch policyKey {
		case "PolicyArn":
			if err := q.p.required("PolicyArn"); err != nil {
				return err
			}
			keys["iam:PolicyARN"] = []string{q.p.get("PolicyArn")}
		case "PermissionsBoundary":
			if err := q.p.required("PermissionsBoundary"); err != nil {
				return err
			}
			keys["iam:PermissionsBoundary"] = []string{q.p.get("PermissionsBoundary")}
		case "current-boundary":
			if b := q.currentBoundary(k, q.name); b != "" {
				keys["iam:PermissionsBoundary"] = []string{b}
			}
		}
		return q.authorize(action, arn, "", keys, nil)
	}
}

// authzTag authorizes tagging a user or role: the request's tags are
// condition keys (aws:RequestTag/..., aws:TagKeys).
func authzTag(k iam.EntityKind, action string) func(q *qcall) error {
	return func(q *qcall) error {
		param := nameParam(k)
		if err := q.p.required(param); err != nil {
			return err
		}
		tags, err := q.tags("Tags")
		if err != nil {
			return err
		}
		if len(tags) == 0 {
			return awserr.New(awserr.Validation, "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
		}
		q.name = q.p.get(param)
		arn, keys := q.entityARN(k, q.name)
		addRequestTags(keys, tags)
		return q.authorize(action, arn, "", keys, nil)
	}
}

// authzUntag authorizes untagging a user or role: the keys removed are
// aws:TagKeys.
func authzUntag(k iam.EntityKind, action string) func(q *qcall) error {
	return func(q *qcall) error {
		param := nameParam(k)
		if err := q.p.required(param); err != nil {
			return err
		}
		tagKeys, err := q.p.list("TagKeys")
		if err != nil {
			return err
		}
		q.name = q.p.get(param)
		arn, keys := q.entityARN(k, q.name)
		if len(tagKeys) > 0 {
			keys["aws:TagKeys"] = tagKeys
		}
		return q.authorize(action, arn, "", keys, nil)
	}
}

func handleTag(tag func(*iam.Service, context.Context, string, string, []iam.Tag) error) func(q *qcall) error {
	return func(q *qcall) error {
		tags, err := q.tags("Tags")
		if err != nil {
			return err
		}
		if err := tag(q.ids(), q.ctx, q.account, q.name, tags); err != nil {
			return err
		}
		return q.done()
	}
}

func handleUntag(untag func(*iam.Service, context.Context, string, string, []string) error) func(q *qcall) error {
	return func(q *qcall) error {
		keys, err := q.p.list("TagKeys")
		if err != nil {
			return err
		}
		if err := untag(q.ids(), q.ctx, q.account, q.name, keys); err != nil {
			return err
		}
		return q.done()
	}
}

func (q *qcall) currentBoundary(k iam.EntityKind, name string) string {
	switch k {
	case iam.KindUser:
		if u := q.ids().LookupUser(q.account, name); u != nil {
			return u.Boundary
		}
	case iam.KindRole:
		if r := q.ids().LookupRole(q.account, name); r != nil {
			return r.Boundary
		}
	}
	return ""
}

func authzUser(action string) func(q *qcall) error  { return authzEntity(iam.KindUser, action, "") }
func authzGroup(action string) func(q *qcall) error { return authzEntity(iam.KindGroup, action, "") }
func authzRole(action string) func(q *qcall) error  { return authzEntity(iam.KindRole, action, "") }

// authzList authorizes a List operation on the path the request lists, as
// IAM does (arn:aws:iam::ACCOUNT:user/ for all users).
func authzList(action, kind string) func(q *qcall) error {
	return func(q *qcall) error {
		prefix := q.p.get("PathPrefix")
		if err := iam.CheckPathPrefix(prefix); err != nil {
			return err
		}
		if prefix == "" {
			prefix = "/"
		}
		return q.authorize(action, "arn:aws:iam::"+q.account+":"+kind+prefix, "", nil, nil)
	}
}

// authzAccount authorizes an account-wide operation (resource "*").
func authzAccount(action string) func(q *qcall) error {
	return func(q *qcall) error { return q.authorize(action, "*", "", nil, nil) }
}

// authzPolicy authorizes an operation on the managed policy PolicyArn.
// AWS managed policies belong to no account: reading them is decided by
// the caller's own policies.
func authzPolicy(action string) func(q *qcall) error {
	return func(q *qcall) error {
		if err := q.p.required("PolicyArn"); err != nil {
			return err
		}
		q.arn = q.p.get("PolicyArn")
		return q.authorize(action, q.arn, policyAccount(q.arn, q.account), nil, nil)
	}
}

// policyAccount is the account that owns a policy ARN, for authorization:
// the ARN's account, or the caller's for AWS managed policies and ARNs
// that name no account.
func policyAccount(policyARN, caller string) string {
	if a := arn.Account(policyARN); a != "" && a != "aws" {
		return a
	}
	return caller
}

// encodeDoc encodes a policy document as IAM returns it: URL-encoded
// (RFC 3986), which the AWS CLI decodes and SDK users unescape.
func encodeDoc(doc string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(doc) * 3 / 2)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// withParam runs op with the value of a required parameter and answers
// with IAM's empty result: the shape of the actions that take one
// parameter besides the entity they act on.
func withParam(q *qcall, param string, op func(value string) error) error {
	if err := q.p.required(param); err != nil {
		return err
	}
	if err := op(q.p.get(param)); err != nil {
		return err
	}
	return q.done()
}
