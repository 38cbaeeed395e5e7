package api_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

const iamLambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestIAMRoles(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	c := e.iam(e.rootCreds())
	out, err := c.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("exec"), Path: aws.String("/service-role/"),
		AssumeRolePolicyDocument: aws.String(iamLambdaTrust), Description: aws.String("runs functions"), MaxSessionDuration: aws.Int32(7200),
		Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Role
	if aws.ToString(r.Arn) != "arn:aws:iam::"+e.mgmt+":role/service-role/exec" || aws.ToString(r.RoleId)[:4] != "AROA" || aws.ToInt32(r.MaxSessionDuration) != 7200 {
		t.Fatalf("CreateRole = %+v", r)
	}
	if doc := iamDecodeDoc(t, r.AssumeRolePolicyDocument); doc != iamLambdaTrust {
		t.Fatalf("trust document %q", doc)
	}
	got, err := c.GetRole(iamCtx, &iamsdk.GetRoleInput{RoleName: aws.String("exec")})
	if err != nil || aws.ToString(got.Role.Description) != "runs functions" || len(got.Role.Tags) != 1 {
		t.Fatalf("GetRole: %v %+v", err, got)
	}
	if _, err := c.UpdateRole(iamCtx, &iamsdk.UpdateRoleInput{RoleName: aws.String("exec"), Description: aws.String("new"), MaxSessionDuration: aws.Int32(3600)}); err != nil {
		t.Fatal(err)
	}
	newTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + e.mgmt + `:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := c.UpdateAssumeRolePolicy(iamCtx, &iamsdk.UpdateAssumeRolePolicyInput{RoleName: aws.String("exec"), PolicyDocument: aws.String(newTrust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagRole(iamCtx, &iamsdk.TagRoleInput{RoleName: aws.String("exec"), Tags: []types.Tag{{Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagRole(iamCtx, &iamsdk.UntagRoleInput{RoleName: aws.String("exec"), TagKeys: []string{"app"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListRoleTags(iamCtx, &iamsdk.ListRoleTagsInput{RoleName: aws.String("exec")})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "b" {
		t.Fatalf("ListRoleTags: %v %+v", err, tags)
	}
	got, err = c.GetRole(iamCtx, &iamsdk.GetRoleInput{RoleName: aws.String("exec")})
	if err != nil || aws.ToString(got.Role.Description) != "new" || aws.ToInt32(got.Role.MaxSessionDuration) != 3600 || iamDecodeDoc(t, got.Role.AssumeRolePolicyDocument) != newTrust {
		t.Fatalf("after updates: %v %+v", err, got)
	}
	list, err := c.ListRoles(iamCtx, &iamsdk.ListRolesInput{PathPrefix: aws.String("/service-role/")})
	if err != nil || len(list.Roles) != 1 {
		t.Fatalf("ListRoles: %v %+v", err, list)
	}
	_, err = c.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("EXEC"), AssumeRolePolicyDocument: aws.String(iamLambdaTrust)})
	iamWantErr(t, err, 409, "EntityAlreadyExists", "Role with name EXEC already exists.")
	_, err = c.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("bad"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)})
	iamWantErr(t, err, 400, "MalformedPolicyDocument", "...")
	_, err = c.GetRole(iamCtx, &iamsdk.GetRoleInput{RoleName: aws.String("none")})
	iamWantErr(t, err, 404, "NoSuchEntity", "The role with name none cannot be found.")
	if _, err := c.PutRolePolicy(iamCtx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("exec"), PolicyName: aws.String("p"), PolicyDocument: aws.String(iamPolicy("Allow", `"*"`, `"*"`))}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteRole(iamCtx, &iamsdk.DeleteRoleInput{RoleName: aws.String("exec")})
	iamWantErr(t, err, 409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	if _, err := c.DeleteRolePolicy(iamCtx, &iamsdk.DeleteRolePolicyInput{RoleName: aws.String("exec"), PolicyName: aws.String("p")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteRole(iamCtx, &iamsdk.DeleteRoleInput{RoleName: aws.String("exec")}); err != nil {
		t.Fatal(err)
	}
}

func TestIAMInlinePolicies(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	c := e.iam(e.rootCreds())
	doc := iamPolicy("Allow", `["lambda:Get*","lambda:List*"]`, `"*"`)
	if _, err := c.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(iamCtx, &iamsdk.CreateGroupInput{GroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(iamLambdaTrust)}); err != nil {
		t.Fatal(err)
	}
	type api struct {
		put    func(name string) error
		get    func(name string) (string, error)
		list   func() ([]string, error)
		delete func(name string) error
	}
	apis := map[string]api{
		"user": {
			put: func(n string) error {
				_, err := c.PutUserPolicy(iamCtx, &iamsdk.PutUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String(n), PolicyDocument: aws.String(doc)})
				return err
			},
			get: func(n string) (string, error) {
				o, err := c.GetUserPolicy(iamCtx, &iamsdk.GetUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String(n)})
				if err != nil {
					return "", err
				}
				return iamDecodeDoc(t, o.PolicyDocument), nil
			},
			list: func() ([]string, error) {
				o, err := c.ListUserPolicies(iamCtx, &iamsdk.ListUserPoliciesInput{UserName: aws.String("u")})
				if err != nil {
					return nil, err
				}
				return o.PolicyNames, nil
			},
			delete: func(n string) error {
				_, err := c.DeleteUserPolicy(iamCtx, &iamsdk.DeleteUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String(n)})
				return err
			},
		},
		"group": {
			put: func(n string) error {
				_, err := c.PutGroupPolicy(iamCtx, &iamsdk.PutGroupPolicyInput{GroupName: aws.String("g"), PolicyName: aws.String(n), PolicyDocument: aws.String(doc)})
				return err
			},
			get: func(n string) (string, error) {
				o, err := c.GetGroupPolicy(iamCtx, &iamsdk.GetGroupPolicyInput{GroupName: aws.String("g"), PolicyName: aws.String(n)})
				if err != nil {
					return "", err
				}
				return iamDecodeDoc(t, o.PolicyDocument), nil
			},
			list: func() ([]string, error) {
				o, err := c.ListGroupPolicies(iamCtx, &iamsdk.ListGroupPoliciesInput{GroupName: aws.String("g")})
				if err != nil {
					return nil, err
				}
				return o.PolicyNames, nil
			},
			delete: func(n string) error {
				_, err := c.DeleteGroupPolicy(iamCtx, &iamsdk.DeleteGroupPolicyInput{GroupName: aws.String("g"), PolicyName: aws.String(n)})
				return err
			},
		},
		"role": {
			put: func(n string) error {
				_, err := c.PutRolePolicy(iamCtx, &iamsdk.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String(n), PolicyDocument: aws.String(doc)})
				return err
			},
			get: func(n string) (string, error) {
				o, err := c.GetRolePolicy(iamCtx, &iamsdk.GetRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String(n)})
				if err != nil {
					return "", err
				}
				return iamDecodeDoc(t, o.PolicyDocument), nil
			},
			list: func() ([]string, error) {
				o, err := c.ListRolePolicies(iamCtx, &iamsdk.ListRolePoliciesInput{RoleName: aws.String("r")})
				if err != nil {
					return nil, err
				}
				return o.PolicyNames, nil
			},
			delete: func(n string) error {
				_, err := c.DeleteRolePolicy(iamCtx, &iamsdk.DeleteRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String(n)})
				return err
			},
		},
	}
	for kind, a := range apis {
		t.Run(kind, func(t *testing.T) {
			for _, n := range []string{"b", "a"} {
				if err := a.put(n); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := a.get("a"); err != nil || got != doc {
				t.Fatalf("get: %v %q", err, got)
			}
			if names, err := a.list(); err != nil || !slices.Equal(names, []string{"a", "b"}) {
				t.Fatalf("list: %v %v", err, names)
			}
			if err := a.delete("a"); err != nil {
				t.Fatal(err)
			}
			_, err := a.get("a")
			iamWantErr(t, err, 404, "NoSuchEntity", "The "+kind+" policy with name a cannot be found.")
			iamWantErr(t, a.delete("a"), 404, "NoSuchEntity", "The "+kind+" policy with name a cannot be found.")
		})
	}
	_, err := c.PutUserPolicy(iamCtx, &iamsdk.PutUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}`)})
	iamWantErr(t, err, 400, "MalformedPolicyDocument", "...")
	_, err = c.PutUserPolicy(iamCtx, &iamsdk.PutUserPolicyInput{UserName: aws.String("nobody"), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)})
	iamWantErr(t, err, 404, "NoSuchEntity", "The user with name nobody cannot be found.")
}

