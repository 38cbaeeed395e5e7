package iam

import (
	"sync"
	"time"

	"github.com/cloister/cloister/internal/policy"
)

// The AWS managed policies Cloister ships. Their documents are written for
// Cloister to the same intent as AWS's policies of the same names: they
// grant what the name says on the services Cloister implements (Lambda,
// IAM, STS, Organizations, CloudWatch Logs actions on function logs).
var awsManagedDocs = []struct {
	path, name, id, description, doc string
}{
	{"/", "AdministratorAccess", "ANPAIWMBCKSKIEE64ZLYK",
		"Provides full access to AWS services and resources.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
	{"/", "ReadOnlyAccess", "ANPAILL3HVNFSB6DCOWYQ",
		"Provides read-only access to AWS services and resources.",
		`{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnly","Effect":"Allow","Action":[` +
			`"lambda:Get*","lambda:List*","iam:Get*","iam:List*","iam:Generate*","iam:Simulate*",` +
			`"sts:GetCallerIdentity","organizations:Describe*","organizations:List*",` +
			`"logs:Describe*","logs:Get*","logs:FilterLogEvents"],"Resource":"*"}]}`},
	{"/", "IAMFullAccess", "ANPAI7XKCFMBPM3QQRRVQ",
		"Provides full access to IAM.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribePolicy","organizations:ListAccounts","organizations:ListPolicies","organizations:ListPoliciesForTarget"],"Resource":"*"}]}`},
	{"/", "IAMReadOnlyAccess", "ANPAJKSO7NDY4T57MWDSQ",
		"Provides read only access to IAM.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:Generate*","iam:Simulate*"],"Resource":"*"}]}`},
	{"/", "AWSLambda_FullAccess", "ANPAZKAPJZG4DOFJX2FVF",
		"Grants full access to AWS Lambda service, AWS Lambda console features, and other related AWS services.",
		`{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Action":["lambda:*","iam:GetPolicy","iam:GetPolicyVersion","iam:GetRole","iam:GetRolePolicy",` +
			`"iam:ListAttachedRolePolicies","iam:ListRolePolicies","iam:ListRoles","logs:DescribeLogGroups"],"Resource":"*"},` +
			`{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}},` +
			`{"Effect":"Allow","Action":["logs:DescribeLogStreams","logs:GetLogEvents","logs:FilterLogEvents"],"Resource":"arn:aws:logs:*:*:log-group:/aws/lambda/*"}]}`},
	{"/", "AWSLambda_ReadOnlyAccess", "ANPAZKAPJZG4JDPKRSPHC",
		"Grants read-only access to AWS Lambda service, AWS Lambda console features, and other related AWS services.",
		`{"Version":"2012-10-17","Statement":[` +
			`{"Effect":"Allow","Action":["lambda:Get*","lambda:List*","iam:GetPolicy","iam:GetPolicyVersion","iam:GetRole",` +
			`"iam:GetRolePolicy","iam:ListAttachedRolePolicies","iam:ListRolePolicies","iam:ListRoles","logs:DescribeLogGroups"],"Resource":"*"},` +
			`{"Effect":"Allow","Action":["logs:DescribeLogStreams","logs:GetLogEvents","logs:FilterLogEvents"],"Resource":"arn:aws:logs:*:*:log-group:/aws/lambda/*"}]}`},
	{"/service-role/", "AWSLambdaBasicExecutionRole", "ANPAJNCQGXC42545SKXIK",
		"Provides write permissions to CloudWatch Logs.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`},
	{"/service-role/", "AWSLambdaRole", "ANPAJX4DPCRGTC4NFDUXI",
		"Default policy for AWS Lambda service role.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:InvokeFunction"],"Resource":["*"]}]}`},
}

// awsManagedSet is the AWS managed policies, built once, and their parsed
// documents.
var awsManagedSet = sync.OnceValue(func() struct {
	list   []*ManagedPolicy
	byARN  map[string]*ManagedPolicy
	parsed map[string]*policy.Policy
} {
	created := time.Date(2015, 2, 6, 18, 39, 46, 0, time.UTC)
	out := struct {
		list   []*ManagedPolicy
		byARN  map[string]*ManagedPolicy
		parsed map[string]*policy.Policy
	}{byARN: map[string]*ManagedPolicy{}, parsed: map[string]*policy.Policy{}}
	for _, d := range awsManagedDocs {
		p := &ManagedPolicy{
			Account: awsAccount, Name: d.name, ID: d.id, Path: d.path, Description: d.description,
			CreateDate: created, UpdateDate: created, DefaultVersion: "v1", NextVersion: 2,
			Versions: []PolicyVersion{{ID: "v1", Document: d.doc, CreateDate: created}},
		}
		parsed, err := policy.Parse([]byte(d.doc), policy.Identity)
		if err != nil {
			panic("iam: AWS managed policy " + d.name + ": " + err.Error())
		}
		out.list = append(out.list, p)
		out.byARN[p.ARN()] = p
		out.parsed[p.ARN()] = parsed
	}
	sortBy(out.list, func(p *ManagedPolicy) string { return p.Name })
	return out
})

// awsManaged returns the AWS managed policy with this ARN, or nil.
func awsManaged(arn string) *ManagedPolicy { return awsManagedSet().byARN[arn] }

// awsManagedPolicies lists the AWS managed policies in name order.
func awsManagedPolicies() []*ManagedPolicy { return awsManagedSet().list }
