package functions

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"

	"github.com/cloister/cloister/internal/runtimes"
	"github.com/cloister/cloister/internal/store"
)

func layerZip(t *testing.T, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("python/lib.py")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCollectLayers: the collector keeps a deleted layer version while a
// function names it, with its content, and drops one no function names.
func TestCollectLayers(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat, err := runtimes.Discover()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, st, Config{Region: "us-east-1", Runtimes: cat})
	if err != nil {
		t.Fatal(err)
	}
	const account = "111122223333"
	l := LayerRef{Account: account, Name: "lib"}
	var hashes []string
	for _, body := range []string{"X = 1\n", "X = 2\n", "X = 3\n"} {
		v, err := s.PublishLayer(ctx, account, l, &PublishLayerInput{Content: &FunctionCode{ZipFile: layerZip(t, body)}})
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, v.CodeHash)
	}
	// A function names version 1; then versions 1 and 2 are deleted.
	rec := functionRecord{Incarnation: "i1", Account: account, CodeHash: "f00d",
		Latest: Configuration{FunctionName: "fn", Layers: []Layer{{Arn: LayerVersionARN("us-east-1", l, 1)}}}}
	if _, err := s.functions.CreateJSON(ctx, functionKey(account, "fn"), &rec); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2} {
		if err := s.DeleteLayerVersion(ctx, account, l, n); err != nil {
			t.Fatal(err)
		}
	}
	used := map[string]bool{}
	refs := map[string]bool{LayerVersionARN("us-east-1", l, 1): true}
	if err := s.collectLayers(ctx, refs, used); err != nil {
		t.Fatal(err)
	}
	if !used[hashes[0]] || used[hashes[1]] || !used[hashes[2]] {
		t.Errorf("used content: v1 %v, v2 %v, v3 %v; want true, false, true", used[hashes[0]], used[hashes[1]], used[hashes[2]])
	}
	// The whole collector: version 2's record is gone, 1 (named) and 3 stay,
	// and the function still resolves its deleted version.
	if err := s.collect(ctx); err != nil {
		t.Fatal(err)
	}
	lr, _, err := s.loadLayer(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	var left []int
	for _, v := range lr.Versions {
		left = append(left, v.Version)
	}
	if len(left) != 2 || left[0] != 1 || left[1] != 3 {
		t.Errorf("versions left %v, want [1 3]", left)
	}
	got, err := s.ResolveLayers(ctx, account, []string{LayerVersionARN("us-east-1", l, 1)}, true)
	if err != nil || len(got) != 1 || got[0].CodeHash != hashes[0] {
		t.Errorf("ResolveLayers of the deleted, named version: %+v, %v", got, err)
	}
	for _, h := range []string{hashes[0], hashes[2]} {
		if ok, err := s.code.Has(ctx, h); err != nil || !ok {
			t.Errorf("content %s: present %v, %v", h, ok, err)
		}
	}
	// No function names it any more: the next collection drops version 1.
	if err := s.functions.Delete(ctx, functionKey(account, "fn"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.collect(ctx); err != nil {
		t.Fatal(err)
	}
	if lr, _, _ = s.loadLayer(ctx, l); len(lr.Versions) != 1 || lr.Versions[0].Version != 3 || lr.Last != 3 {
		t.Errorf("after the function's deletion: %+v", lr)
	}
}
