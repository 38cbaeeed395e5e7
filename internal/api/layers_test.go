package api_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestLayers: PublishLayerVersion, GetLayerVersion(ByArn), ListLayers,
// ListLayerVersions and DeleteLayerVersion through aws-sdk-go-v2, and
// functions naming layers.
func TestLayers(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	zipA := makeZip(t, map[string]string{"python/lib.py": "X = 1\n"})
	zipB := makeZip(t, map[string]string{"python/lib.py": "X = 2\n", "bin/tool": "#!/bin/sh\n"})
	publish := func(name string, zip []byte, runtimes ...types.Runtime) *lambda.PublishLayerVersionOutput {
		t.Helper()
		out, err := h.client.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{
			LayerName: aws.String(name), Content: &types.LayerVersionContentInput{ZipFile: zip},
			Description: aws.String("shared code"), CompatibleRuntimes: runtimes, LicenseInfo: aws.String("MIT"),
			CompatibleArchitectures: []types.Architecture{types.ArchitectureX8664},
		})
		if err != nil {
			t.Fatalf("PublishLayerVersion %s: %v", name, err)
		}
		return out
	}
	layerARN := "arn:aws:lambda:" + testRegion + ":" + h.account + ":layer:shared"

	v1 := publish("shared", zipA, types.RuntimePython311)
	if v1.Version != 1 || aws.ToString(v1.LayerArn) != layerARN || aws.ToString(v1.LayerVersionArn) != layerARN+":1" {
		t.Fatalf("first version: %d %s %s", v1.Version, aws.ToString(v1.LayerArn), aws.ToString(v1.LayerVersionArn))
	}
	if aws.ToString(v1.Content.CodeSha256) != codeSha256(zipA) || v1.Content.CodeSize != int64(len(zipA)) ||
		aws.ToString(v1.Description) != "shared code" || aws.ToString(v1.LicenseInfo) != "MIT" ||
		!slices.Equal(v1.CompatibleRuntimes, []types.Runtime{types.RuntimePython311}) || aws.ToString(v1.CreatedDate) == "" {
		t.Errorf("first version: %+v %+v", v1, v1.Content)
	}
	// The content can be downloaded from its Location, as a function's.
	resp, err := http.Get(aws.ToString(v1.Content.Location))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(zipA) {
		t.Errorf("download: %d, %d bytes", resp.StatusCode, len(body))
	}
	v2 := publish("shared", zipB, types.RuntimeNodejs20x)
	if v2.Version != 2 {
		t.Fatalf("second version %d", v2.Version)
	}
	publish("other", zipA)

	got, err := h.client.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("shared"), VersionNumber: aws.Int64(1)})
	if err != nil || aws.ToString(got.LayerVersionArn) != layerARN+":1" || aws.ToString(got.Content.CodeSha256) != codeSha256(zipA) {
		t.Fatalf("GetLayerVersion: %+v, %v", got, err)
	}
	byArn, err := h.client.GetLayerVersionByArn(ctx, &lambda.GetLayerVersionByArnInput{Arn: aws.String(layerARN + ":2")})
	if err != nil || byArn.Version != 2 {
		t.Fatalf("GetLayerVersionByArn: %+v, %v", byArn, err)
	}
	// By ARN as the layer name, too.
	if _, err := h.client.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String(layerARN), VersionNumber: aws.Int64(2)}); err != nil {
		t.Errorf("GetLayerVersion by layer ARN: %v", err)
	}
	_, err = h.client.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("shared"), VersionNumber: aws.Int64(9)})
	wantErr(t, err, notFound("The resource you requested does not exist."))

	versions, err := h.client.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("shared")})
	if err != nil || len(versions.LayerVersions) != 2 || versions.LayerVersions[0].Version != 2 || versions.LayerVersions[1].Version != 1 {
		t.Fatalf("ListLayerVersions (newest first): %+v, %v", versions, err)
	}
	py, err := h.client.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("shared"), CompatibleRuntime: types.RuntimePython311})
	if err != nil || len(py.LayerVersions) != 1 || py.LayerVersions[0].Version != 1 {
		t.Fatalf("ListLayerVersions for python3.11: %+v, %v", py, err)
	}
	page, err := h.client.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("shared"), MaxItems: aws.Int32(1)})
	if err != nil || len(page.LayerVersions) != 1 || page.NextMarker == nil {
		t.Fatalf("ListLayerVersions page: %+v, %v", page, err)
	}
	rest, err := h.client.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("shared"), Marker: page.NextMarker})
	if err != nil || len(rest.LayerVersions) != 1 || rest.LayerVersions[0].Version != 1 || rest.NextMarker != nil {
		t.Fatalf("ListLayerVersions after the marker: %+v, %v", rest, err)
	}
	layers, err := h.client.ListLayers(ctx, &lambda.ListLayersInput{})
	if err != nil || len(layers.Layers) != 2 || aws.ToString(layers.Layers[0].LayerName) != "other" ||
		aws.ToString(layers.Layers[1].LayerName) != "shared" || layers.Layers[1].LatestMatchingVersion.Version != 2 {
		t.Fatalf("ListLayers: %+v, %v", layers, err)
	}
	pyLayers, err := h.client.ListLayers(ctx, &lambda.ListLayersInput{CompatibleRuntime: types.RuntimePython311})
	if err != nil || len(pyLayers.Layers) != 1 || pyLayers.Layers[0].LatestMatchingVersion.Version != 1 {
		t.Fatalf("ListLayers for python3.11: %+v, %v", pyLayers, err)
	}

	// A function names layers: its configuration lists them with their sizes.
	name := fnName("with-layers")
	h.createFunction(t, name, func(in *lambda.CreateFunctionInput) { in.Layers = []string{layerARN + ":1"} })
	cfg, err := h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	if err != nil || len(cfg.Layers) != 1 || aws.ToString(cfg.Layers[0].Arn) != layerARN+":1" || cfg.Layers[0].CodeSize != int64(len(zipA)) {
		t.Fatalf("configuration layers: %+v, %v", cfg.Layers, err)
	}
	h.waitActive(t, h.client, name)
	upd, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), Layers: []string{layerARN + ":2", "arn:aws:lambda:" + testRegion + ":" + h.account + ":layer:other:1"}})
	if err != nil || len(upd.Layers) != 2 || aws.ToString(upd.Layers[0].Arn) != layerARN+":2" {
		t.Fatalf("UpdateFunctionConfiguration layers: %+v, %v", upd, err)
	}
	h.waitUpdated(t, name)

	bad := func(layers []string, want apiErr) {
		t.Helper()
		_, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), Layers: layers})
		wantErr(t, err, want)
	}
	bad([]string{layerARN + ":1", layerARN + ":2"}, invalidParam("Two different versions of the same layer are not allowed: "+layerARN+":1 and "+layerARN+":2."))
	bad([]string{layerARN + ":7"}, invalidParam("Layer version "+layerARN+":7 does not exist."))
	foreign := "arn:aws:lambda:" + testRegion + ":210987654321:layer:theirs:1"
	bad([]string{foreign}, apiErr{403, "AccessDeniedException", "Cloister functions may name only their own account's layers: " + foreign + " belongs to 210987654321."})

	// Deleting a version hides it (and is idempotent) but leaves the
	// functions that name it as they are.
	for range 2 {
		if _, err := h.client.DeleteLayerVersion(ctx, &lambda.DeleteLayerVersionInput{LayerName: aws.String("shared"), VersionNumber: aws.Int64(2)}); err != nil {
			t.Fatalf("DeleteLayerVersion: %v", err)
		}
	}
	_, err = h.client.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("shared"), VersionNumber: aws.Int64(2)})
	wantErr(t, err, notFound("The resource you requested does not exist."))
	cfg, err = h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	if err != nil || len(cfg.Layers) != 2 || aws.ToString(cfg.Layers[0].Arn) != layerARN+":2" {
		t.Fatalf("after the version's deletion the function names %+v, %v", cfg.Layers, err)
	}
	// The function's code can still change beside it; a new reference to
	// the deleted version is refused.
	h.updateCode(t, name, "after-delete")
	bad([]string{layerARN + ":2"}, invalidParam("Layer version "+layerARN+":2 does not exist."))
	// Versions are never reused.
	if v := publish("shared", zipA); v.Version != 3 {
		t.Errorf("after deleting version 2, published %d, want 3", v.Version)
	}

	// Input validation.
	_, err = h.client.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("bad name"), Content: &types.LayerVersionContentInput{ZipFile: zipA}})
	wantErr(t, err, validation(`1 validation error detected: Value 'bad name' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`))
	_, err = h.client.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("nozip"), Content: &types.LayerVersionContentInput{ZipFile: []byte("not a zip")}})
	wantErr(t, err, invalidParam("..."))
	_, err = h.client.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String("x"), Content: &types.LayerVersionContentInput{ZipFile: zipA},
		CompatibleRuntimes: []types.Runtime{"cobol9"}})
	wantErr(t, err, validation("1 validation error detected: Value 'cobol9' at 'compatibleRuntimes.1.member' failed to satisfy constraint: Member must satisfy enum value set: [..."))
	_, err = h.client.PublishLayerVersion(ctx, &lambda.PublishLayerVersionInput{LayerName: aws.String(strings.Replace(layerARN, h.account, "210987654321", 1)),
		Content: &types.LayerVersionContentInput{ZipFile: zipA}})
	if err == nil {
		t.Error("published a layer version in another account")
	}
}

