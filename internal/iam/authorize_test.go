package iam_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/policy"
)

func fnARN(account, name string) string {
	return "arn:aws:lambda:us-east-1:" + account + ":function:" + name
}

func resourcePolicy(t testing.TB, doc string) func(context.Context) (*policy.Policy, error) {
	t.Helper()
	p, err := policy.Parse([]byte(doc), policy.Resource)
	must(t, err)
	return func(context.Context) (*policy.Policy, error) { return p, nil }
}

// TestAuthorize decides requests of every kind of caller against every
// kind of policy, and checks AWS's AccessDenied wording.
func TestAuthorize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A, B := e.mgmt, e.member
	ids := e.ids

	alice := e.user(A, "alice", allow(`"lambda:Get*"`, `"*"`), deny(`"lambda:GetPolicy"`, `"*"`))
	bob := e.user(A, "bob")
	// carol gets her permissions from a group's managed policy.
	carol := e.user(A, "carol")
	_, err := ids.CreateGroup(bg, A, "devs", "")
	must(t, err)
	dev, err := ids.CreatePolicy(bg, A, iam.CreatePolicyInput{Name: "Dev", Document: allow(`"lambda:*"`, `"arn:aws:lambda:*:`+A+`:function:dev-*"`)})
	must(t, err)
	must(t, ids.AttachPolicy(bg, A, iam.KindGroup, "devs", dev.ARN()))
	must(t, ids.AddUserToGroup(bg, A, "devs", "carol"))
	// dave may do anything, within a boundary of reads.
	dave := e.user(A, "dave", allow(`"*"`, `"*"`))
	bnd, err := ids.CreatePolicy(bg, A, iam.CreatePolicyInput{Name: "Reads", Document: allow(`["lambda:List*","iam:Get*"]`, `"*"`)})
	must(t, err)
	must(t, ids.PutPermissionsBoundary(bg, A, iam.KindUser, "dave", bnd.ARN()))
	erin := e.user(A, "erin", allow(`"iam:GetUser"`, `"arn:aws:iam::`+A+`:user/${aws:username}"`))
	frank := e.user(A, "frank", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*",
		"Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}}]}`)
	must(t, ids.TagUser(bg, A, "frank", []iam.Tag{{Key: "team", Value: "blue"}}))
	gina := e.user(A, "gina", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*",
		"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}}]}`)

	// The member account runs under an allow-list SCP and a deny.
	allowList, err := ids.CreateSCP(bg, "AllowList", "", allow(`["lambda:*","iam:*","sts:*"]`, `"*"`), nil)
	must(t, err)
	noDelete, err := ids.CreateSCP(bg, "NoDelete", "", deny(`"lambda:DeleteFunction"`, `"*"`), nil)
	must(t, err)
	must(t, ids.AttachSCP(bg, allowList.ID, B))
	must(t, ids.AttachSCP(bg, noDelete.ID, B))
	must(t, ids.DetachSCP(bg, iam.FullAWSAccessID, B))
	// A deny-everything SCP on the management account changes nothing.
	denyAll, err := ids.CreateSCP(bg, "DenyAll", "", deny(`"*"`, `"*"`), nil)
	must(t, err)
	must(t, ids.AttachSCP(bg, denyAll.ID, A))
	_, err = ids.CreateUser(bg, B, iam.CreateUserInput{Name: "mallory"})
	must(t, err)
	must(t, ids.AttachPolicy(bg, B, iam.KindUser, "mallory", "arn:aws:iam::aws:policy/AdministratorAccess"))
	mallory := e.principal(B, "mallory")
	noperm := e.user(B, "noperm")

	shared := resourcePolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+B+`:root"},
		"Action":"lambda:InvokeFunction","Resource":"`+fnARN(A, "shared")+`"}]}`)
	toBob := resourcePolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+bob.ARN+`"},
		"Action":"lambda:InvokeFunction","Resource":"`+fnARN(A, "bobs")+`"}]}`)

	denied := func(p iam.Principal, action, res, reason string) string {
		return "User: " + p.ARN + " is not authorized to perform: " + action + " on resource: " + res + " " + reason
	}
	cases := []struct {
		what string
		req  iam.Request
		want string // "" allowed, else the AccessDenied message
	}{
		{"root in its account", iam.Request{Caller: iam.Root(A), Action: "lambda:DeleteFunction", Resource: fnARN(A, "f"), ResourceAccount: A}, ""},
		{"root in another account", iam.Request{Caller: iam.Root(A), Action: "lambda:GetFunction", Resource: fnARN(B, "f"), ResourceAccount: B},
			denied(iam.Root(A), "lambda:GetFunction", fnARN(B, "f"), "because no resource-based policy allows the lambda:GetFunction action")},
		{"identity allow", iam.Request{Caller: alice, Action: "lambda:GetFunction", Resource: fnARN(A, "f"), ResourceAccount: A}, ""},
		{"explicit deny wins", iam.Request{Caller: alice, Action: "lambda:GetPolicy", Resource: fnARN(A, "f"), ResourceAccount: A},
			denied(alice, "lambda:GetPolicy", fnARN(A, "f"), "with an explicit deny in an identity-based policy")},
		{"nothing allows", iam.Request{Caller: alice, Action: "lambda:DeleteFunction", Resource: fnARN(A, "f"), ResourceAccount: A},
			denied(alice, "lambda:DeleteFunction", fnARN(A, "f"), "because no identity-based policy allows the lambda:DeleteFunction action")},
		{"user without policies", iam.Request{Caller: bob, Action: "lambda:ListFunctions", Resource: "*"},
			denied(bob, "lambda:ListFunctions", "*", "because no identity-based policy allows the lambda:ListFunctions action")},
		{"group managed policy", iam.Request{Caller: carol, Action: "lambda:InvokeFunction", Resource: fnARN(A, "dev-api"), ResourceAccount: A}, ""},
		{"group managed policy, other resource", iam.Request{Caller: carol, Action: "lambda:InvokeFunction", Resource: fnARN(A, "prod-api"), ResourceAccount: A},
			denied(carol, "lambda:InvokeFunction", fnARN(A, "prod-api"), "because no identity-based policy allows the lambda:InvokeFunction action")},
		{"within boundary", iam.Request{Caller: dave, Action: "lambda:ListFunctions", Resource: "*"}, ""},
		{"outside boundary", iam.Request{Caller: dave, Action: "lambda:DeleteFunction", Resource: fnARN(A, "f"), ResourceAccount: A},
			denied(dave, "lambda:DeleteFunction", fnARN(A, "f"), "because no permissions boundary allows the lambda:DeleteFunction action")},
		{"aws:username variable", iam.Request{Caller: erin, Action: "iam:GetUser", Resource: erin.ARN, ResourceAccount: A}, ""},
		{"aws:username variable, other user", iam.Request{Caller: erin, Action: "iam:GetUser", Resource: bob.ARN, ResourceAccount: A},
			denied(erin, "iam:GetUser", bob.ARN, "because no identity-based policy allows the iam:GetUser action")},
		{"principal tag matches resource tag", iam.Request{Caller: frank, Action: "lambda:InvokeFunction", Resource: fnARN(A, "f"), ResourceAccount: A,
			Context: map[string][]string{"aws:ResourceTag/team": {"blue"}}}, ""},
		{"principal tag differs", iam.Request{Caller: frank, Action: "lambda:InvokeFunction", Resource: fnARN(A, "f"), ResourceAccount: A,
			Context: map[string][]string{"aws:ResourceTag/team": {"red"}}}, "..."},
		{"route cannot forge principal tags", iam.Request{Caller: frank, Action: "lambda:InvokeFunction", Resource: fnARN(A, "f"), ResourceAccount: A,
			Context: map[string][]string{"aws:ResourceTag/team": {"red"}, "aws:PrincipalTag/team": {"red"}, "AWS:PRINCIPALTAG/Team": {"red"}}}, "..."},
		{"source IP and TLS", iam.Request{Caller: gina, Action: "lambda:GetFunction", Resource: "*", SourceIP: "10.1.2.3", SecureTransport: true}, ""},
		{"wrong source IP", iam.Request{Caller: gina, Action: "lambda:GetFunction", Resource: "*", SourceIP: "192.168.1.1", SecureTransport: true}, "..."},
		{"no TLS", iam.Request{Caller: gina, Action: "lambda:GetFunction", Resource: "*", SourceIP: "10.1.2.3"}, "..."},
		{"route cannot forge the source IP", iam.Request{Caller: gina, Action: "lambda:GetFunction", Resource: "*", SourceIP: "1.2.3.4", SecureTransport: true,
			Context: map[string][]string{"aws:SourceIp": {"10.0.0.1"}, "aws:SecureTransport": {"true"}}}, "..."},
		{"SCP denies a member root", iam.Request{Caller: iam.Root(B), Action: "lambda:DeleteFunction", Resource: fnARN(B, "f"), ResourceAccount: B},
			denied(iam.Root(B), "lambda:DeleteFunction", fnARN(B, "f"), "with an explicit deny in a service control policy")},
		{"SCP allow-list misses the action", iam.Request{Caller: iam.Root(B), Action: "s3:GetObject", Resource: "*"},
			denied(iam.Root(B), "s3:GetObject", "*", "because no service control policy allows the s3:GetObject action")},
		{"SCP allows a member root", iam.Request{Caller: iam.Root(B), Action: "lambda:GetFunction", Resource: fnARN(B, "f"), ResourceAccount: B}, ""},
		{"SCP limits an administrator", iam.Request{Caller: mallory, Action: "lambda:DeleteFunction", Resource: fnARN(B, "f"), ResourceAccount: B},
			denied(mallory, "lambda:DeleteFunction", fnARN(B, "f"), "with an explicit deny in a service control policy")},
		{"administrator within SCP", iam.Request{Caller: mallory, Action: "iam:CreateUser", Resource: "arn:aws:iam::" + B + ":user/x", ResourceAccount: B}, ""},
		{"management account is exempt from SCPs", iam.Request{Caller: iam.Root(A), Action: "s3:GetObject", Resource: "*"}, ""},
		{"cross-account grant to the account", iam.Request{Caller: mallory, Action: "lambda:InvokeFunction", Resource: fnARN(A, "shared"), ResourceAccount: A, ResourcePolicy: shared}, ""},
		{"cross-account grant needs identity allow", iam.Request{Caller: noperm, Action: "lambda:InvokeFunction", Resource: fnARN(A, "shared"), ResourceAccount: A, ResourcePolicy: shared},
			denied(noperm, "lambda:InvokeFunction", fnARN(A, "shared"), "because no identity-based policy allows the lambda:InvokeFunction action")},
		{"cross-account root with grant", iam.Request{Caller: iam.Root(B), Action: "lambda:InvokeFunction", Resource: fnARN(A, "shared"), ResourceAccount: A, ResourcePolicy: shared}, ""},
		{"cross-account without grant", iam.Request{Caller: mallory, Action: "lambda:InvokeFunction", Resource: fnARN(A, "private"), ResourceAccount: A},
			denied(mallory, "lambda:InvokeFunction", fnARN(A, "private"), "because no resource-based policy allows the lambda:InvokeFunction action")},
		{"grant that names the user", iam.Request{Caller: bob, Action: "lambda:InvokeFunction", Resource: fnARN(A, "bobs"), ResourceAccount: A, ResourcePolicy: toBob}, ""},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			err := ids.Authorize(bg, c.req)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("denied: %v", err)
			case c.want != "" && err == nil:
				t.Fatal("allowed, want denied")
			case c.want != "":
				wantType(t, err, awserr.AccessDenied, c.want)
			}
		})
	}
}

