package api_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	orgssdk "github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	stssdk "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cloister/cloister/internal/adminclient"
)

// TestLeastPrivilege gives users narrow policies and checks that each may
// do exactly what its policies say, in IAM and in Lambda.
func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	A := e.mgmt
	denied := func(who, action, resource, reason string) string {
		return "User: arn:aws:iam::" + A + ":user/" + who + " is not authorized to perform: " + action + " on resource: " + resource + " " + reason
	}
	// admin may manage users under /team/ only.
	admin := e.user("admin", iamPolicy("Allow", `["iam:CreateUser","iam:GetUser","iam:DeleteUser","iam:TagUser"]`, `"arn:aws:iam::`+A+`:user/team/*"`),
		iamPolicy("Allow", `"iam:ListUsers"`, `"*"`))
	ac := e.iam(admin)
	if _, err := ac.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("t1"), Path: aws.String("/team/")}); err != nil {
		t.Fatalf("CreateUser in /team/: %v", err)
	}
	_, err := ac.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("t2")})
	iamWantErr(t, err, 403, "AccessDenied", denied("admin", "iam:CreateUser", "arn:aws:iam::"+A+":user/t2", "because no identity-based policy allows the iam:CreateUser action"))
	if _, err := ac.ListUsers(iamCtx, &iamsdk.ListUsersInput{}); err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	_, err = ac.GetUser(iamCtx, &iamsdk.GetUserInput{UserName: aws.String("admin")})
	iamWantErr(t, err, 403, "AccessDenied", denied("admin", "iam:GetUser", "arn:aws:iam::"+A+":user/admin", "because no identity-based policy allows the iam:GetUser action"))
	// Creating with tags also needs iam:TagUser, which admin has on /team/.
	if _, err := ac.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("t3"), Path: aws.String("/team/"),
		Tags: []iamTag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatalf("CreateUser with tags: %v", err)
	}
	// Nothing else: no roles, no policies, no keys.
	_, err = ac.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(iamLambdaTrust)})
	iamWantErr(t, err, 403, "AccessDenied", denied("admin", "iam:CreateRole", "arn:aws:iam::"+A+":role/r", "because no identity-based policy allows the iam:CreateRole action"))
	_, err = ac.AttachUserPolicy(iamCtx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	iamWantErr(t, err, 403, "AccessDenied", "...")

	// The tag-on-create rule: iam:CreateUser alone does not allow tags.
	creator := e.user("creator", iamPolicy("Allow", `"iam:CreateUser"`, `"*"`))
	_, err = e.iam(creator).CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("t4"), Tags: []iamTag{{Key: aws.String("k"), Value: aws.String("v")}}})
	iamWantErr(t, err, 403, "AccessDenied", denied("creator", "iam:TagUser", "arn:aws:iam::"+A+":user/t4", "because no identity-based policy allows the iam:TagUser action"))
	// The same rule for roles: iam:CreateRole alone does not allow tags.
	roleCreator := e.user("role-creator", iamPolicy("Allow", `"iam:CreateRole"`, `"*"`))
	_, err = e.iam(roleCreator).CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("r2"), Path: aws.String("/svc/"),
		AssumeRolePolicyDocument: aws.String(iamLambdaTrust), Tags: []iamTag{{Key: aws.String("k"), Value: aws.String("v")}}})
	iamWantErr(t, err, 403, "AccessDenied", denied("role-creator", "iam:TagRole", "arn:aws:iam::"+A+":role/svc/r2", "because no identity-based policy allows the iam:TagRole action"))
	if _, err := e.iam(roleCreator).CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("r4"), AssumeRolePolicyDocument: aws.String(iamLambdaTrust)}); err != nil {
		t.Fatalf("CreateRole without tags: %v", err)
	}

	// attacher may only attach one policy, by the iam:PolicyARN condition.
	attacher := e.user("attacher", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*",
		"Condition":{"ArnEquals":{"iam:PolicyARN":"arn:aws:iam::aws:policy/ReadOnlyAccess"}}}]}`)
	if _, err := e.iam(attacher).AttachUserPolicy(iamCtx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("attacher"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}); err != nil {
		t.Fatalf("allowed attach: %v", err)
	}
	_, err = e.iam(attacher).AttachUserPolicy(iamCtx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("attacher"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	iamWantErr(t, err, 403, "AccessDenied", "...")

	// Lambda: a reader may list but not change.
	reader := e.user("reader", iamPolicy("Allow", `["lambda:ListFunctions","lambda:GetAccountSettings"]`, `"*"`))
	lc := e.lambda(reader)
	if _, err := lc.ListFunctions(iamCtx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.GetAccountSettings(iamCtx, &lambda.GetAccountSettingsInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = lc.GetFunction(iamCtx, &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	iamWantErr(t, err, 403, "AccessDeniedException", denied("reader", "lambda:GetFunction", "arn:aws:lambda:us-east-1:"+A+":function:f", "because no identity-based policy allows the lambda:GetFunction action"))
	_, err = lc.DeleteFunction(iamCtx, &lambda.DeleteFunctionInput{FunctionName: aws.String("f")})
	iamWantErr(t, err, 403, "AccessDeniedException", "...")

	// A permissions boundary caps an administrator.
	if _, err := e.iam(e.rootCreds()).AttachUserPolicy(iamCtx, &iamsdk.AttachUserPolicyInput{UserName: aws.String("reader"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.iam(e.rootCreds()).PutUserPermissionsBoundary(iamCtx, &iamsdk.PutUserPermissionsBoundaryInput{UserName: aws.String("reader"),
		PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.iam(reader).ListUsers(iamCtx, &iamsdk.ListUsersInput{})
	iamWantErr(t, err, 403, "AccessDenied", denied("reader", "iam:ListUsers", "arn:aws:iam::"+A+":user/", "because no permissions boundary allows the iam:ListUsers action"))
	if _, err := e.iam(reader).ListRoles(iamCtx, &iamsdk.ListRolesInput{}); err != nil {
		t.Fatalf("ListRoles within the boundary: %v", err)
	}
}

// TestCrossAccount creates a member account and checks that nothing
// crosses the account boundary without a grant, and that a trust grant
// works.
func TestCrossAccount(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	A := e.mgmt
	oc := e.orgs(e.rootCreds())
	ca, err := oc.CreateAccount(iamCtx, &orgssdk.CreateAccountInput{AccountName: aws.String("tenant"), Email: aws.String("tenant@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if ca.CreateAccountStatus.State != orgtypes.CreateAccountStateSucceeded {
		t.Fatalf("CreateAccount = %+v", ca.CreateAccountStatus)
	}
	B := aws.ToString(ca.CreateAccountStatus.AccountId)
	key, _, err := e.ids.EnsureRootKey(iamCtx, B, "", "")
	if err != nil {
		t.Fatal(err)
	}
	rootB := iamCreds{key.AccessKeyID, key.Secret.Reveal(), ""}
	bc := e.iam(rootB)

	// Each account sees only its own entities.
	e.user("a-user")
	if _, err := bc.CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("a-user")}); err != nil {
		t.Fatalf("same name in another account: %v", err)
	}
	lu, err := bc.ListUsers(iamCtx, &iamsdk.ListUsersInput{})
	if err != nil || len(lu.Users) != 1 || !strings.Contains(aws.ToString(lu.Users[0].Arn), B) {
		t.Fatalf("B's users: %v %+v", err, lu)
	}
	_, err = bc.GetPolicy(iamCtx, &iamsdk.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::" + A + ":policy/x")})
	iamWantErr(t, err, 403, "AccessDenied", "User: arn:aws:iam::"+B+":root is not authorized to perform: iam:GetPolicy on resource: arn:aws:iam::"+A+":policy/x because no resource-based policy allows the iam:GetPolicy action")
	// Lambda in A is out of B's reach.
	_, err = e.lambda(rootB).GetFunction(iamCtx, &lambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:" + A + ":function:f")})
	iamWantErr(t, err, 403, "AccessDeniedException", "User: arn:aws:iam::"+B+":root is not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:us-east-1:"+A+":function:f because no resource-based policy allows the lambda:GetFunction action")

	// A role in B that trusts A is a grant: A's user with permission may
	// assume it, and acts as B's role.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + A + `:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := bc.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("from-a"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.AttachRolePolicy(iamCtx, &iamsdk.AttachRolePolicyInput{RoleName: aws.String("from-a"), PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.CreateRole(iamCtx, &iamsdk.CreateRoleInput{RoleName: aws.String("private"), AssumeRolePolicyDocument: aws.String(iamLambdaTrust)}); err != nil {
		t.Fatal(err)
	}
	jumper := e.user("jumper", iamPolicy("Allow", `"sts:AssumeRole"`, `"*"`))
	out, err := e.sts(jumper).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + B + ":role/from-a"), RoleSessionName: aws.String("visit")})
	if err != nil {
		t.Fatalf("cross-account AssumeRole with a trust grant: %v", err)
	}
	visit := iamSessionCreds(out.Credentials)
	lu, err = e.iam(visit).ListUsers(iamCtx, &iamsdk.ListUsersInput{})
	if err != nil || len(lu.Users) != 1 || !strings.Contains(aws.ToString(lu.Users[0].Arn), B) {
		t.Fatalf("session in B lists B's users: %v %+v", err, lu)
	}
	_, err = e.iam(visit).CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("x")})
	iamWantErr(t, err, 403, "AccessDenied", "...")
	_, err = e.sts(jumper).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + B + ":role/private"), RoleSessionName: aws.String("visit")})
	iamWantErr(t, err, 403, "AccessDenied", "User: arn:aws:iam::"+A+":user/jumper is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::"+B+":role/private because no resource-based policy allows the sts:AssumeRole action")

	// The operator reaches the new account through the role CreateAccount
	// made, which trusts the management account.
	out, err = e.sts(jumper).AssumeRole(iamCtx, &stssdk.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + B + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("op")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.iam(iamSessionCreds(out.Credentials)).CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("made-by-operator")}); err != nil {
		t.Fatalf("administrator in the member account: %v", err)
	}
}

