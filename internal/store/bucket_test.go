package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func bucket(t *testing.T, st *Store, name string) *Bucket {
	t.Helper()
	b, err := st.Bucket(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBucketLifecycle walks one key through every operation, checking each
// result and each error kind on both backends.
func TestBucketLifecycle(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		b := bucket(t, st, "life")

		if _, err := b.Get(ctx, "fn.a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(missing) err = %v, want ErrNotFound", err)
		}
		r1, err := b.Create(ctx, "fn.a", []byte("one"))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if _, err := b.Create(ctx, "fn.a", []byte("again")); !errors.Is(err, ErrExists) {
			t.Fatalf("Create(existing) err = %v, want ErrExists", err)
		}
		e, err := b.Get(ctx, "fn.a")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Entry{Key: "fn.a", Value: []byte("one"), Revision: r1}, e); diff != "" {
			t.Fatalf("Get after Create (-want +got):\n%s", diff)
		}

		r2, err := b.Update(ctx, "fn.a", []byte("two"), r1)
		if err != nil {
			t.Fatalf("Update at the current revision: %v", err)
		}
		if r2 <= r1 {
			t.Errorf("Update revision %d not after %d", r2, r1)
		}
		if _, err := b.Update(ctx, "fn.a", []byte("stale"), r1); !errors.Is(err, ErrConflict) {
			t.Fatalf("Update at a stale revision err = %v, want ErrConflict", err)
		}
		if _, err := b.Update(ctx, "fn.missing", []byte("x"), r1); !errors.Is(err, ErrConflict) {
			t.Fatalf("Update of a missing key err = %v, want ErrConflict", err)
		}
		r3, err := b.Put(ctx, "fn.a", []byte("three"))
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if e, _ := b.Get(ctx, "fn.a"); string(e.Value) != "three" || e.Revision != r3 {
			t.Fatalf("Get after Put = %q@%d, want three@%d", e.Value, e.Revision, r3)
		}

		if err := b.Delete(ctx, "fn.a", r2); !errors.Is(err, ErrConflict) {
			t.Fatalf("Delete at a stale revision err = %v, want ErrConflict", err)
		}
		if e, err := b.Get(ctx, "fn.a"); err != nil || string(e.Value) != "three" {
			t.Fatalf("a rejected Delete changed the key: %q, %v", e.Value, err)
		}
		if err := b.Delete(ctx, "fn.a", r3); err != nil {
			t.Fatalf("Delete at the current revision: %v", err)
		}
		if _, err := b.Get(ctx, "fn.a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after Delete err = %v, want ErrNotFound", err)
		}
		if err := b.Delete(ctx, "fn.never", 0); err != nil {
			t.Fatalf("unconditional Delete of a missing key: %v", err)
		}
		if _, err := b.Update(ctx, "fn.a", []byte("x"), r3); !errors.Is(err, ErrConflict) {
			t.Fatalf("Update of a deleted key at its old revision err = %v, want ErrConflict", err)
		}
		r4, err := b.Create(ctx, "fn.a", []byte("reborn"))
		if err != nil {
			t.Fatalf("Create after Delete: %v", err)
		}
		if e, _ := b.Get(ctx, "fn.a"); string(e.Value) != "reborn" || e.Revision != r4 {
			t.Fatalf("Get after re-Create = %q@%d, want reborn@%d", e.Value, e.Revision, r4)
		}
	})
}

// TestBucketErrorsNameKey: errors say which operation, bucket and key failed,
// and keep the sentinel.
func TestBucketErrorsNameKey(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		b := bucket(t, st, "errs")
		_, err := b.Get(ctx, "acct.fn")
		if want := "store: get errs/acct.fn: store: not found"; err == nil || err.Error() != want {
			t.Errorf("Get error = %v, want %q", err, want)
		}
		if _, err := b.Create(ctx, "bad key", nil); err == nil || !strings.HasPrefix(err.Error(), "store: create errs/bad key: ") {
			t.Errorf("Create(invalid key) error = %v", err)
		}
	})
}

