package iam

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/policy"
	"github.com/cloister/cloister/internal/store"
)

// Credentials are temporary security credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey Secret
	SessionToken    Secret
	Expiration      time.Time
}

// sessionRecord is what the sessions bucket holds per temporary key.
type sessionRecord struct {
	Key
	// Policies are the session policies (documents), snapshotted when the
	// session was issued.
	Policies []string `json:"policies,omitempty"`
}

// sessionEntry is a session in memory, with its policies parsed.
type sessionEntry struct {
	key      Key
	policies []*policy.Policy
	// broken: a session policy no longer parses; the session may do
	// nothing.
	broken bool
}

// sessionGrace is how long an expired session is kept, so that requests
// signed with it get ExpiredToken rather than InvalidClientTokenId.
const sessionGrace = 24 * time.Hour

func decodeSession(data []byte) (*sessionEntry, error) {
	var rec sessionRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, err
	}
	e := &sessionEntry{key: rec.Key}
	for _, d := range rec.Policies {
		p, err := policy.Parse([]byte(d), policy.Session)
		if err != nil {
			e.broken = true
			continue
		}
		e.policies = append(e.policies, p)
	}
	return e, nil
}

func (s *Service) applySession(e store.Entry) {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	if rev, ok := s.sessTomb[e.Key]; ok && rev >= e.Revision {
		return
	}
	s.sessTomb[e.Key] = e.Revision
	if e.Value == nil {
		delete(s.sessByID, e.Key)
		return
	}
	se, err := decodeSession(e.Value)
	if err != nil {
		s.log.Error("decode session record", "key_id", e.Key, "err", err)
		delete(s.sessByID, e.Key)
		return
	}
	s.sessByID[e.Key] = se
}

// session returns a session by access key ID, reading the store when the
// watcher has not delivered it yet.
func (s *Service) session(ctx context.Context, id string) *sessionEntry {
	s.sessMu.RLock()
	se := s.sessByID[id]
	s.sessMu.RUnlock()
	if se != nil || !accessKeyIDRe.MatchString(id) {
		return se
	}
	e, err := s.sessions.Get(ctx, id)
	if err != nil {
		return nil
	}
	se, err = decodeSession(e.Value)
	if err != nil {
		return nil
	}
	return se
}

func (s *Service) lookupSession(ctx context.Context, id string) (Key, error) {
	se := s.session(ctx, id)
	if se == nil {
		return Key{}, ErrUnknownKey
	}
	k := se.key
	if k.Principal.Type == TypeUser {
		p, ok := s.currentUser(k.Principal)
		if !ok {
			return Key{}, ErrUnknownKey
		}
		p.Session, p.IssuedAt = k.Principal.Session, k.Principal.IssuedAt
		k.Principal = p
	}
	k.Principal.AccessKeyID = k.AccessKeyID
	k.Principal.Expiration = k.Expiration
	return k, nil
}

// issue stores a new session for principal p and returns its credentials.
func (s *Service) issue(ctx context.Context, p Principal, d time.Duration, policies []string) (Credentials, error) {
	id, secret := NewKeyPair(true)
	var raw [96]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Credentials{}, fmt.Errorf("iam: session token: %w", err)
	}
	token := base64.StdEncoding.EncodeToString(raw[:])
	hash := sha256.Sum256([]byte(token))
	now := s.now().UTC().Truncate(time.Second)
	p.IssuedAt = now
	p.AccessKeyID, p.Expiration = "", time.Time{}
	rec := sessionRecord{
		Key:      Key{AccessKeyID: id, Secret: secret, Status: StatusActive, Principal: p, CreateDate: now, TokenHash: hash[:], Expiration: now.Add(d)},
		Policies: policies,
	}
	data := marshal(rec)
	rev, err := s.sessions.Create(ctx, id, data)
	if err != nil {
		return Credentials{}, fmt.Errorf("iam: store session: %w", err)
	}
	s.applySession(store.Entry{Key: id, Value: data, Revision: rev})
	return Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: Secret(token), Expiration: rec.Expiration}, nil
}

