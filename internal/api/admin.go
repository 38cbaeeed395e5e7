package api

import (
	"net/http"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/sigv4"
)

// Cloister's account administration endpoint, for the operator's
// `cloister account create`:
//
//	POST /_cloister/admin/accounts  {"AccountName": "...", "Email": "..."}
//
// creates a member account as Organizations' CreateAccount does and
// returns, once, the access key of the new account's root user. Requests
// are SigV4-signed for the service "cloister" by a principal of the
// management account allowed organizations:CreateAccount.

// AdminService is the SigV4 service name of the admin endpoint.
const AdminService = "cloister"

// AdminCreateAccountInput is the admin endpoint's request body.
type AdminCreateAccountInput struct {
	AccountName string `json:"AccountName"`
	Email       string `json:"Email,omitempty"`
}

// AdminCreateAccountOutput is the admin endpoint's response body.
type AdminCreateAccountOutput struct {
	AccountID       string `json:"AccountId"`
	AccountName     string `json:"AccountName"`
	Email           string `json:"Email"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
}

func (s *Server) serveAdmin(c *call) error {
	c.route = &route{action: "organizations:CreateAccount", maxBody: 64 << 10}
	if c.r.URL.Path != adminPrefix+"accounts" || c.r.Method != http.MethodPost {
		c.route = nil
		return awserr.New(awserr.UnknownOperation, "Unknown operation %s %s", c.r.Method, truncate(c.r.URL.Path, 128))
	}
	a, perr := sigv4.Parse(c.r)
	if err := s.authenticateGlobal(c, a, perr, AdminService); err != nil {
		return err
	}
	org, err := s.cfg.IAM.Organization(c.ctx)
	if err != nil {
		return err
	}
	if c.caller.Account != org.ManagementAccount {
		return awserr.New(awserr.AccessDenied, "You don't have permissions to access this resource.")
	}
	var in AdminCreateAccountInput
	if err := decodeJSON(c.body, &in); err != nil {
		return err
	}
	c.resource = "*"
	if err := s.cfg.Authorizer.Authorize(c.ctx, iam.Request{
		Caller: c.caller, Action: "organizations:CreateAccount", Resource: "*", ResourceAccount: org.ManagementAccount,
		SourceIP: sourceIP(c.r), SecureTransport: c.r.TLS != nil,
	}); err != nil {
		return err
	}
	if in.Email == "" {
		in.Email = "root-" + newRequestID()[:8] + "@accounts.cloister.invalid"
	}
	st, acct, err := s.cfg.IAM.CreateOrgAccount(c.ctx, iam.CreateAccountInput{Name: in.AccountName, Email: in.Email})
	if awserr.IsType(err, awserr.OrgsInvalidInput) {
		return awserr.New(awserr.InvalidParameterValue, "%s", awserr.As(err).Message)
	}
	if err != nil {
		return err
	}
	if st.State != "SUCCEEDED" {
		return awserr.New(awserr.ResourceConflict, "The account could not be created: %s", st.FailureReason)
	}
	key, created, err := s.cfg.IAM.EnsureRootKey(c.ctx, acct.ID, "", "")
	if err != nil {
		return err
	}
	if !created {
		return awserr.New(awserr.ResourceConflict, "The root access key of account %s was already issued.", acct.ID)
	}
	return c.json(http.StatusCreated, AdminCreateAccountOutput{
		AccountID: acct.ID, AccountName: acct.Name, Email: acct.Email,
		AccessKeyID: key.AccessKeyID, SecretAccessKey: key.Secret.Reveal(),
	})
}
