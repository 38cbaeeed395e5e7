package iam

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
)

// LambdaService is the service principal of AWS Lambda.
const LambdaService = "lambda.amazonaws.com"

// ErrRoleNotAssumable means a role does not exist or does not trust the
// service that wants to assume it.
var ErrRoleNotAssumable = errors.New("iam: role cannot be assumed by the service")

// Limits on IssueRoleSession's duration.
const (
	MinLambdaSession     = 15 * time.Minute
	MaxLambdaSession     = 12 * time.Hour
	DefaultLambdaSession = time.Hour
)

// trustsService reports whether role r's trust policy lets the service
// principal svc assume it.
func (s *Service) trustsService(r *Role, svc string) bool {
	trust, err := s.TrustPolicy(r)
	if err != nil {
		return false
	}
	req := policy.Request{
		Principal: policy.Principal{Type: policy.TypeService, Service: svc},
		Action:    "sts:AssumeRole",
		Resource:  r.ARN(),
	}
	req.Context.SetTime(s.now())
	req.Context.Set("aws:SourceAccount", r.Account)
	return policy.Evaluate(policy.Input{Request: req, Resource: trust, ResourceAccount: r.Account}).Allowed()
}

// IssueRoleSession issues the temporary credentials of a Lambda function's
// execution role, as Lambda does for each execution environment: a session
// of roleARN named sessionName (the function name), valid for duration (0
// means one hour; 15 minutes to 12 hours). There is no caller: the role's
// trust policy must let lambda.amazonaws.com assume it, otherwise the error
// matches ErrRoleNotAssumable. The session's permissions are the role's,
// evaluated on every request it signs.
func (s *Service) IssueRoleSession(ctx context.Context, roleARN, sessionName string, duration time.Duration) (Credentials, error) {
	if duration == 0 {
		duration = DefaultLambdaSession
	}
	if duration < MinLambdaSession || duration > MaxLambdaSession {
		return Credentials{}, fmt.Errorf("iam: session duration %v is outside %v..%v", duration, MinLambdaSession, MaxLambdaSession)
	}
	var v violations
	checkSessionName(&v, sessionName)
	if err := v.err(); err != nil {
		return Credentials{}, fmt.Errorf("iam: session name %q: %w", sessionName, err)
	}
	r := s.roleFromARN(roleARN)
	if r == nil {
		return Credentials{}, fmt.Errorf("%w: %s does not exist", ErrRoleNotAssumable, roleARN)
	}
	if !s.trustsService(r, LambdaService) {
		return Credentials{}, fmt.Errorf("%w: %s does not trust %s", ErrRoleNotAssumable, roleARN, LambdaService)
	}
	p := Principal{
		Account: r.Account, ARN: AssumedRoleARN(r.Account, r.Name, sessionName), UserID: r.ID + ":" + sessionName,
		Type: TypeAssumedRole, Name: sessionName, RoleARN: r.ARN(), RoleID: r.ID, RoleName: r.Name, Session: SessionLambda,
	}
	return s.issue(ctx, p, duration, nil)
}

// CheckExecutionRole decides whether a function of caller's account may
// use roleARN as its execution role, as CreateFunction and
// UpdateFunctionConfiguration do: the caller must be allowed iam:PassRole
// on the role (passed to lambda.amazonaws.com), else AccessDenied; and the
// role must exist in the caller's account and trust lambda.amazonaws.com,
// else InvalidParameterValueException "The role defined for the function
// cannot be assumed by Lambda.".
func (s *Service) CheckExecutionRole(ctx context.Context, caller Principal, roleARN string) error {
	cannot := awserr.New(awserr.InvalidParameterValue, "The role defined for the function cannot be assumed by Lambda.")
	account, _, _, ok := parseEntityARN(roleARN, kindRole)
	if !ok || account != caller.Account {
		return cannot
	}
	err := s.Authorize(ctx, Request{
		Caller: caller, Action: "iam:PassRole", Resource: roleARN, ResourceAccount: account,
		Context: map[string][]string{"iam:PassedToService": {LambdaService}},
	})
	if err != nil {
		return err
	}
	r := s.roleFromARN(roleARN)
	if r == nil || !s.trustsService(r, LambdaService) {
		return cannot
	}
	return nil
}