// TestLayerValidation: bad layer input is refused with AWS's error types
// and a message that names the problem.
func TestLayerValidation(t *testing.T) {
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	zipA := makeZip(t, map[string]string{"a.txt": "a"})
	publish := func(mod func(*lambda.PublishLayerVersionInput)) error {
		in := &lambda.PublishLayerVersionInput{LayerName: aws.String("lib"), Content: &types.LayerVersionContentInput{ZipFile: zipA}}
		mod(in)
		_, err := h.client.PublishLayerVersion(ctx, in)
		return err
	}
	long := strings.Repeat("d", 257)
	for _, c := range []struct {
		name string
		mod  func(*lambda.PublishLayerVersionInput)
		want apiErr
	}{
		{"description", func(in *lambda.PublishLayerVersionInput) { in.Description = aws.String(long) },
			validation("1 validation error detected: Value '" + long + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")},
		{"license", func(in *lambda.PublishLayerVersionInput) { in.LicenseInfo = aws.String(strings.Repeat("l", 513)) },
			validation("1 validation error detected: Value '" + strings.Repeat("l", 513) + "' at 'licenseInfo' failed to satisfy constraint: Member must have length less than or equal to 512")},
		{"architecture", func(in *lambda.PublishLayerVersionInput) { in.CompatibleArchitectures = []types.Architecture{"sparc"} },
			validation("1 validation error detected: Value 'sparc' at 'compatibleArchitectures.1.member' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]")},
		{"sixteen runtimes", func(in *lambda.PublishLayerVersionInput) {
			for range 16 {
				in.CompatibleRuntimes = append(in.CompatibleRuntimes, types.RuntimePython311)
			}
		}, validation("1 validation error detected: Value '[python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11 python3.11]' at 'compatibleRuntimes' failed to satisfy constraint: Member must have length less than or equal to 15")},
		{"S3 content", func(in *lambda.PublishLayerVersionInput) {
			in.Content = &types.LayerVersionContentInput{S3Bucket: aws.String("b"), S3Key: aws.String("k")}
		}, invalidParam("S3 code locations are not supported by this Cloister server; upload the package as ZipFile.")},
		{"layer in another region", func(in *lambda.PublishLayerVersionInput) {
			in.LayerName = aws.String("arn:aws:lambda:eu-west-1:" + h.account + ":layer:lib")
		}, invalidParam("Layer ARN arn:aws:lambda:eu-west-1:" + h.account + ":layer:lib is not in region " + testRegion + ".")},
	} {
		t.Run(c.name, func(t *testing.T) { wantErr(t, publish(c.mod), c.want) })
	}

	// The SDK refuses to send a request without Content; the server says so too.
	r := h.do(t, h.rootSigner(), http.MethodPost, "/2018-10-31/layers/lib/versions", []byte(`{"Description":"no content"}`))
	if m := r.json(t); r.status != 400 || r.header.Get("X-Amzn-ErrorType") != "ValidationException" ||
		m["message"] != "1 validation error detected: Value null at 'content' failed to satisfy constraint: Member must not be null" {
		t.Errorf("no content: %d %s", r.status, r.body)
	}
	// Nor does it send an unknown find=.
	r = h.do(t, h.rootSigner(), http.MethodGet, "/2018-10-31/layers?find=Function", nil)
	if r.status != 400 || r.header.Get("X-Amzn-ErrorType") != "ValidationException" {
		t.Errorf("find=Function: %d %s", r.status, r.body)
	}

	if err := publish(func(*lambda.PublishLayerVersionInput) {}); err != nil {
		t.Fatal(err)
	}
	_, err := h.client.GetLayerVersion(ctx, &lambda.GetLayerVersionInput{LayerName: aws.String("lib"), VersionNumber: aws.Int64(0)})
	wantErr(t, err, invalidParam("Layer Version Cannot be less than 1"))
	_, err = h.client.ListLayerVersions(ctx, &lambda.ListLayerVersionsInput{LayerName: aws.String("lib"), Marker: aws.String("next")})
	wantErr(t, err, invalidParam("Invalid marker: next"))
	_, err = h.client.ListLayers(ctx, &lambda.ListLayersInput{CompatibleArchitecture: "sparc"})
	wantErr(t, err, validation("1 validation error detected: Value 'sparc' at 'compatibleArchitecture' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]"))
	_, err = h.client.GetLayerVersionByArn(ctx, &lambda.GetLayerVersionByArnInput{Arn: aws.String("lib:1")})
	wantErr(t, err, validation(`1 validation error detected: Value 'lib:1' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+`))
	other := "arn:aws:lambda:eu-west-1:" + h.account + ":layer:lib:1"
	_, err = h.client.GetLayerVersionByArn(ctx, &lambda.GetLayerVersionByArnInput{Arn: aws.String(other)})
	wantErr(t, err, invalidParam("Layer version "+other+" is not in region "+testRegion+"."))
	_, err = h.client.CreateFunction(ctx, func() *lambda.CreateFunctionInput {
		in := createInput(t, fnName("layered"))
		in.Layers = []string{other}
		return in
	}())
	wantErr(t, err, invalidParam("Layers are only supported in the function's region: "+other+" is not in "+testRegion+"."))
}