// TestBucketValues: values are opaque bytes; an empty value is a value, not
// a deletion, both when read and when watched.
func TestBucketValues(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		b := bucket(t, st, "values")
		values := map[string][]byte{
			"binary": {0, 1, 2, 0xff, '\n', 0},
			"large":  randomBytes(t, 256<<10),
			"empty":  {},
		}
		for k, v := range values {
			if _, err := b.Put(ctx, k, v); err != nil {
				t.Fatalf("Put(%s): %v", k, err)
			}
		}
		for k, v := range values {
			e, err := b.Get(ctx, k)
			if err != nil {
				t.Fatalf("Get(%s): %v", k, err)
			}
			if !slices.Equal(e.Value, v) {
				t.Errorf("Get(%s) returned %d bytes, want %d", k, len(e.Value), len(v))
			}
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch, err := b.Watch(wctx, "empty")
		if err != nil {
			t.Fatal(err)
		}
		e := <-ch
		if e.Key != "empty" || e.Value == nil {
			t.Errorf("Watch delivered the empty value as %+v: an empty value must not look like a deletion (nil Value)", e)
		}
	})
}

// TestBucketConcurrentUpdate: of many writers updating from the same
// revision exactly one wins; the rest see ErrConflict. This is what
// Lambda's RevisionId relies on.
func TestBucketConcurrentUpdate(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		b := bucket(t, st, "race")
		rev, err := b.Create(ctx, "k", []byte("0"))
		if err != nil {
			t.Fatal(err)
		}
		const writers = 16
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			won       []string
			conflicts int
		)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := fmt.Sprint("writer-", i)
				_, err := b.Update(ctx, "k", []byte(v), rev)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won = append(won, v)
				case errors.Is(err, ErrConflict):
					conflicts++
				default:
					t.Errorf("Update: %v", err)
				}
			}()
		}
		wg.Wait()
		if len(won) != 1 || conflicts != writers-1 {
			t.Fatalf("%d writers won and %d conflicted, want 1 and %d", len(won), conflicts, writers-1)
		}
		if e, _ := b.Get(ctx, "k"); string(e.Value) != won[0] {
			t.Errorf("stored value %q, want the winner's %q", e.Value, won[0])
		}
	})
}

func TestBucketKeys(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		b := bucket(t, st, "keys")
		if keys, err := b.Keys(ctx, ""); err != nil || keys != nil {
			t.Fatalf("Keys of an empty bucket = %q, %v; want nil, nil", keys, err)
		}
		for _, k := range []string{"111.a", "111.b", "111.b.1", "222.a", "top"} {
			if _, err := b.Put(ctx, k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		// Rewrites do not repeat a key; deletions remove it.
		if _, err := b.Put(ctx, "111.a", []byte("again")); err != nil {
			t.Fatal(err)
		}
		if err := b.Delete(ctx, "222.a", 0); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			filter string
			want   []string
		}{
			{"", []string{"111.a", "111.b", "111.b.1", "top"}},
			{">", []string{"111.a", "111.b", "111.b.1", "top"}},
			{"111.*", []string{"111.a", "111.b"}},
			{"111.>", []string{"111.a", "111.b", "111.b.1"}},
			{"*.a", []string{"111.a"}},
			{"222.*", nil},
			{"top", []string{"top"}},
		}
		for _, tt := range tests {
			keys, err := b.Keys(ctx, tt.filter)
			if err != nil {
				t.Fatalf("Keys(%q): %v", tt.filter, err)
			}
			slices.Sort(keys)
			if diff := cmp.Diff(tt.want, keys); diff != "" {
				t.Errorf("Keys(%q) (-want +got):\n%s", tt.filter, diff)
			}
		}
	})
}

