package invoke_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func (h *harness) publishLayer(t *testing.T, name string, files map[string]zipEntry) string {
	t.Helper()
	z, err := zipFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.client.PublishLayerVersion(context.Background(), &lambda.PublishLayerVersionInput{
		LayerName: aws.String(name), Content: &types.LayerVersionContentInput{ZipFile: z}})
	if err != nil {
		t.Fatalf("publish layer %s: %v", name, err)
	}
	return aws.ToString(out.LayerVersionArn)
}

// TestLayersAtOpt: a function's layers are merged read-only at /opt in
// their order (a later layer's file replaces an earlier one's), Python
// imports from /opt/python, and a provided function without a bootstrap
// of its own runs a layer's /opt/bootstrap, as in Lambda.
func TestLayersAtOpt(t *testing.T) {
	h := get(t)
	base := uniqueName(t)
	first := h.publishLayer(t, base+"-one", map[string]zipEntry{
		"python/shared.py": {data: []byte("X = 'one'\n")}, "data.txt": {data: []byte("first")}})
	second := h.publishLayer(t, base+"-two", map[string]zipEntry{
		"python/shared.py": {data: []byte("X = 'two'\n")}, "extra.txt": {data: []byte("second")}})
	app, _ := zipFiles(map[string]zipEntry{"app.py": {data: []byte(`import os, shared
def handler(event, context):
    try:
        open("/opt/data.txt", "a").close()
        writable = True
    except OSError:
        writable = False
    return {"x": shared.X, "files": sorted(os.listdir("/opt")), "data": open("/opt/data.txt").read(), "writable": writable}
`)}})
	name := base + "-py"
	h.create(t, name, fnSpec{runtime: "python3.11", handler: "app.handler", zip: app, layers: []string{first, second}})
	// Merged while the function was prepared, before it turned Active.
	if dir, ok := h.inv.PreparedOpt(h.account, first, second); !ok || !strings.HasPrefix(filepath.Base(dir), "opt-") {
		t.Errorf("/opt of layers one, two not prepared before the function turned Active: %q, %v", dir, ok)
	}
	out := h.invoke(t, name, map[string]any{})
	var got struct {
		X        string   `json:"x"`
		Files    []string `json:"files"`
		Data     string   `json:"data"`
		Writable bool     `json:"writable"`
	}
	if out.FunctionError != nil || json.Unmarshal(out.Payload, &got) != nil {
		t.Fatalf("invoke: %s", out.Payload)
	}
	if got.X != "two" || got.Data != "first" || got.Writable || len(got.Files) != 3 {
		t.Errorf("with layers one, two: %+v; want x two, data first, read-only, files [data.txt extra.txt python]", got)
	}
	// One layer: mounted as it is.
	single := base + "-single"
	h.create(t, single, fnSpec{runtime: "python3.11", handler: "app.handler", zip: app, layers: []string{first}})
	out = h.invoke(t, single, map[string]any{})
	if out.FunctionError != nil || json.Unmarshal(out.Payload, &got) != nil || got.X != "one" || len(got.Files) != 2 {
		t.Errorf("with layer one: %s", out.Payload)
	}

	// A custom runtime from a layer: the function's zip has no bootstrap.
	runtimeLayer := h.publishLayerZip(t, base+"-runtime", probeZip) // the probe's bootstrap
	handlerOnly, _ := zipFiles(map[string]zipEntry{"README": {data: []byte("code lives in the layer")}})
	custom := base + "-custom"
	h.create(t, custom, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: handlerOnly, layers: []string{runtimeLayer}})
	if out := h.invoke(t, custom, map[string]any{"op": "echo", "arg": "from /opt"}); out.FunctionError != nil {
		t.Errorf("a layer's bootstrap: %s", out.Payload)
	}
}

func (h *harness) publishLayerZip(t *testing.T, name string, z []byte) string {
	t.Helper()
	out, err := h.client.PublishLayerVersion(context.Background(), &lambda.PublishLayerVersionInput{
		LayerName: aws.String(name), Content: &types.LayerVersionContentInput{ZipFile: z}})
	if err != nil {
		t.Fatalf("publish layer %s: %v", name, err)
	}
	return aws.ToString(out.LayerVersionArn)
}
