package iam

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/store"
)

// The organization: the default account is its management account, every
// other account a member. Guardrails are service control policies (SCPs)
// attached to member accounts; like AWS's, they do not apply to the
// management account.

// SCPType is the one policy type Cloister's organization supports.
const SCPType = "SERVICE_CONTROL_POLICY"

// FullAWSAccessID is the AWS managed SCP that allows everything, attached
// to every account until the operator detaches it.
const FullAWSAccessID = "p-FullAWSAccess"

// OrgAccessRole is the role CreateAccount makes in a new account for the
// management account to assume, unless told another name.
const OrgAccessRole = "OrganizationAccountAccessRole"

// Organization describes the organization.
type Organization struct {
	ID                 string
	ARN                string
	ManagementAccount  string
	ManagementARN      string
	ManagementEmail    string
	RootID             string
	AvailablePolicyIDs []string
}

// OrgPolicy is a service control policy.
type OrgPolicy struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Content     string `json:"content"`
	AWSManaged  bool   `json:"awsManaged,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`
}

// orgTarget lists the SCPs attached to an account. An account without a
// record has FullAWSAccess only.
type orgTarget struct {
	Account  string   `json:"account"`
	Policies []string `json:"policies"`
}

// CreateAccountStatus is the outcome of a CreateAccount request.
type CreateAccountStatus struct {
	ID            string    `json:"id"`
	AccountName   string    `json:"accountName"`
	AccountID     string    `json:"accountId,omitempty"`
	State         string    `json:"state"` // SUCCEEDED, FAILED
	FailureReason string    `json:"failureReason,omitempty"`
	Requested     time.Time `json:"requested"`
	Completed     time.Time `json:"completed"`
}