// TestAuthorizeSessions covers role sessions: the role's policies, session
// policies, session tags, role deletion, and the trust policy that decides
// sts:AssumeRole.
func TestAuthorizeSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A, B := e.mgmt, e.member
	ids := e.ids
	sam := e.user(A, "sam", allow(`"sts:AssumeRole"`, `"*"`))
	bob := e.user(A, "bob")
	e.role(A, "reader", trustAccount(A), allow(`["lambda:Get*","lambda:List*"]`, `"*"`))
	e.role(A, "tagged", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+A+`:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/project":"x"}}}]}`)
	e.role(A, "forbob", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+bob.ARN+`"},"Action":"sts:AssumeRole"}]}`)
	e.role(A, "lambdaonly", trustLambda)
	e.role(A, "forb", trustAccount(B), allow(`"lambda:GetFunction"`, `"*"`))
	_, err := ids.CreateUser(bg, B, iam.CreateUserInput{Name: "mallory"})
	must(t, err)
	must(t, ids.AttachPolicy(bg, B, iam.KindUser, "mallory", "arn:aws:iam::aws:policy/AdministratorAccess"))
	mallory := e.principal(B, "mallory")

	roleARN := func(n string) string { return "arn:aws:iam::" + A + ":role/" + n }
	assume := func(caller iam.Principal, role string) error {
		r := ids.RoleByARN(roleARN(role))
		return ids.Authorize(bg, iam.Request{
			Caller: caller, Action: "sts:AssumeRole", Resource: roleARN(role), ResourceAccount: A,
			ResourcePolicy: func(context.Context) (*policy.Policy, error) {
				if r == nil {
					return nil, nil
				}
				return ids.TrustPolicy(r)
			},
		})
	}
	t.Run("trust policy decides AssumeRole", func(t *testing.T) {
		for _, c := range []struct {
			caller iam.Principal
			role   string
			ok     bool
			reason string
		}{
			{sam, "reader", true, ""},
			{bob, "reader", false, "because no identity-based policy allows the sts:AssumeRole action"},
			{bob, "forbob", true, ""},
			{sam, "lambdaonly", false, "because no resource-based policy allows the sts:AssumeRole action"},
			{sam, "nosuchrole", false, "because no resource-based policy allows the sts:AssumeRole action"},
			{mallory, "forb", true, ""},
			{mallory, "reader", false, "because no resource-based policy allows the sts:AssumeRole action"},
		} {
			err := assume(c.caller, c.role)
			if c.ok != (err == nil) {
				t.Errorf("%s assumes %s: %v, want ok=%v", c.caller.ARN, c.role, err, c.ok)
				continue
			}
			if !c.ok {
				wantType(t, err, awserr.AccessDenied, "User: "+c.caller.ARN+" is not authorized to perform: sts:AssumeRole on resource: "+roleARN(c.role)+" "+c.reason)
			}
		}
	})

	reader := e.session(sam, iam.AssumeRoleInput{RoleARN: roleARN("reader"), SessionName: "s1"})
	narrow := e.session(sam, iam.AssumeRoleInput{RoleARN: roleARN("reader"), SessionName: "s2",
		Policy: allow(`"lambda:ListFunctions"`, `"*"`)})
	tagged := e.session(sam, iam.AssumeRoleInput{RoleARN: roleARN("tagged"), SessionName: "s3", Tags: []iam.Tag{{Key: "project", Value: "x"}}})
	untagged := e.session(sam, iam.AssumeRoleInput{RoleARN: roleARN("tagged"), SessionName: "s4"})
	crossB := e.session(mallory, iam.AssumeRoleInput{RoleARN: roleARN("forb"), SessionName: "from-b"})
	if reader.ARN != "arn:aws:sts::"+A+":assumed-role/reader/s1" || reader.Type != iam.TypeAssumedRole || reader.RoleARN != roleARN("reader") {
		t.Fatalf("session principal = %+v", reader)
	}
	check := func(p iam.Principal, action string, want string) {
		t.Helper()
		err := ids.Authorize(bg, iam.Request{Caller: p, Action: action, Resource: fnARN(A, "f"), ResourceAccount: A})
		switch {
		case want == "" && err != nil:
			t.Errorf("%s %s: %v", p.ARN, action, err)
		case want != "" && err == nil:
			t.Errorf("%s %s allowed", p.ARN, action)
		case want != "":
			wantType(t, err, awserr.AccessDenied, "User: "+p.ARN+" is not authorized to perform: "+action+" on resource: "+fnARN(A, "f")+" "+want)
		}
	}
	check(reader, "lambda:GetFunction", "")
	check(reader, "lambda:DeleteFunction", "because no identity-based policy allows the lambda:DeleteFunction action")
	check(narrow, "lambda:ListFunctions", "")
	check(narrow, "lambda:GetFunction", "because no session policy allows the lambda:GetFunction action")
	check(tagged, "lambda:InvokeFunction", "")
	check(untagged, "lambda:InvokeFunction", "because no identity-based policy allows the lambda:InvokeFunction action")
	check(crossB, "lambda:GetFunction", "")

	// A session outlives nothing: deleting its role's policy or the role
	// takes effect at once.
	must(t, ids.DeleteInlinePolicy(bg, A, iam.KindRole, "reader", "p0"))
	check(reader, "lambda:GetFunction", "because no identity-based policy allows the lambda:GetFunction action")
	must(t, ids.DeleteRole(bg, A, "reader"))
	e.role(A, "reader", trustAccount(A), allow(`"*"`, `"*"`))
	check(reader, "lambda:GetFunction", "...") // a new role of the same name is another role
}

