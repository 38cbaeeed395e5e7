package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func objects(t *testing.T, st *Store, name string) *Objects {
	t.Helper()
	o, err := st.Objects(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestObjectsLifecycle stores blobs of several sizes, including ones split
// into many chunks, and checks Get/Has/List/Delete and replacement on both
// backends (the external server has NATS's default 1 MiB message limit).
func TestObjectsLifecycle(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		o := objects(t, st, "code")
		if infos, err := o.List(ctx); err != nil || infos != nil {
			t.Fatalf("List of an empty store = %v, %v; want nil, nil", infos, err)
		}
		blobs := map[string][]byte{
			"empty":         {},
			"small":         []byte("PK\x03\x04 not really a zip"),
			"one-chunk":     randomBytes(t, chunkSize),
			"chunk-and-bit": randomBytes(t, chunkSize+1),
			"many-chunks":   randomBytes(t, 5*chunkSize+12345),
		}
		for name, data := range blobs {
			if err := o.Put(ctx, name, bytes.NewReader(data)); err != nil {
				t.Fatalf("Put(%s, %d bytes): %v", name, len(data), err)
			}
		}
		for name, data := range blobs {
			got, err := o.Get(ctx, name)
			if err != nil {
				t.Fatalf("Get(%s): %v", name, err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("Get(%s) returned %d bytes that differ from the %d stored", name, len(got), len(data))
			}
			if ok, err := o.Has(ctx, name); err != nil || !ok {
				t.Errorf("Has(%s) = %v, %v; want true", name, ok, err)
			}
		}
		infos, err := o.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, i := range infos {
			names = append(names, i.Name)
			if want := uint64(len(blobs[i.Name])); i.Size != want {
				t.Errorf("List: %s has Size %d, want %d", i.Name, i.Size, want)
			}
			if i.ModTime.IsZero() || time.Since(i.ModTime) > time.Hour {
				t.Errorf("List: %s has ModTime %v, want about now", i.Name, i.ModTime)
			}
		}
		slices.Sort(names)
		if want := []string{"chunk-and-bit", "empty", "many-chunks", "one-chunk", "small"}; !slices.Equal(names, want) {
			t.Errorf("List names = %q, want %q", names, want)
		}

		// Replacing a large blob with a small one leaves no old chunks behind.
		if err := o.Put(ctx, "many-chunks", strings.NewReader("short now")); err != nil {
			t.Fatal(err)
		}
		if got, err := o.Get(ctx, "many-chunks"); err != nil || string(got) != "short now" {
			t.Fatalf("Get after replace = %d bytes, %v; want the new content", len(got), err)
		}

		if err := o.Delete(ctx, "one-chunk"); err != nil {
			t.Fatal(err)
		}
		if ok, err := o.Has(ctx, "one-chunk"); err != nil || ok {
			t.Errorf("Has after Delete = %v, %v; want false", ok, err)
		}
		if _, err := o.Get(ctx, "one-chunk"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Delete err = %v, want ErrNotFound", err)
		}
		if err := o.Delete(ctx, "one-chunk"); err != nil {
			t.Errorf("Delete of a deleted blob: %v", err)
		}
		if err := o.Delete(ctx, "never-stored"); err != nil {
			t.Errorf("Delete of a missing blob: %v", err)
		}
		if ok, err := o.Has(ctx, "never-stored"); err != nil || ok {
			t.Errorf("Has(missing) = %v, %v; want false", ok, err)
		}
		infos, err = o.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range infos {
			if i.Name == "one-chunk" {
				t.Error("List still shows a deleted blob")
			}
		}
		// A deleted name can be stored again.
		if err := o.Put(ctx, "one-chunk", strings.NewReader("back")); err != nil {
			t.Fatal(err)
		}
		if got, err := o.Get(ctx, "one-chunk"); err != nil || string(got) != "back" {
			t.Errorf("Get after re-Put = %q, %v", got, err)
		}
	})
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

// TestObjectsPutReadError: a reader that fails part-way stores nothing under
// the name (a half-written package must never be served) and keeps what was
// there before.
func TestObjectsPutReadError(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, st *Store) {
		ctx := ctxT(t)
		o := objects(t, st, "partial")
		if err := o.Put(ctx, "pkg", strings.NewReader("good")); err != nil {
			t.Fatal(err)
		}
		err := o.Put(ctx, "pkg", &failingReader{n: 2*chunkSize + 10})
		if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.HasPrefix(err.Error(), "store: put object partial/pkg: ") {
			t.Fatalf("Put with a failing reader err = %v", err)
		}
		if got, err := o.Get(ctx, "pkg"); err != nil || string(got) != "good" {
			t.Errorf("after a failed Put, Get = %q, %v; want the previous content", got, err)
		}
		err = o.Put(ctx, "fresh", io.MultiReader(strings.NewReader("x"), &failingReader{}))
		if err == nil {
			t.Fatal("Put with a failing reader succeeded")
		}
		if ok, err := o.Has(ctx, "fresh"); err != nil || ok {
			t.Errorf("after a failed first Put, Has = %v, %v; want false", ok, err)
		}
	})
}