var fullAWSAccess = &OrgPolicy{
	ID: FullAWSAccessID, Name: "FullAWSAccess", AWSManaged: true,
	Description: "Allows access to every operation",
	Content:     `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
}

var (
	emailRe       = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
	accountNameRe = regexp.MustCompile(`^[\x20-\x7E]+$`)
	orgPolicyIDRe = regexp.MustCompile(`^p-[0-9a-zA-Z_]{8,128}$`)
	carIDRe       = regexp.MustCompile(`^car-[a-z0-9]{8,32}$`)
)

const orgAlphabet = "abcdefghijklmnopqrstuvwxyz012345" // 32 characters

func newOrgID() string { return "o-" + randomString(orgAlphabet, 10) }

func orgKey(kind, name string) string { return orgPrefix + "." + kind + "." + name }

// Organization returns the organization, creating its ID on first use.
func (s *Service) Organization(ctx context.Context) (Organization, error) {
	mgmt, err := s.managementAccount(ctx)
	if err != nil {
		return Organization{}, err
	}
	if mgmt == "" {
		return Organization{}, ErrNoAccount
	}
	id := s.cachedOrgID(ctx)
	if id == "" {
		return Organization{}, errors.New("iam: organization id unavailable")
	}
	root, err := s.metaValue(ctx, "org-root-id", func() string { return "r-" + randomString(orgAlphabet, 4) })
	if err != nil {
		return Organization{}, err
	}
	a, err := s.Account(ctx, mgmt)
	if err != nil {
		return Organization{}, err
	}
	return Organization{
		ID: id, ARN: "arn:aws:organizations::" + mgmt + ":organization/" + id,
		ManagementAccount: mgmt, ManagementARN: s.orgAccountARN(mgmt, id, mgmt), ManagementEmail: a.Email, RootID: root,
	}, nil
}

// metaValue returns a server-wide value, creating it with gen once.
func (s *Service) metaValue(ctx context.Context, key string, gen func() string) (string, error) {
	for range maxAttempts {
		e, err := s.meta.Get(ctx, key)
		if err == nil {
			return string(e.Value), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("iam: %s: %w", key, err)
		}
		if _, err := s.meta.Create(ctx, key, []byte(gen())); err != nil && !errors.Is(err, store.ErrExists) {
			return "", fmt.Errorf("iam: %s: %w", key, err)
		}
	}
	return "", concurrentModification()
}

func (s *Service) orgAccountARN(mgmt, orgID, account string) string {
	return "arn:aws:organizations::" + mgmt + ":account/" + orgID + "/" + account
}

// AccountARN is an account's Organizations ARN.
func (o Organization) AccountARN(account string) string {
	return "arn:aws:organizations::" + o.ManagementAccount + ":account/" + o.ID + "/" + account
}

// PolicyARN is an SCP's ARN.
func (o Organization) PolicyARN(p *OrgPolicy) string {
	if p.AWSManaged {
		return "arn:aws:organizations::aws:policy/service_control_policy/" + p.ID
	}
	return "arn:aws:organizations::" + o.ManagementAccount + ":policy/" + o.ID + "/service_control_policy/" + p.ID
}

// CreateAccountInput is CreateAccount's parameters.
type CreateAccountInput struct {
	Name     string
	Email    string
	RoleName string // "" means OrganizationAccountAccessRole
}

// CheckCreateAccountInput validates CreateAccount's parameters.
func CheckCreateAccountInput(in CreateAccountInput) error {
	var v violations
	switch {
	case in.Name == "" || len(in.Name) > 50:
		v.add(in.Name, "accountName", "Member must have length between 1 and 50")
	case !accountNameRe.MatchString(in.Name):
		v.add(in.Name, "accountName", `Member must satisfy regular expression pattern: [\u0020-\u007E]+`)
	}
	switch {
	case len(in.Email) < 6 || len(in.Email) > 64:
		v.add(in.Email, "email", "Member must have length between 6 and 64")
	case !emailRe.MatchString(in.Email):
		v.add(in.Email, "email", `Member must satisfy regular expression pattern: [^\s@]+@[^\s@]+\.[^\s@]+`)
	}
	if in.RoleName != "" {
		checkName(&v, in.RoleName, "roleName", MaxRoleName)
	}
	if len(v) > 0 {
		return &awserr.Error{Type: awserr.OrgsInvalidInput, Reason: "INVALID_INPUT", Message: strings.Join(v, "; ")}
	}
	return nil
}

// CreateOrgAccount creates a member account, as Organizations'
// CreateAccount does: the account, and in it a role (RoleName, by default
// OrganizationAccountAccessRole) that the management account may assume,
// with AdministratorAccess. It completes at once; a duplicate email gives a
// FAILED status, as in AWS.
func (s *Service) CreateOrgAccount(ctx context.Context, in CreateAccountInput) (CreateAccountStatus, Account, error) {
	if err := CheckCreateAccountInput(in); err != nil {
		return CreateAccountStatus{}, Account{}, err
	}
	if in.RoleName == "" {
		in.RoleName = OrgAccessRole
	}
	mgmt, err := s.managementAccount(ctx)
	if err != nil {
		return CreateAccountStatus{}, Account{}, err
	}
	if mgmt == "" {
		return CreateAccountStatus{}, Account{}, ErrNoAccount
	}
	now := s.now().UTC().Truncate(time.Second)
	st := CreateAccountStatus{ID: "car-" + randomString(orgAlphabet, 32), AccountName: in.Name, Requested: now, Completed: now}
	accounts, err := s.Accounts(ctx)
	if err != nil {
		return CreateAccountStatus{}, Account{}, err
	}
	var acct Account
	if slices.ContainsFunc(accounts, func(a Account) bool { return strings.EqualFold(a.Email, in.Email) }) {
		st.State, st.FailureReason = "FAILED", "EMAIL_ALREADY_EXISTS"
	} else {
		acct, err = s.createAccount(ctx, Account{Name: in.Name, Email: in.Email})
		if err != nil {
			return CreateAccountStatus{}, Account{}, err
		}
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + mgmt + `:root"},"Action":"sts:AssumeRole"}]}`
		if _, err := s.CreateRole(ctx, acct.ID, CreateRoleInput{Name: in.RoleName, Trust: trust}); err != nil {
			return CreateAccountStatus{}, Account{}, fmt.Errorf("iam: create %s: %w", in.RoleName, err)
		}
		if err := s.AttachPolicy(ctx, acct.ID, KindRole, in.RoleName, "arn:aws:iam::aws:policy/AdministratorAccess"); err != nil {
			return CreateAccountStatus{}, Account{}, fmt.Errorf("iam: attach AdministratorAccess: %w", err)
		}
		st.State, st.AccountID = "SUCCEEDED", acct.ID
	}
	if err := create(ctx, s, orgKey("status", st.ID), &st, concurrentModification); err != nil {
		return CreateAccountStatus{}, Account{}, err
	}
	return st, acct, nil
}

// CreateAccountStatusByID returns a CreateAccount request's status.
func (s *Service) CreateAccountStatusByID(ctx context.Context, id string) (CreateAccountStatus, error) {
	notFound := func() error {
		return awserr.New(awserr.OrgsCreateStatusNotFound, "We can't find a create account request with the CreateAccountRequestId that you specified.")
	}
	if !carIDRe.MatchString(id) {
		return CreateAccountStatus{}, notFound()
	}
	st, _, err := load[CreateAccountStatus](ctx, s, orgKey("status", id), notFound)
	if err != nil {
		return CreateAccountStatus{}, err
	}
	return *st, nil
}

