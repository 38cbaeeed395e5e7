package iam

import (
	"context"
	"fmt"

	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
)

// AuthorizeRole decides whether Lambda, acting as a session of a
// function's execution role, may perform action on resource: the check
// Lambda makes before it polls a queue for an event source mapping or
// delivers an asynchronous invocation's outcome to a destination or
// dead-letter queue. No credentials are issued: the session is the one
// IssueRoleSession would issue (a session of roleARN named sessionName,
// see LambdaSessionName), and the request is decided by Authorize, so the
// role's identity-based policies, its permissions boundary, the account's
// guardrails and, for resourceAccount other than the role's, the
// resource's policy (resourcePolicy, which may be nil) all apply. The
// request is one Lambda makes over TLS (aws:SecureTransport is true) in
// the resource's region (aws:RequestedRegion, read from its ARN).
//
// It returns nil to allow. A role that does not exist or does not trust
// lambda.amazonaws.com can do nothing; that, and any denial, is an
// AccessDenied error (awserr.AccessDenied), the former also matching
// ErrRoleNotAssumable. Other errors mean the decision could not be made.
func (s *Service) AuthorizeRole(ctx context.Context, roleARN, sessionName, action, resource, resourceAccount string,
	resourcePolicy func(context.Context) (*policy.Policy, error)) error {
	var v violations
	checkSessionName(&v, sessionName)
	if err := v.err(); err != nil {
		return fmt.Errorf("iam: session name %q: %w", sessionName, err)
	}
	r := s.roleFromARN(roleARN)
	if r == nil || !s.trustsService(r, LambdaService) {
		why := "does not exist"
		if r != nil {
			why = "does not trust " + LambdaService
		}
		return awserr.Wrap(awserr.AccessDenied, fmt.Errorf("%w: %s %s", ErrRoleNotAssumable, roleARN, why),
			fmt.Sprintf("The role %s cannot be assumed by Lambda: it %s.", roleARN, why))
	}
	caller := Principal{
		Account: r.Account, ARN: AssumedRoleARN(r.Account, r.Name, sessionName), UserID: r.ID + ":" + sessionName,
		Type: TypeAssumedRole, Name: sessionName, RoleARN: r.ARN(), RoleID: r.ID, RoleName: r.Name,
		Session: SessionLambda, IssuedAt: s.now().UTC(),
	}
	req := Request{
		Caller: caller, Action: action, Resource: resource, ResourceAccount: resourceAccount,
		SecureTransport: true, ResourcePolicy: resourcePolicy,
	}
	if region := arn.Region(resource); region != "" {
		req.Context = map[string][]string{"aws:RequestedRegion": {region}}
	}
	return s.Authorize(ctx, req)
}

// LambdaSessionName is the role session name Lambda gives a function's
// execution role: the function's name, padded to STS's two-character
// minimum.
func LambdaSessionName(function string) string {
	if len(function) < 2 {
		return function + "_"
	}
	return function
}
