package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/sigv4"
)

// The Organizations API (AWS JSON 1.1, X-Amz-Target
// AWSOrganizationsV20161128.<Op>), with which the operator manages
// accounts and their guardrails (service control policies). Only
// principals of the management (default) account may use it, and only as
// far as their policies allow organizations:<Op>.

const orgsTargetPrefix = "AWSOrganizationsV20161128."

// orgsOp is one Organizations operation: resource derives the resource ARN
// from the decoded input, handle runs it after authorization.
type orgsOp struct {
	// memberAllowed: member accounts may call it too.
	memberAllowed bool
	input         func() any
	resource      func(o *orgsCall, in any) (string, error)
	handle        func(o *orgsCall, in any) (any, error)
}

// orgsCall is one Organizations request being served.
type orgsCall struct {
	*call
	s   *Server
	org iam.Organization
}

func (o *orgsCall) ids() *iam.Service { return o.s.cfg.IAM }

// serveOrgs authenticates, decodes, authorizes and runs an Organizations
// request.
func (s *Server) serveOrgs(c *call, a *sigv4.Auth, perr error) error {
	c.route = &route{action: "organizations:Unknown"}
	if err := s.authenticateGlobal(c, a, perr, "organizations"); err != nil {
		return err
	}
	name, ok := strings.CutPrefix(c.r.Header.Get("X-Amz-Target"), orgsTargetPrefix)
	op, known := orgsOps[name]
	if !ok || !known || c.r.Method != http.MethodPost {
		return awserr.New(awserr.UnknownOperation, "Unknown operation %s", truncate(c.r.Header.Get("X-Amz-Target"), 128))
	}
	c.route = &route{action: "organizations:" + name}
	org, err := s.cfg.IAM.Organization(c.ctx)
	if err != nil {
		return err
	}
	if c.caller.Account != org.ManagementAccount && !op.memberAllowed {
		return awserr.New(awserr.AccessDenied, "You don't have permissions to access this resource.")
	}
	in := op.input()
	if err := decodeJSON(c.body, in); err != nil {
		return awserr.New(awserr.OrgsInvalidInput, "%s", awserr.As(err).Message)
	}
	o := &orgsCall{call: c, s: s, org: org}
	arn, err := op.resource(o, in)
	if err != nil {
		return err
	}
	c.resource = arn
	owner := org.ManagementAccount
	if op.memberAllowed {
		// What every member may see is decided by its own policies.
		owner = c.caller.Account
	}
	if err := s.cfg.Authorizer.Authorize(c.ctx, iam.Request{
		Caller: c.caller, Action: c.route.action, Resource: arn, ResourceAccount: owner,
		SourceIP: sourceIP(c.r), SecureTransport: c.r.TLS != nil,
	}); err != nil {
		return err
	}
	out, err := op.handle(o, in)
	if err != nil {
		return err
	}
	return c.jsonAmz(out)
}

