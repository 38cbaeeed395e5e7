package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchPolicies are five identity policies of the kind a Lambda developer
// role carries: a managed read-only policy, a scoped write policy with
// conditions, a tag-based policy with a variable, a network guard and a
// deny for production.
var benchPolicies = []string{
	`{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnly","Effect":"Allow","Action":["lambda:Get*","lambda:List*"],"Resource":"*"},{"Sid":"Logs","Effect":"Allow","Action":["logs:DescribeLogGroups","logs:GetLogEvents","logs:FilterLogEvents"],"Resource":"arn:aws:logs:*:111111111111:log-group:/aws/lambda/*"}]}`,
	`{"Version":"2012-10-17","Statement":[{"Sid":"Write","Effect":"Allow","Action":["lambda:CreateFunction","lambda:UpdateFunctionCode","lambda:UpdateFunctionConfiguration","lambda:PublishVersion","lambda:DeleteFunction"],"Resource":"arn:aws:lambda:us-east-1:111111111111:function:dev-*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"},"Bool":{"aws:SecureTransport":"true"}}},{"Sid":"PassRole","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111111111111:role/lambda-*","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Sid":"TeamFunctions","Effect":"Allow","Action":["lambda:InvokeFunction","lambda:TagResource"],"Resource":"arn:aws:lambda:*:111111111111:function:*","Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"},"ForAllValues:StringLike":{"aws:TagKeys":["team","env","cost-*"]}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Sid":"Network","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16","2001:db8::/32"]},"Bool":{"aws:ViaAWSService":"false"}}},{"Sid":"Hours","Effect":"Deny","Action":"lambda:Delete*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2035-01-01T00:00:00Z"}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Sid":"NoProd","Effect":"Deny","Action":["lambda:Update*","lambda:Delete*","lambda:Put*"],"Resource":"arn:aws:lambda:*:*:function:prod-*"},{"Sid":"NoIAM","Effect":"Deny","NotAction":["iam:PassRole","iam:Get*","iam:List*"],"Resource":"arn:aws:iam::*:*"}]}`,
}

// BenchmarkParse parses a typical Lambda function policy (one statement for
// a service principal with two conditions).
func BenchmarkParse(b *testing.B) {
	d := []byte(seedDocs[1])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(d, Resource); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseIdentity parses one identity policy with conditions.
func BenchmarkParseIdentity(b *testing.B) {
	d := []byte(benchPolicies[1])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(d, Identity); err != nil {
			b.Fatal(err)
		}
	}
}

func benchInput(b *testing.B) Input {
	var ps []*Policy
	for _, d := range benchPolicies {
		p, err := Parse([]byte(d), Identity)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	req := Request{Principal: alice, Action: "lambda:InvokeFunction", Resource: "arn:aws:lambda:us-east-1:111111111111:function:dev-api"}
	req.Context.Set("aws:SourceIp", "10.1.2.3")
	req.Context.Set("aws:SecureTransport", "true")
	req.Context.Set("aws:RequestedRegion", "us-east-1")
	req.Context.Set("aws:ViaAWSService", "false")
	req.Context.Set("aws:PrincipalTag/team", "payments")
	req.Context.Set("aws:ResourceTag/team", "payments")
	req.Context.SetTime(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	return Input{Request: req, Identity: ps, ResourceAccount: acctA}
}

// BenchmarkEvaluate evaluates an allowed request against the five identity
// policies above (every statement is examined, since a Deny could match).
func BenchmarkEvaluate(b *testing.B) {
	in := benchInput(b)
	if r := Evaluate(in); r.Decision != Allow {
		b.Fatalf("setup: %v %s", r.Decision, r.Reason)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in)
	}
}

// BenchmarkEvaluateDenied evaluates a request those policies implicitly
// deny.
func BenchmarkEvaluateDenied(b *testing.B) {
	in := benchInput(b)
	in.Request.Action = "lambda:CreateFunctionUrlConfig"
	if r := Evaluate(in); r.Decision != ImplicitDeny {
		b.Fatalf("setup: %v", r.Decision)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in)
	}
}

// BenchmarkEvaluateCrossAccount adds a function policy and a boundary and
// evaluates a cross-account call.
func BenchmarkEvaluateCrossAccount(b *testing.B) {
	in := benchInput(b)
	res, err := Parse([]byte(`{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"x","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:333333333333:function:dev-api"}]}`), Resource)
	if err != nil {
		b.Fatal(err)
	}
	bnd, err := Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["lambda:*","logs:*"],"Resource":"*"}}`), Identity)
	if err != nil {
		b.Fatal(err)
	}
	in.Request.Principal = bob
	in.Request.Resource = "arn:aws:lambda:us-east-1:333333333333:function:dev-api"
	in.Identity[1], _ = Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:*:333333333333:function:*"}}`), Identity)
	in.Resource, in.Boundary, in.ResourceAccount = res, bnd, "333333333333"
	if r := Evaluate(in); r.Decision != Allow {
		b.Fatalf("setup: %v %s", r.Decision, r.Reason)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in)
	}
}

// BenchmarkParseHostile parses a maximum-size document whose condition
// block has thousands of members (the duplicate-name check must stay
// linear).
func BenchmarkParseHostile(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{`)
	for i := 0; sb.Len() < MaxDocumentSize-64; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"a:%d":"v"`, i)
	}
	sb.WriteString(`}}}}`)
	d := []byte(sb.String())
	if _, err := Parse(d, Identity); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(d)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(d, Identity); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGlobWorstCase matches a maximum-length pattern built to make the
// wildcard matcher backtrack against a 2 KiB value (an ARN's maximum
// length) that it does not match.
func BenchmarkGlobWorstCase(b *testing.B) {
	pat := "*" + strings.Repeat("a?", (MaxStringSize-2)/2) + "b"
	p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:x":"`+pat+`"}}}}`), Identity)
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Principal: alice, Action: "s3:GetObject", Resource: "*"}
	req.Context.Set("aws:x", strings.Repeat("a", 2048))
	in := Input{Request: req, Identity: []*Policy{p}}
	if Evaluate(in).Decision != ImplicitDeny {
		b.Fatal("setup: pattern matched")
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in)
	}
}