func TestIAMManagedPolicies(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	c := e.iam(e.rootCreds())
	A := e.mgmt
	v1 := iamPolicy("Allow", `"lambda:Get*"`, `"*"`)
	v2 := iamPolicy("Allow", `"lambda:*"`, `"*"`)
	out, err := c.CreatePolicy(iamCtx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("Dev"), Path: aws.String("/team/"), PolicyDocument: aws.String(v1), Description: aws.String("devs")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Policy.Arn)
	if arn != "arn:aws:iam::"+A+":policy/team/Dev" || aws.ToString(out.Policy.DefaultVersionId) != "v1" || aws.ToString(out.Policy.PolicyId)[:4] != "ANPA" {
		t.Fatalf("CreatePolicy = %+v", out.Policy)
	}
	_, err = c.CreatePolicy(iamCtx, &iamsdk.CreatePolicyInput{PolicyName: aws.String("dev"), PolicyDocument: aws.String(v1)})
	iamWantErr(t, err, 409, "EntityAlreadyExists", "A policy called dev already exists. Duplicate names are not allowed.")
	pv, err := c.CreatePolicyVersion(iamCtx, &iamsdk.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: aws.String(v2), SetAsDefault: true})
	if err != nil || aws.ToString(pv.PolicyVersion.VersionId) != "v2" || !pv.PolicyVersion.IsDefaultVersion {
		t.Fatalf("CreatePolicyVersion: %v %+v", err, pv)
	}
	gv, err := c.GetPolicyVersion(iamCtx, &iamsdk.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
	if err != nil || iamDecodeDoc(t, gv.PolicyVersion.Document) != v1 || gv.PolicyVersion.IsDefaultVersion {
		t.Fatalf("GetPolicyVersion: %v %+v", err, gv)
	}
	lv, err := c.ListPolicyVersions(iamCtx, &iamsdk.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	if err != nil || len(lv.Versions) != 2 || aws.ToString(lv.Versions[0].VersionId) != "v2" {
		t.Fatalf("ListPolicyVersions: %v %+v", err, lv)
	}
	if _, err := c.SetDefaultPolicyVersion(iamCtx, &iamsdk.SetDefaultPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeletePolicyVersion(iamCtx, &iamsdk.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v2")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeletePolicyVersion(iamCtx, &iamsdk.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
	iamWantErr(t, err, 409, "DeleteConflict", "Cannot delete the default version of a policy.")

	// Attach to a user, a group and a role, list, count, detach.
	if _, err := c.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(iamCtx, &iamsdk.CreateGroupInput{GroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(iamLambdaTrust)}); err != nil {
		t.Fatal(err)
	}
	admin := "arn:aws:iam::aws:policy/AdministratorAccess"
	steps := []func() error{
		func() error {
			_, err := c.AttachUserPolicy(iamCtx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("u"), PolicyArn: aws.String(arn)})
			return err
		},
		func() error {
			_, err := c.AttachGroupPolicy(iamCtx, &iamsdk.AttachGroupPolicyInput{GroupName: aws.String("g"), PolicyArn: aws.String(arn)})
			return err
		},
		func() error {
			_, err := c.AttachRolePolicy(iamCtx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)})
			return err
		},
		func() error {
			_, err := c.AttachRolePolicy(iamCtx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(admin)})
			return err
		},
		func() error {
			_, err := c.PutRolePermissionsBoundary(iamCtx, &iamsdk.PutRolePermissionsBoundaryInput{RoleName: aws.String("r"), PermissionsBoundary: aws.String(arn)})
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	gp, err := c.GetPolicy(iamCtx, &iamsdk.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil || aws.ToInt32(gp.Policy.AttachmentCount) != 3 || aws.ToInt32(gp.Policy.PermissionsBoundaryUsageCount) != 1 || aws.ToString(gp.Policy.Description) != "devs" {
		t.Fatalf("GetPolicy: %v %+v", err, gp)
	}
	ents, err := c.ListEntitiesForPolicy(iamCtx, &iamsdk.ListEntitiesForPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil || len(ents.PolicyUsers) != 1 || len(ents.PolicyGroups) != 1 || len(ents.PolicyRoles) != 1 {
		t.Fatalf("ListEntitiesForPolicy: %v %+v", err, ents)
	}
	ar, err := c.ListAttachedRolePolicies(iamCtx, &iamsdk.ListAttachedRolePoliciesInput{RoleName: aws.String("r")})
	if err != nil {
		t.Fatal(err)
	}
	var attached []string
	for _, p := range ar.AttachedPolicies {
		attached = append(attached, aws.ToString(p.PolicyName)+"="+aws.ToString(p.PolicyArn))
	}
	if diff := cmp.Diff([]string{"Dev=" + arn, "AdministratorAccess=" + admin}, attached); diff != "" {
		t.Fatalf("ListAttachedRolePolicies (-want +got):\n%s", diff)
	}
	au, err := c.ListAttachedUserPolicies(iamCtx, &iamsdk.ListAttachedUserPoliciesInput{UserName: aws.String("u")})
	if err != nil || len(au.AttachedPolicies) != 1 || aws.ToString(au.AttachedPolicies[0].PolicyArn) != arn {
		t.Fatalf("ListAttachedUserPolicies: %v %+v", err, au)
	}
	ag, err := c.ListAttachedGroupPolicies(iamCtx, &iamsdk.ListAttachedGroupPoliciesInput{GroupName: aws.String("g"), PathPrefix: aws.String("/other/")})
	if err != nil || len(ag.AttachedPolicies) != 0 {
		t.Fatalf("ListAttachedGroupPolicies with another path: %v %+v", err, ag)
	}
	role, err := c.GetRole(iamCtx, &iamsdk.GetRoleInput{RoleName: aws.String("r")})
	if err != nil || role.Role.PermissionsBoundary == nil || aws.ToString(role.Role.PermissionsBoundary.PermissionsBoundaryArn) != arn {
		t.Fatalf("GetRole boundary: %v %+v", err, role)
	}
	_, err = c.DeletePolicy(iamCtx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String(arn)})
	iamWantErr(t, err, 409, "DeleteConflict", "Cannot delete a policy attached to entities.")
	aws1, err := c.ListPolicies(iamCtx, &iamsdk.ListPoliciesInput{Scope: types.PolicyScopeTypeAws})
	if err != nil || len(aws1.Policies) < 6 {
		t.Fatalf("ListPolicies AWS: %v %d", err, len(aws1.Policies))
	}
	local, err := c.ListPolicies(iamCtx, &iamsdk.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal})
	if err != nil || len(local.Policies) != 1 {
		t.Fatalf("ListPolicies Local: %v %+v", err, local)
	}
	onlyAttached, err := c.ListPolicies(iamCtx, &iamsdk.ListPoliciesInput{OnlyAttached: true})
	if err != nil || len(onlyAttached.Policies) != 2 {
		t.Fatalf("ListPolicies OnlyAttached: %v %+v", err, onlyAttached)
	}
	lambdaRole, err := c.GetPolicy(iamCtx, &iamsdk.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")})
	if err != nil || aws.ToString(lambdaRole.Policy.Path) != "/service-role/" {
		t.Fatalf("AWS managed policy: %v %+v", err, lambdaRole)
	}
	_, err = c.GetPolicy(iamCtx, &iamsdk.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::" + A + ":policy/Nope")})
	iamWantErr(t, err, 404, "NoSuchEntity", "Policy arn:aws:iam::"+A+":policy/Nope does not exist or is not attachable.")

	undo := []func() error{
		func() error {
			_, err := c.DetachUserPolicy(iamCtx, &iamsdk.DetachUserPolicyInput{UserName: aws.String("u"), PolicyArn: aws.String(arn)})
			return err
		},
		func() error {
			_, err := c.DetachGroupPolicy(iamCtx, &iamsdk.DetachGroupPolicyInput{GroupName: aws.String("g"), PolicyArn: aws.String(arn)})
			return err
		},
		func() error {
			_, err := c.DetachRolePolicy(iamCtx, &iamsdk.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(arn)})
			return err
		},
		func() error {
			_, err := c.DeleteRolePermissionsBoundary(iamCtx, &iamsdk.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("r")})
			return err
		},
		func() error {
			_, err := c.DeletePolicy(iamCtx, &iamsdk.DeletePolicyInput{PolicyArn: aws.String(arn)})
			return err
		},
	}
	for _, s := range undo {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.DetachUserPolicy(iamCtx, &iamsdk.DetachUserPolicyInput{UserName: aws.String("u"), PolicyArn: aws.String(arn)})
	iamWantErr(t, err, 404, "NoSuchEntity", "Policy "+arn+" was not found.")
	_, err = c.DeleteUserPermissionsBoundary(iamCtx, &iamsdk.DeleteUserPermissionsBoundaryInput{UserName: aws.String("u")})
	iamWantErr(t, err, 404, "NoSuchEntity", "...")
	if _, err := c.PutUserPermissionsBoundary(iamCtx, &iamsdk.PutUserPermissionsBoundaryInput{UserName: aws.String("u"), PermissionsBoundary: aws.String(admin)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteUserPermissionsBoundary(iamCtx, &iamsdk.DeleteUserPermissionsBoundaryInput{UserName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
}

func TestIAMAuthorizationDetailsAndSimulation(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	c := e.iam(e.rootCreds())
	e.user("reader", iamPolicy("Allow", `["lambda:Get*","lambda:List*"]`, `"*"`), iamPolicy("Deny", `"lambda:GetPolicy"`, `"*"`))
	if _, err := c.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(iamLambdaTrust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachRolePolicy(iamCtx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateGroup(iamCtx, &iamsdk.CreateGroupInput{GroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddUserToGroup(iamCtx, &iamsdk.AddUserToGroupInput{GroupName: aws.String("g"), UserName: aws.String("reader")}); err != nil {
		t.Fatal(err)
	}
	d, err := c.GetAccountAuthorizationDetails(iamCtx, &iamsdk.GetAccountAuthorizationDetailsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.UserDetailList) != 1 || len(d.UserDetailList[0].UserPolicyList) != 2 || !slices.Equal(d.UserDetailList[0].GroupList, []string{"g"}) ||
		len(d.RoleDetailList) != 1 || len(d.RoleDetailList[0].AttachedManagedPolicies) != 1 || len(d.GroupDetailList) != 1 || len(d.Policies) != 1 {
		t.Fatalf("GetAccountAuthorizationDetails = %+v", d)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(iamDecodeDoc(t, d.RoleDetailList[0].AssumeRolePolicyDocument)), &doc); err != nil {
		t.Fatalf("trust document: %v", err)
	}
	roles, err := c.GetAccountAuthorizationDetails(iamCtx, &iamsdk.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeRole}})
	if err != nil || len(roles.UserDetailList) != 0 || len(roles.RoleDetailList) != 1 {
		t.Fatalf("filtered details: %v %+v", err, roles)
	}

	sim, err := c.SimulatePrincipalPolicy(iamCtx, &iamsdk.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::" + e.mgmt + ":user/reader"),
		ActionNames:     []string{"lambda:GetFunction", "lambda:GetPolicy", "lambda:DeleteFunction"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var decisions []string
	for _, r := range sim.EvaluationResults {
		decisions = append(decisions, aws.ToString(r.EvalActionName)+"="+string(r.EvalDecision))
	}
	want := []string{"lambda:GetFunction=allowed", "lambda:GetPolicy=explicitDeny", "lambda:DeleteFunction=implicitDeny"}
	if diff := cmp.Diff(want, decisions); diff != "" {
		t.Fatalf("SimulatePrincipalPolicy (-want +got):\n%s", diff)
	}
	if len(sim.EvaluationResults[0].MatchedStatements) != 1 || aws.ToString(sim.EvaluationResults[0].MatchedStatements[0].SourcePolicyId) != "p0" {
		t.Errorf("matched statements %+v", sim.EvaluationResults[0].MatchedStatements)
	}
	custom, err := c.SimulateCustomPolicy(iamCtx, &iamsdk.SimulateCustomPolicyInput{
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}`},
		ActionNames:     []string{"lambda:InvokeFunction"},
		ResourceArns:    []string{"arn:aws:lambda:us-east-1:" + e.mgmt + ":function:f"},
		ContextEntries: []types.ContextEntry{{ContextKeyName: aws.String("aws:PrincipalTag/team"), ContextKeyValues: []string{"blue"},
			ContextKeyType: types.ContextKeyTypeEnumString}},
	})
	if err != nil || len(custom.EvaluationResults) != 1 || custom.EvaluationResults[0].EvalDecision != types.PolicyEvaluationDecisionTypeAllowed {
		t.Fatalf("SimulateCustomPolicy: %v %+v", err, custom)
	}
	_, err = c.SimulatePrincipalPolicy(iamCtx, &iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + e.mgmt + ":user/nobody"), ActionNames: []string{"lambda:GetFunction"}})
	iamWantErr(t, err, 404, "NoSuchEntity", "...")
	_, err = c.SimulateCustomPolicy(iamCtx, &iamsdk.SimulateCustomPolicyInput{PolicyInputList: []string{"{"}, ActionNames: []string{"lambda:GetFunction"}})
	iamWantErr(t, err, 400, "MalformedPolicyDocument", "...")
}
