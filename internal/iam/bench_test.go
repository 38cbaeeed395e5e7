package iam_test

import (
	"testing"

	"github.com/cloister/cloister/internal/iam"
)

// benchUser is a user with five policies of the kind a Lambda developer
// carries: two inline, one through a group, two attached managed ones
// (one AWS managed), and a tag its conditions use.
func benchUser(b *testing.B) (*env, iam.Principal) {
	e := newEnv(b)
	A := e.mgmt
	u := e.user(A, "dev",
		`{"Version":"2012-10-17","Statement":[{"Sid":"Write","Effect":"Allow","Action":["lambda:CreateFunction","lambda:UpdateFunctionCode","lambda:InvokeFunction"],"Resource":"arn:aws:lambda:us-east-1:`+A+`:function:dev-*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Sid":"NoProd","Effect":"Deny","Action":["lambda:Update*","lambda:Delete*"],"Resource":"arn:aws:lambda:*:*:function:prod-*"}]}`)
	must(b, e.ids.TagUser(bg, A, "dev", []iam.Tag{{Key: "team", Value: "payments"}}))
	_, err := e.ids.CreateGroup(bg, A, "devs", "")
	must(b, err)
	must(b, e.ids.PutInlinePolicy(bg, A, iam.KindGroup, "devs", "team", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:TagResource","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}}]}`))
	must(b, e.ids.AddUserToGroup(bg, A, "devs", "dev"))
	p, err := e.ids.CreatePolicy(bg, A, iam.CreatePolicyInput{Name: "Net", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}}]}`})
	must(b, err)
	must(b, e.ids.AttachPolicy(bg, A, iam.KindUser, "dev", p.ARN()))
	must(b, e.ids.AttachPolicy(bg, A, iam.KindUser, "dev", "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess"))
	return e, u
}

// BenchmarkAuthorize decides an allowed invoke for a user with five
// policies, from the cached policy set (the per-request cost).
func BenchmarkAuthorize(b *testing.B) {
	e, u := benchUser(b)
	req := iam.Request{
		Caller: u, Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:" + e.mgmt + ":function:dev-api",
		ResourceAccount: e.mgmt, SourceIP: "10.1.2.3", SecureTransport: true,
		Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}},
	}
	must(b, e.ids.Authorize(bg, req))
	b.ReportAllocs()
	for b.Loop() {
		if err := e.ids.Authorize(bg, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorizeRoot is the root user's request, which needs no
// policies (the floor of Authorize's cost).
func BenchmarkAuthorizeRoot(b *testing.B) {
	e := newEnv(b)
	req := iam.Request{Caller: iam.Root(e.mgmt), Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:" + e.mgmt + ":function:f", ResourceAccount: e.mgmt}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.ids.Authorize(bg, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupKey looks up a user's access key, as every request's
// SigV4 verification does.
func BenchmarkLookupKey(b *testing.B) {
	e, u := benchUser(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.ids.LookupKey(bg, u.AccessKeyID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupSessionKey looks up a role session's temporary key.
func BenchmarkLookupSessionKey(b *testing.B) {
	e, _ := benchUser(b)
	e.role(e.mgmt, "exec", trustLambda)
	creds, err := e.ids.IssueRoleSession(bg, "arn:aws:iam::"+e.mgmt+":role/exec", "fn", 0)
	must(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.ids.LookupKey(bg, creds.AccessKeyID); err != nil {
			b.Fatal(err)
		}
	}
}
