package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/sigv4"
)

// adminPrefix is where Cloister's account administration endpoint lives.
const adminPrefix = "/_cloister/admin/"

// globalRegion is the region AWS's global services (IAM, STS's global
// endpoint, Organizations) are signed for; Cloister accepts it besides its
// own region.
const globalRegion = "us-east-1"

// invalidTokenMessage is what AWS says for an unknown key or a wrong
// session token.
const invalidTokenMessage = "The security token included in the request is invalid."

// serveRoot serves POST / : IAM and STS (AWS Query protocol) and
// Organizations (AWS JSON 1.1), told apart by the SigV4 credential scope's
// service. It writes its own responses and errors, each protocol's way.
func (s *Server) serveRoot(c *call) error {
	a, perr := sigv4.Parse(c.r)
	service := ""
	switch {
	case perr == nil:
		service = a.Service
	case c.r.Header.Get("X-Amz-Target") != "":
		service = "organizations"
	default:
		service = "iam"
	}
	switch service {
	case "iam", "sts":
		ns := iamNamespace
		if service == "sts" {
			ns = stsNamespace
		}
		if err := s.serveQuery(c, a, perr, service); err != nil {
			s.writeQueryError(c, ns, err)
		}
	case "organizations":
		if err := s.serveOrgs(c, a, perr); err != nil {
			s.writeJSONError(c, err)
		}
	default:
		return awserr.New(awserr.UnknownOperation, "Unknown operation %s %s", c.r.Method, truncate(c.r.URL.Path, 128))
	}
	return nil
}

// authenticateGlobal verifies a request to a global service, signed for
// that service and for us-east-1 or the server's region.
func (s *Server) authenticateGlobal(c *call, a *sigv4.Auth, perr error, service string) error {
	if perr != nil {
		return authError(perr)
	}
	if a.Service != service {
		return awserr.New(awserr.InvalidSignature, "Credential should be scoped to correct service: '%s'. ", service)
	}
	if a.Region != s.cfg.Region && a.Region != globalRegion {
		return awserr.New(awserr.InvalidSignature, "Credential should be scoped to a valid region. ")
	}
	return s.verify(c, a, invalidTokenMessage)
}

// qcall is one Query protocol request being served.
type qcall struct {
	*call
	s      *Server
	p      params
	ns     string
	action string // the operation, e.g. "CreateUser"
	// account is the caller's account: IAM operations act on it.
	account string
	// authorized is set once the operation's authorization passed; the
	// handler never runs without it.
	authorized bool
	// values the authorization stage derived, for the handler.
	name string
	arn  string
	role *iam.Role
}

// queryOp is one Query protocol operation: authz derives what the request
// touches and authorizes it without changing anything; handle does it.
type queryOp struct {
	authz  func(q *qcall) error
	handle func(q *qcall) error
}

// serveQuery authenticates, decodes and dispatches an IAM or STS request.
func (s *Server) serveQuery(c *call, a *sigv4.Auth, perr error, service string) error {
	c.route = &route{action: service + ":Unknown"}
	if err := s.authenticateGlobal(c, a, perr, service); err != nil {
		return err
	}
	p, err := queryParams(c)
	if err != nil {
		return err
	}
	action := p.get("Action")
	ops, ns, version := iamOps, iamNamespace, "2010-05-08"
	if service == "sts" {
		ops, ns, version = stsOps, stsNamespace, "2011-06-15"
	}
	if action == "" {
		return awserr.New(awserr.MissingAction, "Missing Action")
	}
	op, ok := ops[action]
	if !ok {
		return awserr.New(awserr.UnknownOperation, "Could not find operation %s for version %s", truncate(action, 64), version)
	}
	c.route = &route{action: service + ":" + action}
	q := &qcall{call: c, s: s, p: p, ns: ns, action: action, account: c.caller.Account}
	if err := op.authz(q); err != nil {
		return err
	}
	if !q.authorized {
		s.log.Error("operation did not authorize", "action", action)
		return awserr.New(awserr.Service, "An internal error occurred.")
	}
	return op.handle(q)
}

// queryParams decodes a Query request's parameters: the form body of a
// POST and the URL's query string.
func queryParams(c *call) (params, error) {
	malformed := awserr.New(awserr.MalformedQueryString, "The request's parameters could not be decoded.")
	p, err := parseForm(c.r.URL.RawQuery)
	if err != nil {
		return nil, malformed
	}
	if c.r.Method == http.MethodPost {
		ct := strings.ToLower(c.r.Header.Get("Content-Type"))
		if ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			return nil, awserr.New(awserr.MalformedQueryString, "The request's Content-Type must be application/x-www-form-urlencoded.")
		}
		body, err := parseForm(string(c.body))
		if err != nil {
			return nil, malformed
		}
		for k, v := range body {
			if _, dup := p[k]; dup {
				return nil, malformed
			}
			p[k] = v
		}
	}
	return params(p), nil
}

// authorize asks the Authorizer whether the caller may perform action on
// resource (in resourceAccount, "" meaning the caller's), with extra
// condition keys and the target's resource-based policy.
func (q *qcall) authorize(action, resource, resourceAccount string, keys map[string][]string, rp func(context.Context) (*policy.Policy, error)) error {
	if resourceAccount == "" {
		resourceAccount = q.account
	}
	if q.resource == "" {
		q.resource = resource
	}
	err := q.s.cfg.Authorizer.Authorize(q.ctx, iam.Request{
		Caller: q.caller, Action: action, Resource: resource, ResourceAccount: resourceAccount,
		SourceIP: sourceIP(q.r), SecureTransport: q.r.TLS != nil, Context: keys, ResourcePolicy: rp,
	})
	if err != nil {
		return err
	}
	q.authorized = true
	return nil
}

// noAuthorization marks an operation that AWS performs for any
// authenticated caller (sts:GetCallerIdentity).
func (q *qcall) noAuthorization() { q.authorized = true }

// respond writes the operation's result.
func (q *qcall) respond(result func(w *xmlWriter)) error {
	return q.queryResponse(q.ns, q.action, result)
}

// done writes the response of an operation without a result.
func (q *qcall) done() error { return q.queryResponse(q.ns, q.action, nil) }