func TestOrganizationsAPI(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "")
	oc := e.orgs(e.rootCreds())
	org, err := oc.DescribeOrganization(iamCtx, &orgssdk.DescribeOrganizationInput{})
	if err != nil || aws.ToString(org.Organization.MasterAccountId) != e.mgmt {
		t.Fatalf("DescribeOrganization: %v %+v", err, org)
	}
	ca, err := oc.CreateAccount(iamCtx, &orgssdk.CreateAccountInput{AccountName: aws.String("m1"), Email: aws.String("m1@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	B := aws.ToString(ca.CreateAccountStatus.AccountId)
	st, err := oc.DescribeCreateAccountStatus(iamCtx, &orgssdk.DescribeCreateAccountStatusInput{CreateAccountRequestId: ca.CreateAccountStatus.Id})
	if err != nil || aws.ToString(st.CreateAccountStatus.AccountId) != B {
		t.Fatalf("DescribeCreateAccountStatus: %v %+v", err, st)
	}
	acct, err := oc.DescribeAccount(iamCtx, &orgssdk.DescribeAccountInput{AccountId: aws.String(B)})
	if err != nil || aws.ToString(acct.Account.Name) != "m1" || aws.ToString(acct.Account.Email) != "m1@example.com" || acct.Account.Status != orgtypes.AccountStatusActive {
		t.Fatalf("DescribeAccount: %v %+v", err, acct)
	}
	la, err := oc.ListAccounts(iamCtx, &orgssdk.ListAccountsInput{})
	if err != nil || len(la.Accounts) != 2 {
		t.Fatalf("ListAccounts: %v %+v", err, la)
	}
	_, err = oc.DescribeAccount(iamCtx, &orgssdk.DescribeAccountInput{AccountId: aws.String("000000000000")})
	iamWantErr(t, err, 400, "AccountNotFoundException", "You specified an account that doesn't exist.")

	p, err := oc.CreatePolicy(iamCtx, &orgssdk.CreatePolicyInput{Name: aws.String("NoIAMWrites"), Description: aws.String("d"), Type: orgtypes.PolicyTypeServiceControlPolicy,
		Content: aws.String(iamPolicy("Deny", `["iam:Create*","iam:Delete*"]`, `"*"`))})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Policy.PolicySummary.Id
	if _, err := oc.AttachPolicy(iamCtx, &orgssdk.AttachPolicyInput{PolicyId: pid, TargetId: aws.String(B)}); err != nil {
		t.Fatal(err)
	}
	lp, err := oc.ListPoliciesForTarget(iamCtx, &orgssdk.ListPoliciesForTargetInput{TargetId: aws.String(B), Filter: orgtypes.PolicyTypeServiceControlPolicy})
	if err != nil || len(lp.Policies) != 2 {
		t.Fatalf("ListPoliciesForTarget: %v %+v", err, lp)
	}
	targets, err := oc.ListTargetsForPolicy(iamCtx, &orgssdk.ListTargetsForPolicyInput{PolicyId: pid})
	if err != nil || len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].TargetId) != B || aws.ToString(targets.Targets[0].Name) != "m1" {
		t.Fatalf("ListTargetsForPolicy: %v %+v", err, targets)
	}
	// The guardrail binds the member's root user.
	key, _, err := e.ids.EnsureRootKey(iamCtx, B, "", "")
	if err != nil {
		t.Fatal(err)
	}
	rootB := iamCreds{key.AccessKeyID, key.Secret.Reveal(), ""}
	_, err = e.iam(rootB).CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("x")})
	iamWantErr(t, err, 403, "AccessDenied", "User: arn:aws:iam::"+B+":root is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::"+B+":user/x with an explicit deny in a service control policy")
	if _, err := e.iam(rootB).ListUsers(iamCtx, &iamsdk.ListUsersInput{}); err != nil {
		t.Fatalf("outside the guardrail: %v", err)
	}
	// Members may not administer the organization.
	_, err = e.orgs(rootB).ListAccounts(iamCtx, &orgssdk.ListAccountsInput{})
	iamWantErr(t, err, 403, "AccessDeniedException", "You don't have permissions to access this resource.")
	if _, err := e.orgs(rootB).DescribeOrganization(iamCtx, &orgssdk.DescribeOrganizationInput{}); err != nil {
		t.Fatalf("members may describe the organization: %v", err)
	}
	// Nor may a management-account user without organizations:*.
	plain := e.user("plain", iamPolicy("Allow", `"organizations:Describe*"`, `"*"`))
	_, err = e.orgs(plain).ListAccounts(iamCtx, &orgssdk.ListAccountsInput{})
	iamWantErr(t, err, 403, "AccessDeniedException", "User: arn:aws:iam::"+e.mgmt+":user/plain is not authorized to perform: organizations:ListAccounts on resource: * because no identity-based policy allows the organizations:ListAccounts action")

	_, err = oc.DeletePolicy(iamCtx, &orgssdk.DeletePolicyInput{PolicyId: pid})
	iamWantErr(t, err, 400, "PolicyInUseException", "...")
	upd, err := oc.UpdatePolicy(iamCtx, &orgssdk.UpdatePolicyInput{PolicyId: pid, Content: aws.String(iamPolicy("Deny", `"iam:Delete*"`, `"*"`))})
	if err != nil || !strings.Contains(aws.ToString(upd.Policy.Content), "iam:Delete*") {
		t.Fatalf("UpdatePolicy: %v %+v", err, upd)
	}
	if _, err := e.iam(rootB).CreateUser(iamCtx, &iamsdk.CreateUserInput{UserName: aws.String("x")}); err != nil {
		t.Fatalf("after UpdatePolicy: %v", err)
	}
	if _, err := oc.DetachPolicy(iamCtx, &orgssdk.DetachPolicyInput{PolicyId: pid, TargetId: aws.String(B)}); err != nil {
		t.Fatal(err)
	}
	_, err = oc.DetachPolicy(iamCtx, &orgssdk.DetachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(B)})
	iamWantErr(t, err, 400, "ConstraintViolationException", "...")
	if _, err := oc.DeletePolicy(iamCtx, &orgssdk.DeletePolicyInput{PolicyId: pid}); err != nil {
		t.Fatal(err)
	}
	_, err = oc.DescribePolicy(iamCtx, &orgssdk.DescribePolicyInput{PolicyId: pid})
	iamWantErr(t, err, 400, "PolicyNotFoundException", "...")
	pols, err := oc.ListPolicies(iamCtx, &orgssdk.ListPoliciesInput{Filter: orgtypes.PolicyTypeServiceControlPolicy})
	if err != nil || len(pols.Policies) != 1 || !pols.Policies[0].AwsManaged {
		t.Fatalf("ListPolicies: %v %+v", err, pols)
	}
}

