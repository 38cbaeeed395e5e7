package iam_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
)

func TestEntityRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A := e.mgmt
	ids := e.ids
	_, err := ids.CreateUser(bg, A, iam.CreateUserInput{Name: "Alice"})
	must(t, err)
	_, err = ids.CreateRole(bg, A, iam.CreateRoleInput{Name: "r", Trust: trustLambda})
	must(t, err)
	_, err = ids.CreateGroup(bg, A, "g", "")
	must(t, err)
	pol, err := ids.CreatePolicy(bg, A, iam.CreatePolicyInput{Name: "P", Document: allow(`"*"`, `"*"`)})
	must(t, err)
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"arn:aws:lambda:us-east-1:123456789012:function:` + strings.Repeat("a", 2100) + `"}]}`

	cases := []struct {
		what string
		do   func() error
		typ  awserr.Type
		msg  string
	}{
		{"names are case-insensitive", func() error { _, err := ids.CreateUser(bg, A, iam.CreateUserInput{Name: "ALICE"}); return err },
			awserr.EntityAlreadyExists, "User with name ALICE already exists."},
		{"bad user name", func() error { _, err := ids.CreateUser(bg, A, iam.CreateUserInput{Name: "a b"}); return err },
			awserr.Validation, `1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"bad path", func() error {
			_, err := ids.CreateUser(bg, A, iam.CreateUserInput{Name: "x", Path: "nopath"})
			return err
		},
			awserr.Validation, "1 validation error detected: Value 'nopath' at 'path'..."},
		{"reserved tag key", func() error {
			_, err := ids.CreateUser(bg, A, iam.CreateUserInput{Name: "x", Tags: []iam.Tag{{Key: "aws:x", Value: "y"}}})
			return err
		}, awserr.InvalidInput, "..."},
		{"duplicate tag keys", func() error {
			return ids.TagUser(bg, A, "Alice", []iam.Tag{{Key: "a", Value: "1"}, {Key: "A", Value: "2"}})
		}, awserr.InvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{"missing user", func() error { _, err := ids.GetUser(bg, A, "nobody"); return err }, awserr.NoSuchEntity, "The user with name nobody cannot be found."},
		{"missing role", func() error { return ids.DeleteRole(bg, A, "nobody") }, awserr.NoSuchEntity, "The role with name nobody cannot be found."},
		{"missing group", func() error { return ids.AddUserToGroup(bg, A, "nobody", "Alice") }, awserr.NoSuchEntity, "The group with name nobody cannot be found."},
		{"malformed policy", func() error {
			return ids.PutInlinePolicy(bg, A, iam.KindUser, "Alice", "p", `{"Version":"2012-10-17"}`)
		},
			awserr.MalformedPolicyDocument, "Missing required field Statement"},
		{"principal in identity policy", func() error {
			return ids.PutInlinePolicy(bg, A, iam.KindUser, "Alice", "p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`)
		}, awserr.MalformedPolicyDocument, "Policy document should not specify a principal."},
		{"user inline size", func() error { return ids.PutInlinePolicy(bg, A, iam.KindUser, "Alice", "p", big) },
			awserr.LimitExceeded, "Maximum policy size of 2048 bytes exceeded for user Alice"},
		{"trust with a non-STS action", func() error {
			_, err := ids.CreateRole(bg, A, iam.CreateRoleInput{Name: "x", Trust: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"lambda:*"}]}`})
			return err
		}, awserr.MalformedPolicyDocument, "AssumeRole policy may only specify STS AssumeRole actions."},
		{"max session duration", func() error {
			_, err := ids.CreateRole(bg, A, iam.CreateRoleInput{Name: "x", Trust: trustLambda, MaxSessionDuration: 43201})
			return err
		}, awserr.Validation, "1 validation error detected: Value '43201' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"attach a missing policy", func() error {
			return ids.AttachPolicy(bg, A, iam.KindUser, "Alice", "arn:aws:iam::"+A+":policy/Nope")
		}, awserr.NoSuchEntity, "Policy arn:aws:iam::" + A + ":policy/Nope does not exist or is not attachable."},
		{"attach another account's policy", func() error {
			return ids.AttachPolicy(bg, A, iam.KindUser, "Alice", "arn:aws:iam::"+e.member+":policy/P")
		}, awserr.NoSuchEntity, "..."},
		{"detach what is not attached", func() error { return ids.DetachPolicy(bg, A, iam.KindUser, "Alice", pol.ARN()) },
			awserr.NoSuchEntity, "Policy " + pol.ARN() + " was not found."},
		{"missing boundary policy", func() error {
			return ids.PutPermissionsBoundary(bg, A, iam.KindRole, "r", "arn:aws:iam::"+A+":policy/Nope")
		}, awserr.NoSuchEntity, "Scope ARN: arn:aws:iam::" + A + ":policy/Nope does not exist or is not attachable."},
		{"AWS managed policies cannot change", func() error {
			_, err := ids.CreatePolicyVersion(bg, A, "arn:aws:iam::aws:policy/AdministratorAccess", allow(`"*"`, `"*"`), true)
			return err
		}, awserr.UnmodifiableEntity, "..."},
		{"default version cannot be deleted", func() error { return ids.DeletePolicyVersion(bg, A, pol.ARN(), "v1") },
			awserr.DeleteConflict, "Cannot delete the default version of a policy."},
		{"missing version", func() error { return ids.SetDefaultPolicyVersion(bg, A, pol.ARN(), "v9") },
			awserr.NoSuchEntity, "Policy " + pol.ARN() + " version v9 does not exist or is not attachable."},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) { wantType(t, c.do(), c.typ, c.msg) })
	}

	t.Run("delete conflicts", func(t *testing.T) {
		must(t, ids.AddUserToGroup(bg, A, "g", "alice"))
		k, err := ids.CreateAccessKey(bg, A, "alice")
		must(t, err)
		must(t, ids.PutInlinePolicy(bg, A, iam.KindUser, "alice", "p", allow(`"*"`, `"*"`)))
		must(t, ids.AttachPolicy(bg, A, iam.KindUser, "alice", pol.ARN()))
		steps := []struct {
			msg   string
			clear func() error
		}{
			{"Cannot delete entity, must delete access keys first.", func() error { return ids.DeleteAccessKey(bg, A, "alice", k.AccessKeyID) }},
			{"Cannot delete entity, must delete policies first.", func() error { return ids.DeleteInlinePolicy(bg, A, iam.KindUser, "alice", "p") }},
			{"Cannot delete entity, must detach all policies first.", func() error { return ids.DetachPolicy(bg, A, iam.KindUser, "alice", pol.ARN()) }},
			{"Cannot delete entity, must remove user from all groups first.", func() error { return ids.RemoveUserFromGroup(bg, A, "g", "alice") }},
		}
		wantType(t, ids.DeleteGroup(bg, A, "g"), awserr.DeleteConflict, "Cannot delete entity, must remove users from group first.")
		for _, s := range steps {
			wantType(t, ids.DeleteUser(bg, A, "alice"), awserr.DeleteConflict, s.msg)
			must(t, s.clear())
		}
		must(t, ids.DeleteUser(bg, A, "alice"))
		must(t, ids.DeleteGroup(bg, A, "g"))
	})

	t.Run("policy versions", func(t *testing.T) {
		for i := 2; i <= iam.MaxPolicyVersions; i++ {
			_, err := ids.CreatePolicyVersion(bg, A, pol.ARN(), allow(`"lambda:*"`, `"*"`), i == 3)
			must(t, err)
		}
		_, err := ids.CreatePolicyVersion(bg, A, pol.ARN(), allow(`"*"`, `"*"`), false)
		wantType(t, err, awserr.LimitExceeded, "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
		p, err := ids.ManagedPolicyByARN(bg, A, pol.ARN())
		must(t, err)
		if p.DefaultVersion != "v3" || len(p.Versions) != 5 {
			t.Fatalf("default %s, %d versions", p.DefaultVersion, len(p.Versions))
		}
		wantType(t, ids.DeletePolicy(bg, A, pol.ARN()), awserr.DeleteConflict, "This policy has more than one version...")
		for _, v := range []string{"v1", "v2", "v4", "v5"} {
			must(t, ids.DeletePolicyVersion(bg, A, pol.ARN(), v))
		}
		must(t, ids.DeletePolicy(bg, A, pol.ARN()))
	})
}

// TestAccessKeyQuota creates keys concurrently: the two-key quota holds.
func TestAccessKeyQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A := e.mgmt
	_, err := e.ids.CreateUser(bg, A, iam.CreateUserInput{Name: "q"})
	must(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.ids.CreateAccessKey(bg, A, "q")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else if !awserr.IsType(err, awserr.LimitExceeded) {
			t.Errorf("CreateAccessKey: %v", err)
		}
	}
	keys, err := e.ids.ListAccessKeys(bg, A, "q")
	must(t, err)
	if ok != iam.MaxAccessKeys || len(keys) != iam.MaxAccessKeys {
		t.Fatalf("%d keys created, %d listed; want %d", ok, len(keys), iam.MaxAccessKeys)
	}
}

// TestTwoServers checks that a second identity service on the same store
// (another node) sees changes through its watch.
func TestTwoServers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A := e.mgmt
	workers, cancel := context.WithCancel(context.Background())
	other, err := iam.Open(workers, e.st, nil)
	must(t, err)
	t.Cleanup(func() {
		cancel()
		other.Close()
	})
	u := e.user(A, "nina", allow(`"lambda:ListFunctions"`, `"*"`))
	req := iam.Request{Caller: u, Action: "lambda:ListFunctions", Resource: "*"}
	eventually(t, func() bool { return other.Authorize(bg, req) == nil })
	// Lookups of keys and sessions another node just created work at once
	// (they fall back to the store).
	if _, err := other.LookupKey(bg, u.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	must(t, e.ids.PutInlinePolicy(bg, A, iam.KindUser, "nina", "no", deny(`"*"`, `"*"`)))
	eventually(t, func() bool { return awserr.IsType(other.Authorize(bg, req), awserr.AccessDenied) })
}

// eventually polls cond until it holds, failing after a generous deadline.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := e.ids
	org, err := ids.Organization(bg)
	must(t, err)
	if org.ManagementAccount != e.mgmt || !strings.HasPrefix(org.ID, "o-") {
		t.Fatalf("organization %+v", org)
	}
	// CreateAccount made the access role, trusting the management account.
	r, err := ids.GetRole(bg, e.member, iam.OrgAccessRole)
	must(t, err)
	if len(r.Attached) != 1 || r.Attached[0] != "arn:aws:iam::aws:policy/AdministratorAccess" || !strings.Contains(r.Trust, e.mgmt) {
		t.Fatalf("role %+v", r)
	}
	st, _, err := ids.CreateOrgAccount(bg, iam.CreateAccountInput{Name: "dup", Email: "MEMBER@example.com"})
	must(t, err)
	if st.State != "FAILED" || st.FailureReason != "EMAIL_ALREADY_EXISTS" {
		t.Fatalf("duplicate email: %+v", st)
	}
	got, err := ids.CreateAccountStatusByID(bg, st.ID)
	must(t, err)
	if got.ID != st.ID || got.State != "FAILED" {
		t.Fatalf("status %+v", got)
	}
	_, err = ids.CreateAccountStatusByID(bg, "car-0000000000")
	wantType(t, err, awserr.OrgsCreateStatusNotFound, "...")

	list, err := ids.SCPsForTarget(bg, e.member)
	must(t, err)
	if len(list) != 1 || list[0].ID != iam.FullAWSAccessID {
		t.Fatalf("default SCPs %+v", list)
	}
	err = ids.DetachSCP(bg, iam.FullAWSAccessID, e.member)
	wantType(t, err, awserr.OrgsConstraintViolation, "...")
	p, err := ids.CreateSCP(bg, "X", "d", deny(`"lambda:*"`, `"*"`), nil)
	must(t, err)
	_, err = ids.CreateSCP(bg, "X", "d", deny(`"lambda:*"`, `"*"`), nil)
	wantType(t, err, awserr.OrgsDuplicatePolicy, "...")
	_, err = ids.CreateSCP(bg, "Y", "d", `{"Statement":[}`, nil)
	wantType(t, err, awserr.OrgsMalformedPolicyDocument, "...")
	must(t, ids.AttachSCP(bg, p.ID, e.member))
	wantType(t, ids.AttachSCP(bg, p.ID, e.member), awserr.OrgsDuplicatePolicyAttachment, "...")
	wantType(t, ids.AttachSCP(bg, p.ID, "000000000000"), awserr.OrgsTargetNotFound, "...")
	wantType(t, ids.DeleteSCP(bg, p.ID), awserr.OrgsPolicyInUse, "...")
	err = ids.Authorize(bg, iam.Request{Caller: iam.Root(e.member), Action: "lambda:ListFunctions", Resource: "*"})
	wantType(t, err, awserr.AccessDenied, "User: arn:aws:iam::"+e.member+":root is not authorized to perform: lambda:ListFunctions on resource: * with an explicit deny in a service control policy")
	must(t, ids.DetachSCP(bg, p.ID, e.member))
	must(t, ids.Authorize(bg, iam.Request{Caller: iam.Root(e.member), Action: "lambda:ListFunctions", Resource: "*"}))
	must(t, ids.DeleteSCP(bg, p.ID))
}