// TestAuthorizeSeesChangesAtOnce checks that the policy cache never serves
// a stale decision after an identity change made through the service.
func TestAuthorizeSeesChangesAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A := e.mgmt
	u := e.user(A, "ivy")
	req := iam.Request{Caller: u, Action: "lambda:ListFunctions", Resource: "*"}
	steps := []struct {
		what   string
		change func() error
		allow  bool
	}{
		{"no policy", func() error { return nil }, false},
		{"attach ReadOnlyAccess", func() error {
			return e.ids.AttachPolicy(bg, A, iam.KindUser, "ivy", "arn:aws:iam::aws:policy/ReadOnlyAccess")
		}, true},
		{"add an explicit deny", func() error {
			return e.ids.PutInlinePolicy(bg, A, iam.KindUser, "ivy", "no", deny(`"lambda:List*"`, `"*"`))
		}, false},
		{"remove the deny", func() error { return e.ids.DeleteInlinePolicy(bg, A, iam.KindUser, "ivy", "no") }, true},
		{"detach", func() error {
			return e.ids.DetachPolicy(bg, A, iam.KindUser, "ivy", "arn:aws:iam::aws:policy/ReadOnlyAccess")
		}, false},
		{"group policy", func() error {
			if _, err := e.ids.CreateGroup(bg, A, "g", ""); err != nil {
				return err
			}
			if err := e.ids.PutInlinePolicy(bg, A, iam.KindGroup, "g", "p", allow(`"lambda:*"`, `"*"`)); err != nil {
				return err
			}
			return e.ids.AddUserToGroup(bg, A, "g", "ivy")
		}, true},
		{"leave the group", func() error { return e.ids.RemoveUserFromGroup(bg, A, "g", "ivy") }, false},
	}
	for _, s := range steps {
		must(t, s.change())
		err := e.ids.Authorize(bg, req)
		if (err == nil) != s.allow {
			t.Fatalf("after %s: Authorize = %v, want allowed=%v", s.what, err, s.allow)
		}
	}
}

