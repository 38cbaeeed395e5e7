package policy_test

import (
	"errors"
	"fmt"

	"github.com/cloister/cloister/internal/policy"
)

func ExampleEvaluate() {
	// The function policy AddPermission built for an S3 bucket notification.
	fn, err := policy.Parse([]byte(`{"Version":"2012-10-17","Id":"default","Statement":[{
		"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},
		"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:thumbs",
		"Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::photos"}}}]}`), policy.Resource)
	if err != nil {
		fmt.Println(err)
		return
	}
	req := policy.Request{
		Principal: policy.Principal{Type: policy.TypeService, Service: "s3.amazonaws.com"},
		Action:    "lambda:InvokeFunction",
		Resource:  "arn:aws:lambda:us-east-1:111111111111:function:thumbs",
	}
	req.Context.Set("aws:SourceAccount", "111111111111")
	req.Context.Set("aws:SourceArn", "arn:aws:s3:::photos")
	r := policy.Evaluate(policy.Input{Request: req, Resource: fn, ResourceAccount: "111111111111"})
	fmt.Println(r.Decision, r.Matched[0].Sid)

	// A user of another account, with no policy of its own.
	req = policy.Request{
		Principal: policy.Principal{Type: policy.TypeUser, ARN: "arn:aws:iam::222222222222:user/bob", Account: "222222222222"},
		Action:    "lambda:GetFunction",
		Resource:  "arn:aws:lambda:us-east-1:111111111111:function:thumbs",
	}
	r = policy.Evaluate(policy.Input{Request: req, Resource: fn, ResourceAccount: "111111111111"})
	fmt.Println(r.Message(req))
	// Output:
	// allowed s3
	// User: arn:aws:iam::222222222222:user/bob is not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:thumbs because no identity-based policy allows the lambda:GetFunction action
}

func ExampleParse() {
	_, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*",
		"Condition":{"StringEqualz":{"aws:PrincipalTag/team":"blue"}}}}`), policy.Identity)
	var pe *policy.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Message)
	}
	// Output: Invalid Condition type : StringEqualz
}
