package iam_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloister/cloister/internal/awserr"
	"github.com/cloister/cloister/internal/iam"
	"github.com/cloister/cloister/internal/store"
)

// testClock is real time plus an adjustable offset.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// env is an identity service on a real embedded store, with the
// management (default) account and one member account.
type env struct {
	t      testing.TB
	st     *store.Store
	ids    *iam.Service
	clock  *testClock
	mgmt   string
	member string
	cancel context.CancelFunc
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	workers, cancel := context.WithCancel(context.Background())
	e := &env{t: t, st: st, clock: &testClock{}, cancel: cancel}
	ids, err := iam.Open(workers, st, nil, iam.WithClock(e.clock.now))
	if err != nil {
		cancel()
		st.Close()
		t.Fatalf("iam.Open: %v", err)
	}
	e.ids = ids
	t.Cleanup(func() {
		cancel()
		ids.Close()
		st.Close()
	})
	a, _, err := ids.DefaultAccount(ctx)
	if err != nil {
		t.Fatalf("DefaultAccount: %v", err)
	}
	e.mgmt = a.ID
	_, m, err := ids.CreateOrgAccount(ctx, iam.CreateAccountInput{Name: "member", Email: "member@example.com"})
	if err != nil {
		t.Fatalf("CreateOrgAccount: %v", err)
	}
	e.member = m.ID
	return e
}

var bg = context.Background()

// must fails the test on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// user creates a user with inline policies (documents), returning its
// principal as LookupKey would.
func (e *env) user(account, name string, docs ...string) iam.Principal {
	e.t.Helper()
	_, err := e.ids.CreateUser(bg, account, iam.CreateUserInput{Name: name})
	must(e.t, err)
	for i, d := range docs {
		must(e.t, e.ids.PutInlinePolicy(bg, account, iam.KindUser, name, "p"+string(rune('0'+i)), d))
	}
	return e.principal(account, name)
}

// principal returns the user's principal through an access key, as the API
// sees it.
func (e *env) principal(account, name string) iam.Principal {
	e.t.Helper()
	k, err := e.ids.CreateAccessKey(bg, account, name)
	must(e.t, err)
	k, err = e.ids.LookupKey(bg, k.AccessKeyID)
	must(e.t, err)
	return k.Principal
}

func (e *env) role(account, name, trust string, docs ...string) *iam.Role {
	e.t.Helper()
	r, err := e.ids.CreateRole(bg, account, iam.CreateRoleInput{Name: name, Trust: trust})
	must(e.t, err)
	for i, d := range docs {
		must(e.t, e.ids.PutInlinePolicy(bg, account, iam.KindRole, name, "p"+string(rune('0'+i)), d))
	}
	return r
}

// session assumes a role and returns the session's principal as the API
// sees it.
func (e *env) session(caller iam.Principal, in iam.AssumeRoleInput) iam.Principal {
	e.t.Helper()
	out, err := e.ids.AssumeRole(bg, caller, in)
	must(e.t, err)
	k, err := e.ids.LookupKey(bg, out.Credentials.AccessKeyID)
	must(e.t, err)
	return k.Principal
}

func allow(actions, resources string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + actions + `,"Resource":` + resources + `}]}`
}

func deny(actions, resources string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":` + actions + `,"Resource":` + resources + `}]}`
}

func trustAccount(account string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`
}

const trustLambda = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// wantType checks that err is an *awserr.Error of type typ whose message
// starts with msg (exactly msg unless it ends in "...").
func wantType(t testing.TB, err error, typ awserr.Type, msg string) {
	t.Helper()
	var e *awserr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want %s", err, typ)
	}
	if e.Type != typ {
		t.Fatalf("error type = %s (%s), want %s", e.Type, e.Message, typ)
	}
	if prefix, ok := strings.CutSuffix(msg, "..."); ok {
		if !strings.HasPrefix(e.Message, prefix) {
			t.Fatalf("message = %q, want prefix %q", e.Message, prefix)
		}
	} else if msg != "" && e.Message != msg {
		t.Fatalf("message = %q, want %q", e.Message, msg)
	}
}