// TestAdminEndpoint creates an account through Cloister's admin endpoint,
// as `cloister account create` does.
func TestAdminEndpoint(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "eu-west-1")
	cfg := e.config(e.rootCreds())
	c := &adminclient.Client{Endpoint: e.srv.URL, Credentials: cfg.Credentials, HTTP: e.srv.Client()}
	a, err := c.CreateAccount(iamCtx, "team-a", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.AccountID) != 12 || a.AccountName != "team-a" || a.AccessKeyID[:4] != "AKIA" || len(a.SecretAccessKey) != 40 {
		t.Fatalf("CreateAccount = %+v", a)
	}
	newRoot := iamCreds{a.AccessKeyID, a.SecretAccessKey, ""}
	id, err := e.sts(newRoot).GetCallerIdentity(iamCtx, &stssdk.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::"+a.AccountID+":root" {
		t.Fatalf("new root key: %v %+v", err, id)
	}
	// Only the operator may create accounts.
	member := &adminclient.Client{Endpoint: e.srv.URL, Credentials: e.config(newRoot).Credentials, HTTP: e.srv.Client()}
	_, err = member.CreateAccount(iamCtx, "sneaky", "")
	var se *adminclient.ServiceError
	if !iamErrorsAs(err, &se) || se.Status != 403 || se.Type != "AccessDeniedException" {
		t.Fatalf("member CreateAccount: %v", err)
	}
	plain := e.user("plain")
	pc := &adminclient.Client{Endpoint: e.srv.URL, Credentials: e.config(plain).Credentials, HTTP: e.srv.Client()}
	_, err = pc.CreateAccount(iamCtx, "sneaky", "")
	if !iamErrorsAs(err, &se) || se.Status != 403 || !strings.Contains(se.Message, "organizations:CreateAccount") {
		t.Fatalf("unprivileged CreateAccount: %v", err)
	}
	_, err = c.CreateAccount(iamCtx, "", "")
	if !iamErrorsAs(err, &se) || se.Status != 400 {
		t.Fatalf("nameless CreateAccount: %v", err)
	}
}