// OrgAccount returns an account of the organization (Organizations'
// AccountNotFoundException when there is none).
func (s *Service) OrgAccount(ctx context.Context, id string) (Account, error) {
	a, err := s.Account(ctx, id)
	if errors.Is(err, ErrNoAccount) {
		return Account{}, awserr.New(awserr.OrgsAccountNotFound, "You specified an account that doesn't exist.")
	}
	return a, err
}

func noSuchSCP() error {
	return awserr.New(awserr.OrgsPolicyNotFound, "We can't find a policy with the PolicyId that you specified.")
}

func checkSCP(content string) error {
	if len(content) > 5120 {
		return awserr.New(awserr.OrgsConstraintViolation, "The provided policy document exceeds the maximum allowed size of 5120 characters.")
	}
	if _, err := policy.Parse([]byte(content), policy.Guardrail); err != nil {
		var pe *policy.ParseError
		msg := "The provided policy document does not meet the requirements of the specified policy type."
		if errors.As(err, &pe) {
			msg += " " + pe.Message
		}
		return awserr.New(awserr.OrgsMalformedPolicyDocument, "%s", msg)
	}
	return nil
}

// CreateSCP creates a service control policy.
func (s *Service) CreateSCP(ctx context.Context, name, description, content string, tags []Tag) (*OrgPolicy, error) {
	if name == "" || len(name) > 128 || description != "" && len(description) > 512 {
		return nil, awserr.New(awserr.OrgsInvalidInput, "You provided a value that does not match the required pattern.")
	}
	if err := checkSCP(content); err != nil {
		return nil, err
	}
	for _, p := range s.SCPs() {
		if p.Name == name {
			return nil, awserr.New(awserr.OrgsDuplicatePolicy, "A policy with the same name already exists.")
		}
	}
	p := &OrgPolicy{ID: "p-" + randomString(orgAlphabet, 8), Name: name, Description: description, Content: content, Tags: tags}
	if err := create(ctx, s, orgKey("policy", p.ID), p, concurrentModification); err != nil {
		return nil, err
	}
	return p, nil
}

// SCP returns a service control policy.
func (s *Service) SCP(ctx context.Context, id string) (*OrgPolicy, error) {
	if id == FullAWSAccessID {
		return fullAWSAccess, nil
	}
	if !orgPolicyIDRe.MatchString(id) {
		return nil, awserr.New(awserr.OrgsInvalidInput, "You specified an invalid value for policyId.")
	}
	p, _, err := load[OrgPolicy](ctx, s, orgKey("policy", id), noSuchSCP)
	return p, err
}

// SCPs lists the service control policies, FullAWSAccess first.
func (s *Service) SCPs() []*OrgPolicy {
	s.idx.mu.RLock()
	out := make([]*OrgPolicy, 0, len(s.idx.orgPols)+1)
	for _, p := range s.idx.orgPols {
		out = append(out, p)
	}
	s.idx.mu.RUnlock()
	sortBy(out, func(p *OrgPolicy) string { return p.Name })
	return append([]*OrgPolicy{fullAWSAccess}, out...)
}

// UpdateSCP changes a policy's name, description or content (nil leaves
// one unchanged).
func (s *Service) UpdateSCP(ctx context.Context, id string, name, description, content *string) (*OrgPolicy, error) {
	if id == FullAWSAccessID {
		return nil, awserr.New(awserr.OrgsConstraintViolation, "You can't modify an AWS managed policy.")
	}
	if content != nil {
		if err := checkSCP(*content); err != nil {
			return nil, err
		}
	}
	if _, err := s.SCP(ctx, id); err != nil {
		return nil, err
	}
	return mutate(ctx, s, orgKey("policy", id), noSuchSCP, func(p *OrgPolicy) error {
		if name != nil {
			p.Name = *name
		}
		if description != nil {
			p.Description = *description
		}
		if content != nil {
			p.Content = *content
		}
		return nil
	})
}

// DeleteSCP deletes a policy attached to no account.
func (s *Service) DeleteSCP(ctx context.Context, id string) error {
	if id == FullAWSAccessID {
		return awserr.New(awserr.OrgsConstraintViolation, "You can't delete an AWS managed policy.")
	}
	if _, err := s.SCP(ctx, id); err != nil {
		return err
	}
	s.idx.mu.RLock()
	inUse := false
	for _, t := range s.idx.orgTargets {
		inUse = inUse || slices.Contains(t.Policies, id)
	}
	s.idx.mu.RUnlock()
	if inUse {
		return awserr.New(awserr.OrgsPolicyInUse, "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.")
	}
	key := orgKey("policy", id)
	_, rev, err := load[OrgPolicy](ctx, s, key, noSuchSCP)
	if err != nil {
		return err
	}
	return remove(ctx, s, key, rev)
}