// TestBucketWatch: current values first, then a zero Entry, then changes as
// they happen (deletions with a nil Value); the channel closes when ctx ends.
func TestBucketWatch(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		b := bucket(t, st, "watch")
		rA, _ := b.Put(ctx, "acct.a", []byte("a1"))
		rB, _ := b.Put(ctx, "acct.b", []byte("b1"))
		if _, err := b.Put(ctx, "other.x", []byte("ignored")); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch, err := b.Watch(wctx, "acct.*")
		if err != nil {
			t.Fatal(err)
		}
		next := func() Entry {
			t.Helper()
			select {
			case e, ok := <-ch:
				if !ok {
					t.Fatal("watch channel closed early")
				}
				return e
			case <-ctx.Done():
				t.Fatal("no watch update before the test deadline")
			}
			return Entry{}
		}
		initial := []Entry{next(), next()}
		slices.SortFunc(initial, func(x, y Entry) int { return strings.Compare(x.Key, y.Key) })
		want := []Entry{{Key: "acct.a", Value: []byte("a1"), Revision: rA}, {Key: "acct.b", Value: []byte("b1"), Revision: rB}}
		if diff := cmp.Diff(want, initial); diff != "" {
			t.Fatalf("initial values (-want +got):\n%s", diff)
		}
		if e := next(); e.Key != "" || e.Value != nil || e.Revision != 0 {
			t.Fatalf("after the initial values got %+v, want the zero Entry", e)
		}

		rA2, _ := b.Put(ctx, "acct.a", []byte("a2"))
		if _, err := b.Put(ctx, "other.y", []byte("ignored")); err != nil {
			t.Fatal(err)
		}
		if err := b.Delete(ctx, "acct.b", 0); err != nil {
			t.Fatal(err)
		}
		rC, _ := b.Create(ctx, "acct.c", []byte("c1"))
		got := []Entry{next(), next(), next()}
		if diff := cmp.Diff(Entry{Key: "acct.a", Value: []byte("a2"), Revision: rA2}, got[0]); diff != "" {
			t.Errorf("update (-want +got):\n%s", diff)
		}
		if got[1].Key != "acct.b" || got[1].Value != nil {
			t.Errorf("deletion arrived as %+v, want acct.b with a nil Value", got[1])
		}
		if diff := cmp.Diff(Entry{Key: "acct.c", Value: []byte("c1"), Revision: rC}, got[2]); diff != "" {
			t.Errorf("creation (-want +got):\n%s", diff)
		}

		cancel()
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-time.After(20 * time.Second):
				t.Fatal("watch channel not closed after its context ended")
			}
		}
	})
}

// TestBucketWatchEmpty: watching an empty bucket yields the end-of-initial
// marker straight away.
func TestBucketWatchEmpty(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		b := bucket(t, st, "watch-empty")
		ch, err := b.Watch(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-ch:
			if e.Key != "" {
				t.Fatalf("first update %+v, want the zero Entry", e)
			}
		case <-ctx.Done():
			t.Fatal("no end-of-initial marker")
		}
	})
}

type record struct {
	Name  string            `json:"name"`
	Count int               `json:"count"`
	Tags  map[string]string `json:"tags,omitempty"`
}

func TestBucketJSON(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		b := bucket(t, st, "json")
		in := record{Name: "fn", Count: 1, Tags: map[string]string{"k": "v"}}
		rev, err := b.CreateJSON(ctx, "r", in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.CreateJSON(ctx, "r", in); !errors.Is(err, ErrExists) {
			t.Fatalf("CreateJSON(existing) err = %v, want ErrExists", err)
		}
		var out record
		got, err := b.GetJSON(ctx, "r", &out)
		if err != nil || got != rev {
			t.Fatalf("GetJSON = rev %d, %v; want %d", got, err, rev)
		}
		if diff := cmp.Diff(in, out); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		in.Count = 2
		rev2, err := b.UpdateJSON(ctx, "r", in, rev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.UpdateJSON(ctx, "r", in, rev); !errors.Is(err, ErrConflict) {
			t.Fatalf("UpdateJSON at a stale revision err = %v, want ErrConflict", err)
		}
		if _, err := b.PutJSON(ctx, "r", record{Name: "put"}); err != nil {
			t.Fatal(err)
		}
		out = record{}
		if rev3, err := b.GetJSON(ctx, "r", &out); err != nil || rev3 <= rev2 || out.Name != "put" {
			t.Fatalf("GetJSON after PutJSON = %+v@%d, %v", out, rev3, err)
		}

		if _, err := b.PutJSON(ctx, "bad", func() {}); err == nil || !strings.HasPrefix(err.Error(), "store: json: encode bad: ") {
			t.Errorf("PutJSON(unencodable) err = %v", err)
		}
		if _, err := b.Put(ctx, "garbage", []byte("{not json")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.GetJSON(ctx, "garbage", &out); err == nil || !strings.HasPrefix(err.Error(), "store: json: decode garbage: ") {
			t.Errorf("GetJSON(garbage) err = %v", err)
		}
		if _, err := b.GetJSON(ctx, "missing", &out); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetJSON(missing) err = %v, want ErrNotFound", err)
		}
	})
}