// TestAuthorizeFailsClosed checks callers the service cannot vouch for.
func TestAuthorizeFailsClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A := e.mgmt
	u := e.user(A, "gone", allow(`"*"`, `"*"`))
	must(t, e.ids.DeleteInlinePolicy(bg, A, iam.KindUser, "gone", "p0"))
	k, err := e.ids.ListAccessKeys(bg, A, "gone")
	must(t, err)
	must(t, e.ids.DeleteAccessKey(bg, A, "gone", k[0].AccessKeyID))
	must(t, e.ids.DeleteUser(bg, A, "gone"))
	for _, p := range []iam.Principal{
		u, // deleted user
		{Account: A, ARN: "arn:aws:iam::" + A + ":user/ghost", UserID: "AIDAGHOST", Type: iam.TypeUser},
		{Account: A, ARN: "arn:aws:iam::" + A + ":root", Type: "Wizard"},
	} {
		err := e.ids.Authorize(bg, iam.Request{Caller: p, Action: "lambda:ListFunctions", Resource: "*"})
		if !awserr.IsType(err, awserr.AccessDenied) {
			t.Errorf("%+v: Authorize = %v, want AccessDenied", p, err)
		}
	}
	// A boundary whose policy is gone allows nothing.
	_ = e.user(A, "bounded", allow(`"*"`, `"*"`))
	p, err := e.ids.CreatePolicy(bg, A, iam.CreatePolicyInput{Name: "B", Document: allow(`"*"`, `"*"`)})
	must(t, err)
	must(t, e.ids.PutPermissionsBoundary(bg, A, iam.KindUser, "bounded", p.ARN()))
	err = e.ids.DeletePolicy(bg, A, p.ARN())
	wantType(t, err, awserr.DeleteConflict, "Cannot delete a policy attached to entities.")
	if !strings.Contains(p.ARN(), ":policy/B") {
		t.Fatalf("policy ARN %s", p.ARN())
	}
}