// checkTarget checks that a target is an account of the organization.
func (s *Service) checkTarget(ctx context.Context, target string) error {
	if !isAccountID(target) {
		return awserr.New(awserr.OrgsTargetNotFound, "We can't find a root, OU, account, or policy with the TargetId that you specified.")
	}
	if _, err := s.Account(ctx, target); err != nil {
		if errors.Is(err, ErrNoAccount) {
			return awserr.New(awserr.OrgsTargetNotFound, "We can't find a root, OU, account, or policy with the TargetId that you specified.")
		}
		return err
	}
	return nil
}

// AttachSCP attaches a policy to an account.
func (s *Service) AttachSCP(ctx context.Context, id, target string) error {
	if _, err := s.SCP(ctx, id); err != nil {
		return err
	}
	if err := s.checkTarget(ctx, target); err != nil {
		return err
	}
	return s.mutateTarget(ctx, target, func(t *orgTarget) error {
		if slices.Contains(t.Policies, id) {
			return awserr.New(awserr.OrgsDuplicatePolicyAttachment, "The selected policy is already attached to the specified target.")
		}
		t.Policies = append(t.Policies, id)
		return nil
	})
}

// DetachSCP detaches a policy from an account; the last one cannot be.
func (s *Service) DetachSCP(ctx context.Context, id, target string) error {
	if _, err := s.SCP(ctx, id); err != nil {
		return err
	}
	if err := s.checkTarget(ctx, target); err != nil {
		return err
	}
	return s.mutateTarget(ctx, target, func(t *orgTarget) error {
		i := slices.Index(t.Policies, id)
		if i < 0 {
			return awserr.New(awserr.OrgsPolicyNotAttached, "The policy isn't attached to the specified target in the specified root.")
		}
		if len(t.Policies) == 1 {
			return &awserr.Error{Type: awserr.OrgsConstraintViolation, Reason: "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
				Message: "You have attached the minimum number of policies of the specified type to the entity. You must keep at least one service control policy attached."}
		}
		t.Policies = slices.Delete(t.Policies, i, i+1)
		return nil
	})
}

// mutateTarget applies fn to an account's attachment record, creating it
// (with FullAWSAccess) first if needed.
func (s *Service) mutateTarget(ctx context.Context, account string, fn func(*orgTarget) error) error {
	key := orgKey("target", account)
	for range maxAttempts {
		t, rev, err := load[orgTarget](ctx, s, key, func() error { return store.ErrNotFound })
		if errors.Is(err, store.ErrNotFound) {
			t = &orgTarget{Account: account, Policies: []string{FullAWSAccessID}}
			if err := fn(t); err != nil {
				return err
			}
			err := create(ctx, s, key, t, func() error { return store.ErrExists })
			if errors.Is(err, store.ErrExists) {
				continue
			}
			return err
		}
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
		data := marshal(t)
		nrev, err := s.entities.Update(ctx, key, data, rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("iam: write %s: %w", key, err)
		}
		s.idx.apply(store.Entry{Key: key, Value: data, Revision: nrev})
		return nil
	}
	return concurrentModification()
}

// SCPsForTarget lists the policies attached to an account.
func (s *Service) SCPsForTarget(ctx context.Context, target string) ([]*OrgPolicy, error) {
	if err := s.checkTarget(ctx, target); err != nil {
		return nil, err
	}
	var out []*OrgPolicy
	for _, id := range s.targetPolicyIDs(target) {
		p, err := s.SCP(ctx, id)
		if err != nil {
			if awserr.IsType(err, awserr.OrgsPolicyNotFound) {
				continue
			}
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// targetPolicyIDs lists the IDs of the SCPs attached to an account.
func (s *Service) targetPolicyIDs(account string) []string {
	s.idx.mu.RLock()
	defer s.idx.mu.RUnlock()
	if t, ok := s.idx.orgTargets[account]; ok {
		return slices.Clone(t.Policies)
	}
	return []string{FullAWSAccessID}
}

// TargetsForSCP lists the accounts a policy is attached to.
func (s *Service) TargetsForSCP(ctx context.Context, id string) ([]string, error) {
	if _, err := s.SCP(ctx, id); err != nil {
		return nil, err
	}
	accounts, err := s.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range accounts {
		if slices.Contains(s.targetPolicyIDs(a.ID), id) {
			out = append(out, a.ID)
		}
	}
	return out, nil
}
