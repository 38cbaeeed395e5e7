package iam

import (
	"context"
	"fmt"

	"github.com/cloister/cloister/internal/awserr"
)

// Request is one authorization question: may Caller perform Action on
// Resource, which belongs to ResourceAccount?
type Request struct {
	Caller          Principal
	Action          string // "lambda:CreateFunction"
	Resource        string // an ARN, or "*"
	ResourceAccount string // "" for account-less actions
	SourceIP        string
	SecureTransport bool
}

// Authorize answers a Request. Until policies exist, an account's root may do
// everything in its own account and nothing in another.
func (s *Service) Authorize(ctx context.Context, req Request) error {
	if req.ResourceAccount == "" || req.ResourceAccount == req.Caller.Account {
		return nil
	}
	return Denied(req, "because no resource-based policy allows the "+req.Action+" action")
}

// Denied is AWS's AccessDeniedException for req.
func Denied(req Request, reason string) error {
	return awserr.New(awserr.AccessDenied, "%s", fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s",
		req.Caller.ARN, req.Action, req.Resource, reason))
}
