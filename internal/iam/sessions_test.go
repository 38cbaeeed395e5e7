package iam_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
)

// TestLookupKey covers what SigV4 verification asks of the key lookup:
// long-term keys of users and roots, temporary keys with their token, and
// keys that must no longer work.
func TestLookupKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A := e.mgmt
	ids := e.ids
	_, err := ids.CreateUser(bg, A, iam.CreateUserInput{Name: "kim", Path: "/team/"})
	must(t, err)
	k, err := ids.CreateAccessKey(bg, A, "kim")
	must(t, err)

	got, err := ids.LookupKey(bg, k.AccessKeyID)
	must(t, err)
	if got.Principal.ARN != "arn:aws:iam::"+A+":user/team/kim" || got.Principal.Type != iam.TypeUser || got.Principal.AccessKeyID != k.AccessKeyID {
		t.Fatalf("principal = %+v", got.Principal)
	}
	if got.Secret.Reveal() != k.Secret.Reveal() {
		t.Fatal("secret differs")
	}
	if err := got.VerifySessionToken("", time.Now()); err != nil {
		t.Fatalf("long-term key without token: %v", err)
	}
	if err := got.VerifySessionToken("x", time.Now()); !errors.Is(err, iam.ErrInvalidToken) {
		t.Fatalf("long-term key with a token: %v", err)
	}

	// A renamed user's key follows the user.
	_, err = ids.UpdateUser(bg, A, "kim", "kimberly", "/ops/")
	must(t, err)
	got, err = ids.LookupKey(bg, k.AccessKeyID)
	must(t, err)
	if got.Principal.ARN != "arn:aws:iam::"+A+":user/ops/kimberly" || got.Principal.Name != "kimberly" {
		t.Fatalf("after rename: %+v", got.Principal)
	}

	// Inactive and deleted keys stop working at once.
	must(t, ids.UpdateAccessKey(bg, A, "kimberly", k.AccessKeyID, iam.StatusInactive))
	if _, err := ids.LookupKey(bg, k.AccessKeyID); !errors.Is(err, iam.ErrInactiveKey) {
		t.Fatalf("inactive key: %v", err)
	}
	must(t, ids.UpdateAccessKey(bg, A, "kimberly", k.AccessKeyID, iam.StatusActive))
	must(t, ids.DeleteAccessKey(bg, A, "kimberly", k.AccessKeyID))
	if _, err := ids.LookupKey(bg, k.AccessKeyID); !errors.Is(err, iam.ErrUnknownKey) {
		t.Fatalf("deleted key: %v", err)
	}
	for _, id := range []string{"", "AKIA", "ASIAUNKNOWNUNKNOWN00", "AKIAUNKNOWNUNKNOWN00", "not a key"} {
		if _, err := ids.LookupKey(bg, id); !errors.Is(err, iam.ErrUnknownKey) {
			t.Errorf("LookupKey(%q) = %v, want ErrUnknownKey", id, err)
		}
	}

	// Session keys carry their token's hash and expiry.
	sam := e.user(A, "sam", allow(`"sts:AssumeRole"`, `"*"`))
	e.role(A, "r", trustAccount(A))
	out, err := ids.AssumeRole(bg, sam, iam.AssumeRoleInput{RoleARN: "arn:aws:iam::" + A + ":role/r", SessionName: "ss", Duration: 900})
	must(t, err)
	sk, err := ids.LookupKey(bg, out.Credentials.AccessKeyID)
	must(t, err)
	token := out.Credentials.SessionToken.Reveal()
	now := e.clock.now()
	for _, c := range []struct {
		token string
		at    time.Time
		want  error
	}{
		{token, now, nil},
		{"", now, iam.ErrInvalidToken},
		{token + "x", now, iam.ErrInvalidToken},
		{token[:len(token)-1] + "A", now, iam.ErrInvalidToken},
		{token, now.Add(901 * time.Second), iam.ErrExpiredToken},
		{"forged", now.Add(901 * time.Second), iam.ErrInvalidToken},
	} {
		if err := sk.VerifySessionToken(c.token, c.at); !errors.Is(err, c.want) {
			t.Errorf("VerifySessionToken(%.8q, +%v) = %v, want %v", c.token, c.at.Sub(now), err, c.want)
		}
	}
	if sk.Principal.Expiration != out.Credentials.Expiration || !sk.Principal.Temporary() {
		t.Errorf("session principal %+v", sk.Principal)
	}
	// An expired session is refused by Authorize too.
	e.clock.advance(time.Hour)
	err = ids.Authorize(bg, iam.Request{Caller: sk.Principal, Action: "lambda:ListFunctions", Resource: "*"})
	wantType(t, err, awserr.ExpiredToken, "The security token included in the request is expired")
}

func TestAssumeRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A := e.mgmt
	ids := e.ids
	sam := e.user(A, "sam", allow(`"sts:AssumeRole"`, `"*"`))
	r, err := ids.CreateRole(bg, A, iam.CreateRoleInput{Name: "long", Path: "/svc/", Trust: trustAccount(A), MaxSessionDuration: 7200,
		Tags: []iam.Tag{{Key: "dept", Value: "eng"}}})
	must(t, err)
	arn := r.ARN()
	if arn != "arn:aws:iam::"+A+":role/svc/long" {
		t.Fatalf("ARN %s", arn)
	}
	mp, err := ids.CreatePolicy(bg, A, iam.CreatePolicyInput{Name: "SessionReads", Document: allow(`"lambda:Get*"`, `"*"`)})
	must(t, err)

	out, err := ids.AssumeRole(bg, sam, iam.AssumeRoleInput{RoleARN: arn, SessionName: "ok", Duration: 7200, PolicyARNs: []string{mp.ARN()},
		Tags: []iam.Tag{{Key: "k", Value: "v"}}, TransitiveTagKeys: []string{"k"}, SourceIdentity: "sam"})
	must(t, err)
	if out.AssumedRoleARN != "arn:aws:sts::"+A+":assumed-role/long/ok" || out.AssumedRoleID != r.ID+":ok" {
		t.Fatalf("output %+v", out)
	}
	if d := out.Credentials.Expiration.Sub(e.clock.now()); d < 7190*time.Second || d > 7201*time.Second {
		t.Fatalf("expires in %v", d)
	}
	if out.PackedPolicySize < 0 || out.SourceIdentity != "sam" || len(out.Credentials.AccessKeyID) != 20 || out.Credentials.AccessKeyID[:4] != "ASIA" {
		t.Fatalf("output %+v", out)
	}
	sess, err := ids.LookupKey(bg, out.Credentials.AccessKeyID)
	must(t, err)

	cases := []struct {
		what   string
		caller iam.Principal
		in     iam.AssumeRoleInput
		typ    awserr.Type
		msg    string
	}{
		{"root", iam.Root(A), iam.AssumeRoleInput{RoleARN: arn, SessionName: "ss"}, awserr.AccessDenied, "Roles may not be assumed by root accounts."},
		{"longer than the role allows", sam, iam.AssumeRoleInput{RoleARN: arn, SessionName: "ss", Duration: 7201}, awserr.Validation,
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"role chaining over an hour", sess.Principal, iam.AssumeRoleInput{RoleARN: arn, SessionName: "ss", Duration: 3601}, awserr.Validation,
			"The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
		{"too short", sam, iam.AssumeRoleInput{RoleARN: arn, SessionName: "ss", Duration: 899}, awserr.Validation,
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"bad session name", sam, iam.AssumeRoleInput{RoleARN: arn, SessionName: "a b"}, awserr.Validation, "1 validation error detected: Value 'a b' at 'roleSessionName'..."},
		{"path must match", sam, iam.AssumeRoleInput{RoleARN: "arn:aws:iam::" + A + ":role/long", SessionName: "ss"}, awserr.AccessDenied, "..."},
		{"malformed session policy", sam, iam.AssumeRoleInput{RoleARN: arn, SessionName: "ss", Policy: `{"Statement":`}, awserr.MalformedPolicyDocument, "Syntax errors in policy."},
		{"unknown managed session policy", sam, iam.AssumeRoleInput{RoleARN: arn, SessionName: "ss", PolicyARNs: []string{"arn:aws:iam::" + A + ":policy/nope"}},
			awserr.InvalidParameterValue, "..."},
		{"chained session cannot replace a transitive tag", sess.Principal, iam.AssumeRoleInput{RoleARN: arn, SessionName: "ss", Tags: []iam.Tag{{Key: "K", Value: "w"}}},
			awserr.InvalidParameterValue, "..."},
		{"chained session cannot change its source identity", sess.Principal, iam.AssumeRoleInput{RoleARN: arn, SessionName: "ss", SourceIdentity: "other"},
			awserr.AccessDenied, "The source identity of a session cannot be changed once set."},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			_, err := ids.AssumeRole(bg, c.caller, c.in)
			wantType(t, err, c.typ, c.msg)
		})
	}

	// A chained session keeps the transitive tag and the source identity.
	chained, err := ids.AssumeRole(bg, sess.Principal, iam.AssumeRoleInput{RoleARN: arn, SessionName: "chained"})
	must(t, err)
	ck, err := ids.LookupKey(bg, chained.Credentials.AccessKeyID)
	must(t, err)
	if ck.Principal.SourceIdentity != "sam" || len(ck.Principal.SessionTags) != 1 || ck.Principal.SessionTags[0].Key != "k" {
		t.Fatalf("chained principal %+v", ck.Principal)
	}
	if d := chained.Credentials.Expiration.Sub(e.clock.now()); d > time.Hour+time.Second {
		t.Fatalf("chained session lasts %v", d)
	}
}

func TestGetSessionToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A := e.mgmt
	u := e.user(A, "tess", allow(`["lambda:*","iam:*"]`, `"*"`))
	creds, err := e.ids.GetSessionToken(bg, u, 0)
	must(t, err)
	if d := creds.Expiration.Sub(e.clock.now()); d < 11*time.Hour {
		t.Fatalf("default duration %v", d)
	}
	k, err := e.ids.LookupKey(bg, creds.AccessKeyID)
	must(t, err)
	if k.Principal.ARN != u.ARN || k.Principal.Session != iam.SessionGetSessionToken {
		t.Fatalf("principal %+v", k.Principal)
	}
	must(t, e.ids.Authorize(bg, iam.Request{Caller: k.Principal, Action: "lambda:ListFunctions", Resource: "*"}))
	// Without MFA, IAM is out of reach, as in AWS.
	err = e.ids.Authorize(bg, iam.Request{Caller: k.Principal, Action: "iam:ListUsers", Resource: "*"})
	wantType(t, err, awserr.UnrecognizedClient, "...")
	_, err = e.ids.GetSessionToken(bg, k.Principal, 0)
	wantType(t, err, awserr.AccessDenied, "Cannot call GetSessionToken with session credentials")
	root, err := e.ids.GetSessionToken(bg, iam.Root(A), 7200)
	must(t, err)
	if d := root.Expiration.Sub(e.clock.now()); d > time.Hour+time.Second {
		t.Fatalf("root session lasts %v", d)
	}
}

func TestLambdaExecutionRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A, B := e.mgmt, e.member
	ids := e.ids
	exec := e.role(A, "exec", trustLambda, allow(`"lambda:ListFunctions"`, `"*"`))
	e.role(A, "human", trustAccount(A))
	e.role(B, "other", trustLambda)
	passer := e.user(A, "passer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*",
		"Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}]}`)
	nopass := e.user(A, "nopass", allow(`"lambda:*"`, `"*"`))
	roleARN := func(acct, n string) string { return "arn:aws:iam::" + acct + ":role/" + n }
	cannot := "The role defined for the function cannot be assumed by Lambda."

	for _, c := range []struct {
		what   string
		caller iam.Principal
		role   string
		typ    awserr.Type
		msg    string
	}{
		{"root, good role", iam.Root(A), roleARN(A, "exec"), "", ""},
		{"passer, good role", passer, roleARN(A, "exec"), "", ""},
		{"role that does not trust Lambda", passer, roleARN(A, "human"), awserr.InvalidParameterValue, cannot},
		{"missing role", iam.Root(A), roleARN(A, "nope"), awserr.InvalidParameterValue, cannot},
		{"role of another account", iam.Root(A), roleARN(B, "other"), awserr.InvalidParameterValue, cannot},
		{"not a role ARN", iam.Root(A), "arn:aws:iam::" + A + ":user/exec", awserr.InvalidParameterValue, cannot},
		{"no iam:PassRole", nopass, roleARN(A, "exec"), awserr.AccessDenied,
			"User: " + nopass.ARN + " is not authorized to perform: iam:PassRole on resource: " + roleARN(A, "exec") + " because no identity-based policy allows the iam:PassRole action"},
	} {
		t.Run(c.what, func(t *testing.T) {
			err := ids.CheckExecutionRole(bg, c.caller, c.role)
			if c.typ == "" {
				must(t, err)
				return
			}
			wantType(t, err, c.typ, c.msg)
		})
	}

	creds, err := ids.IssueRoleSession(bg, exec.ARN(), "my-function", 0)
	must(t, err)
	k, err := ids.LookupKey(bg, creds.AccessKeyID)
	must(t, err)
	if k.Principal.ARN != "arn:aws:sts::"+A+":assumed-role/exec/my-function" || k.Principal.Session != iam.SessionLambda {
		t.Fatalf("principal %+v", k.Principal)
	}
	must(t, k.VerifySessionToken(creds.SessionToken.Reveal(), e.clock.now()))
	must(t, ids.Authorize(bg, iam.Request{Caller: k.Principal, Action: "lambda:ListFunctions", Resource: "*"}))
	if err := ids.Authorize(bg, iam.Request{Caller: k.Principal, Action: "lambda:DeleteFunction", Resource: "*"}); !awserr.IsType(err, awserr.AccessDenied) {
		t.Fatalf("execution role session exceeds its role: %v", err)
	}
	for _, c := range []struct {
		role, session string
		d             time.Duration
	}{
		{roleARN(A, "human"), "fn", 0},
		{roleARN(A, "nope"), "fn", 0},
		{exec.ARN(), "fn", time.Minute},
		{exec.ARN(), "fn", 13 * time.Hour},
		{exec.ARN(), "bad name!", 0},
	} {
		if _, err := ids.IssueRoleSession(bg, c.role, c.session, c.d); err == nil {
			t.Errorf("IssueRoleSession(%s, %q, %v) succeeded", c.role, c.session, c.d)
		}
	}
	if _, err := ids.IssueRoleSession(bg, roleARN(A, "human"), "fn", 0); !errors.Is(err, iam.ErrRoleNotAssumable) {
		t.Errorf("untrusted role: %v", err)
	}
}