// janitor deletes sessions that expired more than sessionGrace ago.
func (s *Service) janitor(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		s.purgeSessions(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) purgeSessions(ctx context.Context) {
	cutoff := s.now().Add(-sessionGrace)
	s.sessMu.RLock()
	var old []string
	for id, se := range s.sessByID {
		if se.key.Expiration.Before(cutoff) {
			old = append(old, id)
		}
	}
	s.sessMu.RUnlock()
	for _, id := range old {
		if err := s.sessions.Delete(ctx, id, 0); err != nil && ctx.Err() == nil {
			s.log.Warn("delete expired session", "key_id", id, "err", err)
		}
	}
}

// AssumeRoleInput is AssumeRole's parameters. The caller has been
// authorized for sts:AssumeRole on RoleARN (and sts:TagSession,
// sts:SetSourceIdentity when it passes tags or a source identity).
type AssumeRoleInput struct {
	RoleARN           string
	SessionName       string
	Duration          int // seconds; 0 means 3600
	Policy            string
	PolicyARNs        []string
	Tags              []Tag
	TransitiveTagKeys []string
	SourceIdentity    string
	ExternalID        string
}

// AssumeRoleOutput is what AssumeRole returns.
type AssumeRoleOutput struct {
	Credentials    Credentials
	AssumedRoleID  string // ROLEID:SESSION
	AssumedRoleARN string
	// PackedPolicySize is the session policies and tags as a percentage of
	// the allowed size, or -1 when there are none.
	PackedPolicySize int
	SourceIdentity   string
}

// CheckAssumeRoleInput validates AssumeRole's parameters before
// authorization.
func CheckAssumeRoleInput(in *AssumeRoleInput) error {
	var v violations
	switch {
	case in.RoleARN == "":
		v.add(nil, "roleArn", "Member must not be null")
	case len(in.RoleARN) < 20:
		v.add(in.RoleARN, "roleArn", "Member must have length greater than or equal to 20")
	case len(in.RoleARN) > 2048:
		v.add(truncate(in.RoleARN, 64), "roleArn", "Member must have length less than or equal to 2048")
	}
	checkSessionName(&v, in.SessionName)
	if in.Duration != 0 && in.Duration < MinSessionDuration {
		v.add(in.Duration, "durationSeconds", "Member must have value greater than or equal to 900")
	} else if in.Duration > MaxRoleSessionDuration {
		v.add(in.Duration, "durationSeconds", "Member must have value less than or equal to 43200")
	}
	if in.Policy != "" {
		checkDocument(&v, in.Policy, "policy")
	}
	if len(in.PolicyARNs) > 10 {
		v.add(len(in.PolicyARNs), "policyArns", "Member must have length less than or equal to 10")
	}
	if len(in.SourceIdentity) == 1 || len(in.SourceIdentity) > 64 {
		v.add(in.SourceIdentity, "sourceIdentity", "Member must have length between 2 and 64")
	} else if !sourceIDRe.MatchString(in.SourceIdentity) {
		v.add(in.SourceIdentity, "sourceIdentity", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	if in.ExternalID != "" && (len(in.ExternalID) < 2 || len(in.ExternalID) > 1224) {
		v.add(in.ExternalID, "externalId", "Member must have length between 2 and 1224")
	}
	if err := v.err(); err != nil {
		return err
	}
	if err := checkSessionTags(in.Tags); err != nil {
		return err
	}
	for _, k := range in.TransitiveTagKeys {
		if !slices.ContainsFunc(in.Tags, func(t Tag) bool { return strings.EqualFold(t.Key, k) }) {
			return awserr.New(awserr.InvalidParameterValue, "The specified transitive tag key must be included in the requested tags.")
		}
	}
	return nil
}

func checkSessionName(v *violations, name string) {
	switch {
	case name == "":
		v.add(nil, "roleSessionName", "Member must not be null")
	case len(name) < 2:
		v.add(name, "roleSessionName", "Member must have length greater than or equal to 2")
	case len(name) > 64:
		v.add(name, "roleSessionName", "Member must have length less than or equal to 64")
	case !sessionNameRe.MatchString(name):
		v.add(name, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
}

// checkSessionTags validates session tags: at most 50, keys 1-128 and
// values 0-256 characters, keys unique ignoring case.
func checkSessionTags(tags []Tag) error {
	if len(tags) > MaxTags {
		return validation(constraint(len(tags), "tags", "Member must have length less than or equal to 50"))
	}
	seen := map[string]bool{}
	for i, t := range tags {
		var v violations
		member := "tags." + strconv.Itoa(i+1) + ".member"
		if t.Key == "" || len(t.Key) > 128 || !tagKeyRe.MatchString(t.Key) {
			v.add(t.Key, member+".key", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
		if len(t.Value) > 256 || !tagValueRe.MatchString(t.Value) {
			v.add(t.Value, member+".value", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
		}
		if err := v.err(); err != nil {
			return err
		}
		if seen[strings.ToLower(t.Key)] {
			return awserr.New(awserr.InvalidParameterValue, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(t.Key)] = true
	}
	return nil
}

// RoleByARN returns the role an ARN names exactly (path included), or nil.
func (s *Service) RoleByARN(arn string) *Role { return s.roleFromARN(arn) }

// TrustPolicy returns a role's parsed trust policy.
func (s *Service) TrustPolicy(r *Role) (*policy.Policy, error) {
	p, err := policy.Parse([]byte(r.Trust), policy.Trust)
	if err != nil {
		return nil, fmt.Errorf("iam: trust policy of %s: %w", r.ARN(), err)
	}
	return p, nil
}

// AssumeRole issues credentials for a session of the role, for a caller
// that was authorized to assume it. It enforces what authorization does
// not: the role's and role chaining's duration limits and the session
// policy limits.
func (s *Service) AssumeRole(ctx context.Context, caller Principal, in AssumeRoleInput) (AssumeRoleOutput, error) {
	if err := CheckAssumeRoleInput(&in); err != nil {
		return AssumeRoleOutput{}, err
	}
	if caller.Type == TypeRoot {
		return AssumeRoleOutput{}, awserr.New(awserr.AccessDenied, "Roles may not be assumed by root accounts.")
	}
	r := s.roleFromARN(in.RoleARN)
	if r == nil {
		return AssumeRoleOutput{}, awserr.New(awserr.AccessDenied, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, in.RoleARN)
	}
	d := in.Duration
	if d == 0 {
		d = DefaultSessionDuration
	}
	if caller.Type == TypeAssumedRole && d > MaxChainedDuration {
		return AssumeRoleOutput{}, awserr.New(awserr.Validation, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if d > r.MaxSessionDuration {
		return AssumeRoleOutput{}, awserr.New(awserr.Validation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	docs, packed, err := s.sessionPolicies(ctx, r.Account, in.Policy, in.PolicyARNs, in.Tags)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	// Transitive tags of a chained session carry over and cannot be
	// replaced.
	tags := slices.Clone(in.Tags)
	transitive := slices.Clone(in.TransitiveTagKeys)
	if caller.Type == TypeAssumedRole {
		for _, k := range caller.TransitiveTagKeys {
			for _, t := range caller.SessionTags {
				if !strings.EqualFold(t.Key, k) {
					continue
				}
				if slices.ContainsFunc(tags, func(n Tag) bool { return strings.EqualFold(n.Key, k) }) {
					return AssumeRoleOutput{}, awserr.New(awserr.InvalidParameterValue, "One of the specified session tags conflicts with a transitive tag of the calling session: %s", k)
				}
				tags = append(tags, t)
				transitive = append(transitive, t.Key)
			}
		}
	}
	source := in.SourceIdentity
	if caller.SourceIdentity != "" {
		if source != "" && source != caller.SourceIdentity {
			return AssumeRoleOutput{}, awserr.New(awserr.AccessDenied, "The source identity of a session cannot be changed once set.")
		}
		source = caller.SourceIdentity
	}
	p := Principal{
		Account: r.Account, ARN: AssumedRoleARN(r.Account, r.Name, in.SessionName), UserID: r.ID + ":" + in.SessionName,
		Type: TypeAssumedRole, Name: in.SessionName, RoleARN: r.ARN(), RoleID: r.ID, RoleName: r.Name,
		SourceIdentity: source, SessionTags: tags, TransitiveTagKeys: transitive, Session: SessionAssumeRole,
	}
	creds, err := s.issue(ctx, p, time.Duration(d)*time.Second, docs)
	if err != nil {
		return AssumeRoleOutput{}, err
	}
	return AssumeRoleOutput{Credentials: creds, AssumedRoleID: p.UserID, AssumedRoleARN: p.ARN, PackedPolicySize: packed, SourceIdentity: source}, nil
}

// sessionPolicies validates and collects a session's policies: the inline
// Policy and the documents of PolicyArns (snapshotted now). packed is the
// packed size as a percentage, -1 when there are no policies or tags.
func (s *Service) sessionPolicies(ctx context.Context, account, inline string, arns []string, tags []Tag) ([]string, int, error) {
	var docs []string
	size := 0
	if inline != "" {
		if len(inline) > MaxSessionPolicySize {
			return nil, 0, validation(constraint(truncate(inline, 64), "policy", "Member must have length less than or equal to 2048"))
		}
		p, err := policy.Parse([]byte(inline), policy.Session)
		if err != nil {
			var pe *policy.ParseError
			if errors.As(err, &pe) {
				return nil, 0, malformed(pe.Message)
			}
			return nil, 0, malformed("Syntax errors in policy.")
		}
		compact, _ := p.MarshalJSON()
		size += len(compact)
		docs = append(docs, inline)
	}
	for _, arn := range arns {
		mp, _, err := s.policyByARN(ctx, account, arn)
		if err != nil {
			if awserr.IsType(err, awserr.NoSuchEntity) {
				return nil, 0, awserr.New(awserr.InvalidParameterValue, "The policy %s does not exist or is not attachable.", arn)
			}
			return nil, 0, err
		}
		docs = append(docs, mp.Default().Document)
		size += len(arn)
	}
	for _, t := range tags {
		size += len(t.Key) + len(t.Value)
	}
	if len(docs) == 0 && len(tags) == 0 {
		return nil, -1, nil
	}
	// AWS packs (compresses) session policies and tags into the token and
	// reports the result as a percentage of the limit; Cloister stores them
	// and reports their plain size against the same 2048-byte budget.
	packed := size * 100 / MaxSessionPolicySize
	if packed > 100 {
		return nil, 0, awserr.New(awserr.PackedPolicyTooLarge, "Packed size of consolidated session policies and session tags exceeds the limit by %d%%.", packed-100)
	}
	return docs, packed, nil
}

// GetSessionToken issues temporary credentials with the caller's own
// permissions, for an IAM user or root user with long-term credentials.
// duration 0 means 12 hours (1 hour for the root user).
func (s *Service) GetSessionToken(ctx context.Context, caller Principal, duration int) (Credentials, error) {
	if caller.Temporary() || (caller.Type != TypeUser && caller.Type != TypeRoot) {
		return Credentials{}, awserr.New(awserr.AccessDenied, "Cannot call GetSessionToken with session credentials")
	}
	max, def := 129600, 43200
	if caller.Type == TypeRoot {
		max, def = 3600, 3600
	}
	switch {
	case duration == 0:
		duration = def
	case duration < MinSessionDuration:
		return Credentials{}, validation(constraint(duration, "durationSeconds", "Member must have value greater than or equal to 900"))
	case duration > 129600:
		return Credentials{}, validation(constraint(duration, "durationSeconds", "Member must have value less than or equal to 129600"))
	case duration > max:
		duration = max
	}
	p := caller
	p.Session = SessionGetSessionToken
	return s.issue(ctx, p, time.Duration(duration)*time.Second, nil)
}