// jsonAmz writes an AWS JSON 1.1 response.
func (c *call) jsonAmz(v any) error {
	if v == nil {
		v = struct{}{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	c.status = http.StatusOK
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
	return nil
}

// writeJSONError is the one place where an error becomes an AWS JSON 1.1
// error response.
func (s *Server) writeJSONError(c *call, err error) {
	e := awserr.As(err)
	status := e.Type.Status()
	if status >= 500 {
		s.log.Error("request failed", "request_id", c.requestID, "action", actionOf(c), "error_type", string(e.Type), "err", err)
	}
	c.errType = string(e.Type)
	body, _ := json.Marshal(e.JSONBody())
	c.w.Header().Set("X-Amzn-ErrorType", string(e.Type))
	c.w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	c.status = status
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

// epoch is a timestamp as AWS JSON sends it: seconds since the epoch.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(time.Time(t).Unix(), 10)), nil
}

type orgsTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type orgsAccount struct {
	ID              string `json:"Id"`
	Arn             string `json:"Arn"`
	Email           string `json:"Email"`
	Name            string `json:"Name"`
	Status          string `json:"Status"`
	JoinedMethod    string `json:"JoinedMethod"`
	JoinedTimestamp epoch  `json:"JoinedTimestamp"`
}

type orgsStatus struct {
	ID                 string `json:"Id"`
	AccountName        string `json:"AccountName"`
	State              string `json:"State"`
	RequestedTimestamp epoch  `json:"RequestedTimestamp"`
	CompletedTimestamp epoch  `json:"CompletedTimestamp"`
	AccountID          string `json:"AccountId,omitempty"`
	FailureReason      string `json:"FailureReason,omitempty"`
}

type orgsPolicySummary struct {
	ID          string `json:"Id"`
	Arn         string `json:"Arn"`
	Name        string `json:"Name"`
	Description string `json:"Description"`
	Type        string `json:"Type"`
	AwsManaged  bool   `json:"AwsManaged"`
}

type orgsPolicy struct {
	PolicySummary orgsPolicySummary `json:"PolicySummary"`
	Content       string            `json:"Content"`
}

func (o *orgsCall) account(a iam.Account) orgsAccount {
	method := "CREATED"
	if a.ID == o.org.ManagementAccount {
		method = "INVITED"
	}
	return orgsAccount{ID: a.ID, Arn: o.org.AccountARN(a.ID), Email: a.Email, Name: a.Name, Status: "ACTIVE",
		JoinedMethod: method, JoinedTimestamp: epoch(a.CreateDate)}
}

func (o *orgsCall) summary(p *iam.OrgPolicy) orgsPolicySummary {
	return orgsPolicySummary{ID: p.ID, Arn: o.org.PolicyARN(p), Name: p.Name, Description: p.Description, Type: iam.SCPType, AwsManaged: p.AWSManaged}
}

func status(st iam.CreateAccountStatus) orgsStatus {
	return orgsStatus{ID: st.ID, AccountName: st.AccountName, State: st.State, RequestedTimestamp: epoch(st.Requested),
		CompletedTimestamp: epoch(st.Completed), AccountID: st.AccountID, FailureReason: st.FailureReason}
}

// Inputs.
type (
	orgsCreateAccountIn struct {
		Email       string
		AccountName string
		RoleName    string
		Tags        []orgsTag
	}
	orgsStatusIn struct{ CreateAccountRequestId string }
	orgsPageIn   struct {
		NextToken  string
		MaxResults *int
	}
	orgsAccountIn      struct{ AccountId string }
	orgsCreatePolicyIn struct {
		Content, Description, Name, Type string
		Tags                             []orgsTag
	}
	orgsUpdatePolicyIn struct {
		PolicyId                   string
		Name, Description, Content *string
	}
	orgsPolicyIn     struct{ PolicyId string }
	orgsListPolicyIn struct {
		Filter string
		orgsPageIn
	}
	orgsAttachIn    struct{ PolicyId, TargetId string }
	orgsForTargetIn struct {
		TargetId, Filter string
		orgsPageIn
	}
	orgsTargetsIn struct {
		PolicyId string
		orgsPageIn
	}
)

func in[T any]() func() any { return func() any { return new(T) } }

func anyResource2(*orgsCall, any) (string, error) { return "*", nil }

// orgsPage picks a page (MaxResults 1-20) and the next token.
func orgsPage(p orgsPageIn, n int) (start, end int, next string, err error) {
	max := 20
	if p.MaxResults != nil {
		if *p.MaxResults < 1 || *p.MaxResults > 20 {
			return 0, 0, "", awserr.New(awserr.OrgsInvalidInput, "You specified an invalid value for maxResults.")
		}
		max = *p.MaxResults
	}
	if p.NextToken != "" {
		v, ok := strings.CutPrefix(p.NextToken, "cloister-")
		i, perr := strconv.Atoi(v)
		if !ok || perr != nil || i < 0 || strconv.Itoa(i) != v {
			return 0, 0, "", awserr.New(awserr.OrgsInvalidInput, "You specified an invalid value for nextToken.")
		}
		start = min(i, n)
	}
	end = min(start+max, n)
	if end < n {
		next = "cloister-" + strconv.Itoa(end)
	}
	return start, end, next, nil
}

func checkSCPType(t string) error {
	if t != iam.SCPType {
		return awserr.New(awserr.OrgsInvalidInput, "You specified an invalid value for policyType. Cloister supports SERVICE_CONTROL_POLICY.")
	}
	return nil
}

func (o *orgsCall) policyARN(id string) (string, error) {
	p, err := o.ids().SCP(o.ctx, id)
	if err != nil {
		return "", err
	}
	return o.org.PolicyARN(p), nil
}

func tagsOf(tags []orgsTag) []iam.Tag {
	out := make([]iam.Tag, len(tags))
	for i, t := range tags {
		out[i] = iam.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

var orgsOps = map[string]orgsOp{
	"DescribeOrganization": {memberAllowed: true, input: in[struct{}](), resource: func(o *orgsCall, _ any) (string, error) { return o.org.ARN, nil },
		handle: func(o *orgsCall, _ any) (any, error) {
			return map[string]any{"Organization": map[string]any{
				"Id": o.org.ID, "Arn": o.org.ARN, "FeatureSet": "ALL", "MasterAccountArn": o.org.ManagementARN,
				"MasterAccountId": o.org.ManagementAccount, "MasterAccountEmail": o.org.ManagementEmail,
				"AvailablePolicyTypes": []map[string]string{{"Type": iam.SCPType, "Status": "ENABLED"}},
			}}, nil
		}},
	"CreateAccount": {input: in[orgsCreateAccountIn](), resource: anyResource2,
		handle: func(o *orgsCall, v any) (any, error) {
			in := v.(*orgsCreateAccountIn)
			st, _, err := o.ids().CreateOrgAccount(o.ctx, iam.CreateAccountInput{Name: in.AccountName, Email: in.Email, RoleName: in.RoleName})
			if err != nil {
				return nil, err
			}
			return map[string]any{"CreateAccountStatus": status(st)}, nil
		}},
	"DescribeCreateAccountStatus": {input: in[orgsStatusIn](), resource: anyResource2,
		handle: func(o *orgsCall, v any) (any, error) {
			st, err := o.ids().CreateAccountStatusByID(o.ctx, v.(*orgsStatusIn).CreateAccountRequestId)
			if err != nil {
				return nil, err
			}
			return map[string]any{"CreateAccountStatus": status(st)}, nil
		}},
	"ListAccounts": {input: in[orgsPageIn](), resource: anyResource2,
		handle: func(o *orgsCall, v any) (any, error) {
			accounts, err := o.ids().Accounts(o.ctx)
			if err != nil {
				return nil, err
			}
			start, end, next, err := orgsPage(*v.(*orgsPageIn), len(accounts))
			if err != nil {
				return nil, err
			}
			out := make([]orgsAccount, 0, end-start)
			for _, a := range accounts[start:end] {
				out = append(out, o.account(a))
			}
			return map[string]any{"Accounts": out, "NextToken": omitEmpty(next)}, nil
		}},
	"DescribeAccount": {input: in[orgsAccountIn](),
		resource: func(o *orgsCall, v any) (string, error) { return o.org.AccountARN(v.(*orgsAccountIn).AccountId), nil },
		handle: func(o *orgsCall, v any) (any, error) {
			a, err := o.ids().OrgAccount(o.ctx, v.(*orgsAccountIn).AccountId)
			if err != nil {
				return nil, err
			}
			return map[string]any{"Account": o.account(a)}, nil
		}},
	"CreatePolicy": {input: in[orgsCreatePolicyIn](), resource: anyResource2,
		handle: func(o *orgsCall, v any) (any, error) {
			in := v.(*orgsCreatePolicyIn)
			if err := checkSCPType(in.Type); err != nil {
				return nil, err
			}
			p, err := o.ids().CreateSCP(o.ctx, in.Name, in.Description, in.Content, tagsOf(in.Tags))
			if err != nil {
				return nil, err
			}
			return map[string]any{"Policy": orgsPolicy{PolicySummary: o.summary(p), Content: p.Content}}, nil
		}},
	"UpdatePolicy": {input: in[orgsUpdatePolicyIn](),
		resource: func(o *orgsCall, v any) (string, error) { return o.policyARN(v.(*orgsUpdatePolicyIn).PolicyId) },
		handle: func(o *orgsCall, v any) (any, error) {
			in := v.(*orgsUpdatePolicyIn)
			p, err := o.ids().UpdateSCP(o.ctx, in.PolicyId, in.Name, in.Description, in.Content)
			if err != nil {
				return nil, err
			}
			return map[string]any{"Policy": orgsPolicy{PolicySummary: o.summary(p), Content: p.Content}}, nil
		}},
	"DeletePolicy": {input: in[orgsPolicyIn](),
		resource: func(o *orgsCall, v any) (string, error) { return o.policyARN(v.(*orgsPolicyIn).PolicyId) },
		handle: func(o *orgsCall, v any) (any, error) {
			return nil, o.ids().DeleteSCP(o.ctx, v.(*orgsPolicyIn).PolicyId)
		}},
	"DescribePolicy": {input: in[orgsPolicyIn](),
		resource: func(o *orgsCall, v any) (string, error) { return o.policyARN(v.(*orgsPolicyIn).PolicyId) },
		handle: func(o *orgsCall, v any) (any, error) {
			p, err := o.ids().SCP(o.ctx, v.(*orgsPolicyIn).PolicyId)
			if err != nil {
				return nil, err
			}
			return map[string]any{"Policy": orgsPolicy{PolicySummary: o.summary(p), Content: p.Content}}, nil
		}},
	"ListPolicies": {input: in[orgsListPolicyIn](), resource: anyResource2,
		handle: func(o *orgsCall, v any) (any, error) {
			in := v.(*orgsListPolicyIn)
			if err := checkSCPType(in.Filter); err != nil {
				return nil, err
			}
			return o.policyPage(o.ids().SCPs(), in.orgsPageIn)
		}},
	"AttachPolicy": {input: in[orgsAttachIn](),
		resource: func(o *orgsCall, v any) (string, error) { return o.policyARN(v.(*orgsAttachIn).PolicyId) },
		handle: func(o *orgsCall, v any) (any, error) {
			in := v.(*orgsAttachIn)
			return nil, o.ids().AttachSCP(o.ctx, in.PolicyId, in.TargetId)
		}},
	"DetachPolicy": {input: in[orgsAttachIn](),
		resource: func(o *orgsCall, v any) (string, error) { return o.policyARN(v.(*orgsAttachIn).PolicyId) },
		handle: func(o *orgsCall, v any) (any, error) {
			in := v.(*orgsAttachIn)
			return nil, o.ids().DetachSCP(o.ctx, in.PolicyId, in.TargetId)
		}},
	"ListPoliciesForTarget": {input: in[orgsForTargetIn](),
		resource: func(o *orgsCall, v any) (string, error) { return o.org.AccountARN(v.(*orgsForTargetIn).TargetId), nil },
		handle: func(o *orgsCall, v any) (any, error) {
			in := v.(*orgsForTargetIn)
			if err := checkSCPType(in.Filter); err != nil {
				return nil, err
			}
			list, err := o.ids().SCPsForTarget(o.ctx, in.TargetId)
			if err != nil {
				return nil, err
			}
			return o.policyPage(list, in.orgsPageIn)
		}},
	"ListTargetsForPolicy": {input: in[orgsTargetsIn](),
		resource: func(o *orgsCall, v any) (string, error) { return o.policyARN(v.(*orgsTargetsIn).PolicyId) },
		handle: func(o *orgsCall, v any) (any, error) {
			in := v.(*orgsTargetsIn)
			targets, err := o.ids().TargetsForSCP(o.ctx, in.PolicyId)
			if err != nil {
				return nil, err
			}
			start, end, next, err := orgsPage(in.orgsPageIn, len(targets))
			if err != nil {
				return nil, err
			}
			out := []map[string]string{}
			for _, id := range targets[start:end] {
				name := ""
				if a, err := o.ids().Account(o.ctx, id); err == nil {
					name = a.Name
				}
				out = append(out, map[string]string{"TargetId": id, "Arn": o.org.AccountARN(id), "Name": name, "Type": "ACCOUNT"})
			}
			return map[string]any{"Targets": out, "NextToken": omitEmpty(next)}, nil
		}},
}

func (o *orgsCall) policyPage(list []*iam.OrgPolicy, p orgsPageIn) (any, error) {
	start, end, next, err := orgsPage(p, len(list))
	if err != nil {
		return nil, err
	}
	out := make([]orgsPolicySummary, 0, end-start)
	for _, pol := range list[start:end] {
		out = append(out, o.summary(pol))
	}
	return map[string]any{"Policies": out, "NextToken": omitEmpty(next)}, nil
}

// omitEmpty makes an empty NextToken null, as AWS leaves it out.
func omitEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
