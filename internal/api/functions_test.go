package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
)

var lastModifiedRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$`)

// hostArch is the only architecture Cloister accepts on this machine.
func hostArch() types.Architecture {
	if hostIsArm {
		return types.ArchitectureArm64
	}
	return types.ArchitectureX8664
}

func TestCreateFunction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		name := fnName("create-defaults")
		in := createInput(t, name)
		out, err := h.client.CreateFunction(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		zip := in.Code.ZipFile
		checks := []struct {
			what      string
			got, want any
		}{
			{"FunctionName", aws.ToString(out.FunctionName), name},
			{"FunctionArn", aws.ToString(out.FunctionArn), h.arn(name)},
			{"Runtime", out.Runtime, types.Runtime(testRuntime)},
			{"Role", aws.ToString(out.Role), testRole},
			{"Handler", aws.ToString(out.Handler), "bootstrap"},
			{"CodeSize", out.CodeSize, int64(len(zip))},
			{"CodeSha256", aws.ToString(out.CodeSha256), codeSha256(zip)},
			{"Description", aws.ToString(out.Description), ""},
			{"Timeout", aws.ToInt32(out.Timeout), int32(3)},
			{"MemorySize", aws.ToInt32(out.MemorySize), int32(128)},
			{"Version", aws.ToString(out.Version), "$LATEST"},
			{"TracingConfig", out.TracingConfig.Mode, types.TracingModePassThrough},
			{"State", out.State, types.StatePending},
			{"StateReasonCode", out.StateReasonCode, types.StateReasonCodeCreating},
			{"PackageType", out.PackageType, types.PackageTypeZip},
			{"Architectures", out.Architectures, []types.Architecture{hostArch()}},
			{"EphemeralStorage", aws.ToInt32(out.EphemeralStorage.Size), int32(512)},
			{"LogFormat", out.LoggingConfig.LogFormat, types.LogFormatText},
			{"LogGroup", aws.ToString(out.LoggingConfig.LogGroup), "/aws/lambda/" + name},
			{"Environment", out.Environment, (*types.EnvironmentResponse)(nil)},
		}
		for _, c := range checks {
			if diff := cmp.Diff(c.want, c.got); diff != "" {
				t.Errorf("%s: (-want +got)\n%s", c.what, diff)
			}
		}
		if !lastModifiedRe.MatchString(aws.ToString(out.LastModified)) {
			t.Errorf("LastModified = %q, want Lambda's format", aws.ToString(out.LastModified))
		}
		if !uuidRe.MatchString(aws.ToString(out.RevisionId)) {
			t.Errorf("RevisionId = %q, want a UUID", aws.ToString(out.RevisionId))
		}
		got := h.waitActive(t, h.client, name)
		if got.Configuration.LastUpdateStatus != types.LastUpdateStatusSuccessful {
			t.Errorf("LastUpdateStatus = %q after activation, want Successful", got.Configuration.LastUpdateStatus)
		}
		if aws.ToString(got.Configuration.RevisionId) == aws.ToString(out.RevisionId) {
			t.Error("RevisionId did not change when the function became Active")
		}
	})

	t.Run("every member", func(t *testing.T) {
		t.Parallel()
		name := fnName("create-full")
		in := createInput(t, name)
		in.Description = aws.String("a function")
		in.Timeout = aws.Int32(30)
		in.MemorySize = aws.Int32(256)
		in.Environment = &types.Environment{Variables: map[string]string{"GREETING": "hello", "MODE": "test"}}
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(1024)}
		in.TracingConfig = &types.TracingConfig{Mode: types.TracingModeActive}
		in.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatJson, ApplicationLogLevel: types.ApplicationLogLevelDebug}
		in.Tags = map[string]string{"team": "core"}
		in.Architectures = []types.Architecture{hostArch()}
		in.Publish = true
		out, err := h.client.CreateFunction(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if v := aws.ToString(out.Version); v != "1" {
			t.Errorf("Version = %q, want 1 (Publish)", v)
		}
		if arn := aws.ToString(out.FunctionArn); arn != h.arn(name)+":1" {
			t.Errorf("FunctionArn = %q, want the version's ARN", arn)
		}
		h.waitActive(t, h.client, name)
		vw := lambda.NewPublishedVersionActiveWaiter(h.client, func(o *lambda.PublishedVersionActiveWaiterOptions) {
			o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
		})
		if err := vw.Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: aws.String("1")}, 30*time.Second); err != nil {
			t.Fatalf("PublishedVersionActive waiter: %v", err)
		}
		for _, q := range []string{"", "1"} {
			cfg, err := h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: qual(q)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(cfg.Description) != "a function" || aws.ToInt32(cfg.Timeout) != 30 || aws.ToInt32(cfg.MemorySize) != 256 ||
				aws.ToInt32(cfg.EphemeralStorage.Size) != 1024 || cfg.TracingConfig.Mode != types.TracingModeActive {
				t.Errorf("qualifier %q: configuration not applied: %+v", q, cfg)
			}
			if diff := cmp.Diff(map[string]string{"GREETING": "hello", "MODE": "test"}, cfg.Environment.Variables); diff != "" {
				t.Errorf("qualifier %q: Environment (-want +got)\n%s", q, diff)
			}
			lc := cfg.LoggingConfig
			if lc.LogFormat != types.LogFormatJson || lc.ApplicationLogLevel != types.ApplicationLogLevelDebug || lc.SystemLogLevel != types.SystemLogLevelInfo {
				t.Errorf("qualifier %q: LoggingConfig = %+v", q, lc)
			}
			if cfg.State != types.StateActive {
				t.Errorf("qualifier %q: State = %q, want Active", q, cfg.State)
			}
		}
		tags, err := h.client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(h.arn(name))})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"team": "core"}, tags.Tags); diff != "" {
			t.Errorf("tags (-want +got)\n%s", diff)
		}
	})

	t.Run("name forms", func(t *testing.T) {
		t.Parallel()
		for _, form := range []func(string) string{
			func(n string) string { return h.account + ":function:" + n },
			func(n string) string { return h.arn(n) },
		} {
			name := fnName("create-arn")
			out, err := h.client.CreateFunction(ctx, createInput(t, form(name)))
			if err != nil {
				t.Fatalf("CreateFunction %s: %v", form(name), err)
			}
			if aws.ToString(out.FunctionName) != name {
				t.Errorf("FunctionName = %q, want %q", aws.ToString(out.FunctionName), name)
			}
		}
		_, err := h.client.CreateFunction(ctx, createInput(t, "qualified:1"))
		wantErr(t, err, invalidParam("Unsupported function name format: qualified:1. Function names cannot be qualified when creating a function."))
	})

	t.Run("already exists", func(t *testing.T) {
		t.Parallel()
		name := fnName("create-dup")
		h.createFunction(t, name)
		_, err := h.client.CreateFunction(ctx, createInput(t, name))
		wantErr(t, err, conflict("Function already exist: "+name))
		errAs[*types.ResourceConflictException](t, err)
	})

	t.Run("unsupported sources", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			code *types.FunctionCode
			msg  string
		}{
			{&types.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k.zip")}, "S3 code locations are not supported by this Cloister server; upload the package as ZipFile."},
			{&types.FunctionCode{ImageUri: aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1")}, "Container images are not supported by this Cloister server; upload the package as ZipFile."},
			{&types.FunctionCode{}, "Please provide a source for function code."},
		}
		for _, c := range cases {
			in := createInput(t, fnName("create-src"))
			in.Code = c.code
			_, err := h.client.CreateFunction(ctx, in)
			wantErr(t, err, invalidParam(c.msg))
		}
	})
}

// qual turns "" into no qualifier.
func qual(q string) *string {
	if q == "" {
		return nil
	}
	return aws.String(q)
}

// gate is a functions.Config.Prepare that blocks each preparation until the
// test releases it, so that Pending and InProgress are observable.
type gate struct{ release chan error }

func newGate() *gate { return &gate{release: make(chan error)} }

// open lets one pending preparation finish with err.
func (g *gate) open(t testing.TB, err error) {
	t.Helper()
	select {
	case g.release <- err:
	case <-time.After(30 * time.Second):
		t.Fatal("no preparation was waiting at the gate")
	}
}

func (g *gate) prepare(ctx context.Context, _ string, _ []byte) error {
	select {
	case err := <-g.release:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestStateTransitions(t *testing.T) {
	t.Parallel()
	g := newGate()
	h := newHarness(t, harnessConfig{prepare: g.prepare})
	ctx := context.Background()
	name := fnName("state")
	get := func() *types.FunctionConfiguration {
		t.Helper()
		out, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Configuration
	}

	if _, err := h.client.CreateFunction(ctx, createInput(t, name)); err != nil {
		t.Fatal(err)
	}
	if c := get(); c.State != types.StatePending || c.StateReasonCode != types.StateReasonCodeCreating ||
		aws.ToString(c.StateReason) != "The function is being created." {
		t.Fatalf("before preparation: State %q (%q, %q), want Pending/Creating", c.State, c.StateReasonCode, aws.ToString(c.StateReason))
	}
	_, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), MemorySize: aws.Int32(256)})
	wantErr(t, err, conflict("The operation cannot be performed at this time. The function is currently in the following state: Pending"))
	_, err = h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	wantErr(t, err, conflict("The operation cannot be performed at this time. The function is currently in the following state: Pending"))

	g.open(t, nil)
	if c := h.waitActive(t, h.client, name).Configuration; c.LastUpdateStatus != types.LastUpdateStatusSuccessful || c.StateReasonCode != "" {
		t.Fatalf("after preparation: LastUpdateStatus %q, StateReasonCode %q", c.LastUpdateStatus, c.StateReasonCode)
	}

	out, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), MemorySize: aws.Int32(256)})
	if err != nil {
		t.Fatal(err)
	}
	if out.LastUpdateStatus != types.LastUpdateStatusInProgress || out.State != types.StateActive {
		t.Errorf("update response: State %q LastUpdateStatus %q, want Active/InProgress", out.State, out.LastUpdateStatus)
	}
	if c := get(); c.LastUpdateStatus != types.LastUpdateStatusInProgress || c.LastUpdateStatusReasonCode != types.LastUpdateStatusReasonCode("Creating") {
		t.Errorf("during update: LastUpdateStatus %q (%q), want InProgress", c.LastUpdateStatus, c.LastUpdateStatusReasonCode)
	}
	_, err = h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: codeZip(t, "v2")})
	wantErr(t, err, conflict("The operation cannot be performed at this time. An update is in progress for resource: "+h.arn(name)))
	g.open(t, nil)
	if c := h.waitUpdated(t, name).Configuration; aws.ToInt32(c.MemorySize) != 256 || c.LastUpdateStatusReason != nil {
		t.Errorf("after update: MemorySize %d, LastUpdateStatusReason %v", aws.ToInt32(c.MemorySize), c.LastUpdateStatusReason)
	}

	// A preparation that fails marks an update Failed (the function stays
	// Active) and a creation Failed outright.
	if _, err := h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: codeZip(t, "v3")}); err != nil {
		t.Fatal(err)
	}
	g.open(t, errors.New("disk full"))
	w := lambda.NewFunctionUpdatedV2Waiter(h.client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err == nil {
		t.Error("FunctionUpdatedV2 waiter succeeded for a failed update")
	}
	if c := get(); c.LastUpdateStatus != types.LastUpdateStatusFailed || c.State != types.StateActive ||
		!strings.Contains(aws.ToString(c.LastUpdateStatusReason), "disk full") {
		t.Errorf("failed update: State %q LastUpdateStatus %q reason %q", c.State, c.LastUpdateStatus, aws.ToString(c.LastUpdateStatusReason))
	}

	failed := fnName("state-failed")
	if _, err := h.client.CreateFunction(ctx, createInput(t, failed)); err != nil {
		t.Fatal(err)
	}
	g.open(t, errors.New("no space left"))
	wa := lambda.NewFunctionActiveV2Waiter(h.client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := wa.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(failed)}, 30*time.Second); err == nil {
		t.Error("FunctionActiveV2 waiter succeeded for a function whose creation failed")
	}
	cfg, err := h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(failed)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.State != types.StateFailed || cfg.StateReasonCode != types.StateReasonCodeInternalError {
		t.Errorf("failed creation: State %q (%q), want Failed/InternalError", cfg.State, cfg.StateReasonCode)
	}
}

func TestGetFunction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	name := fnName("get")
	in := createInput(t, name)
	in.Tags = map[string]string{"k": "v"}
	zip := in.Code.ZipFile
	if _, err := h.client.CreateFunction(ctx, in); err != nil {
		t.Fatal(err)
	}
	got := h.waitActive(t, h.client, name)
	if got.Code == nil || aws.ToString(got.Code.RepositoryType) != "S3" {
		t.Fatalf("Code = %+v, want RepositoryType S3", got.Code)
	}
	if diff := cmp.Diff(map[string]string{"k": "v"}, got.Tags); diff != "" {
		t.Errorf("Tags (-want +got)\n%s", diff)
	}
	if got.Concurrency != nil {
		t.Errorf("Concurrency = %+v without a reservation", got.Concurrency)
	}

	t.Run("code location downloads the package", func(t *testing.T) {
		resp, err := http.Get(aws.ToString(got.Code.Location))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, zip) {
			t.Fatalf("GET code location: %d, %d bytes; want 200 and the %d-byte package", resp.StatusCode, len(body), len(zip))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/zip" {
			t.Errorf("Content-Type = %q", ct)
		}
	})

	t.Run("tampered code location refused", func(t *testing.T) {
		loc := aws.ToString(got.Code.Location)
		other := strings.Repeat("0", 64)
		hash := loc[strings.Index(loc, "/_cloister/code/")+len("/_cloister/code/") : strings.Index(loc, "?")]
		tampered := map[string]string{
			"signature": regexp.MustCompile(`Signature=[0-9a-f]`).ReplaceAllStringFunc(loc, func(s string) string {
				if strings.HasSuffix(s, "0") {
					return "Signature=1"
				}
				return "Signature=0"
			}),
			"expiry":       regexp.MustCompile(`Expires=\d+`).ReplaceAllString(loc, "Expires=9999999999"),
			"hash":         strings.Replace(loc, hash, other, 1),
			"no signature": loc[:strings.Index(loc, "?")],
		}
		for what, u := range tampered {
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			r := rawResponse{status: resp.StatusCode, header: resp.Header}
			r.body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Run(what, func(t *testing.T) {
				wantRawErr(t, r, apiErr{403, "AccessDeniedException", "Request has expired or its signature is invalid."})
			})
		}
	})

	t.Run("concurrency reported", func(t *testing.T) {
		if _, err := h.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(7)}); err != nil {
			t.Fatal(err)
		}
		out, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Concurrency == nil || aws.ToInt32(out.Concurrency.ReservedConcurrentExecutions) != 7 {
			t.Errorf("Concurrency = %+v, want 7", out.Concurrency)
		}
	})

	t.Run("configuration matches", func(t *testing.T) {
		full, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(full.Configuration, configOf(cfg), cmpConfig); diff != "" {
			t.Errorf("GetFunctionConfiguration differs from GetFunction.Configuration (-get +config)\n%s", diff)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("no-such-function")})
		wantErr(t, err, notFound("Function not found: "+h.arn("no-such-function")))
		errAs[*types.ResourceNotFoundException](t, err)
		_, err = h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("no-such-function"), Qualifier: aws.String("3")})
		wantErr(t, err, notFound("Function not found: "+h.arn("no-such-function")+":3"))
	})
}

// TestCodeLocationExpires runs on its own server because it moves the
// API's clock.
func TestCodeLocationExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	name := fnName("expiry")
	h.createFunction(t, name)
	out, err := h.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.advance(11 * time.Minute)
	resp, err := http.Get(aws.ToString(out.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := rawResponse{status: resp.StatusCode, header: resp.Header}
	r.body, _ = io.ReadAll(resp.Body)
	wantRawErr(t, r, apiErr{403, "AccessDeniedException", "Request has expired or its signature is invalid."})
}

// configOf converts GetFunctionConfiguration's output to the shared type.
func configOf(o *lambda.GetFunctionConfigurationOutput) *types.FunctionConfiguration {
	return &types.FunctionConfiguration{
		Architectures: o.Architectures, CodeSha256: o.CodeSha256, CodeSize: o.CodeSize, DeadLetterConfig: o.DeadLetterConfig,
		Description: o.Description, Environment: o.Environment, EphemeralStorage: o.EphemeralStorage, FunctionArn: o.FunctionArn,
		FunctionName: o.FunctionName, Handler: o.Handler, LastModified: o.LastModified, LastUpdateStatus: o.LastUpdateStatus,
		LastUpdateStatusReason: o.LastUpdateStatusReason, LastUpdateStatusReasonCode: o.LastUpdateStatusReasonCode,
		Layers: o.Layers, LoggingConfig: o.LoggingConfig, MemorySize: o.MemorySize, PackageType: o.PackageType,
		RevisionId: o.RevisionId, Role: o.Role, Runtime: o.Runtime, SnapStart: o.SnapStart, State: o.State,
		StateReason: o.StateReason, StateReasonCode: o.StateReasonCode, Timeout: o.Timeout, TracingConfig: o.TracingConfig,
		Version: o.Version,
	}
}

// cmpConfig compares SDK structs, which hold unexported no-copy fields.
var cmpConfig = cmp.Exporter(func(reflect.Type) bool { return true })

func TestUpdateFunctionCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()

	t.Run("replace code", func(t *testing.T) {
		t.Parallel()
		name := fnName("code")
		h.createFunction(t, name)
		zip := codeZip(t, "second")
		out, err := h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: zip})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.CodeSha256) != codeSha256(zip) || out.CodeSize != int64(len(zip)) || out.LastUpdateStatus != types.LastUpdateStatusInProgress {
			t.Errorf("response: CodeSha256 %q CodeSize %d LastUpdateStatus %q", aws.ToString(out.CodeSha256), out.CodeSize, out.LastUpdateStatus)
		}
		got := h.waitUpdated(t, name)
		if got.Configuration.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToString(got.Configuration.CodeSha256) != codeSha256(zip) {
			t.Errorf("after update: %q %q", got.Configuration.LastUpdateStatus, aws.ToString(got.Configuration.CodeSha256))
		}
		if body := download(t, aws.ToString(got.Code.Location)); !bytes.Equal(body, zip) {
			t.Error("code location does not serve the new package")
		}
	})

	t.Run("dry run changes nothing", func(t *testing.T) {
		t.Parallel()
		name := fnName("code-dry")
		created := h.createFunction(t, name)
		before := h.waitActive(t, h.client, name)
		zip := codeZip(t, "dry")
		out, err := h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: zip, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.CodeSha256) != codeSha256(zip) {
			t.Errorf("dry run CodeSha256 = %q, want the new package's", aws.ToString(out.CodeSha256))
		}
		after, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(after.Configuration.CodeSha256) != aws.ToString(created.CodeSha256) ||
			aws.ToString(after.Configuration.RevisionId) != aws.ToString(before.Configuration.RevisionId) {
			t.Error("dry run changed the function")
		}
		_, err = h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: zip, DryRun: true, RevisionId: aws.String("stale")})
		wantErr(t, err, apiErr{412, "PreconditionFailedException", revisionMismatch})
	})

	t.Run("publish", func(t *testing.T) {
		t.Parallel()
		name := fnName("code-publish")
		h.createFunction(t, name)
		zip := codeZip(t, "published")
		out, err := h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: zip, Publish: true})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Version) != "1" || aws.ToString(out.CodeSha256) != codeSha256(zip) || aws.ToString(out.FunctionArn) != h.arn(name)+":1" {
			t.Errorf("Publish: Version %q CodeSha256 %q FunctionArn %q", aws.ToString(out.Version), aws.ToString(out.CodeSha256), aws.ToString(out.FunctionArn))
		}
	})

	t.Run("revision id", func(t *testing.T) {
		t.Parallel()
		name := fnName("code-rev")
		h.createFunction(t, name)
		cur := h.waitActive(t, h.client, name).Configuration.RevisionId
		_, err := h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: codeZip(t, "x"), RevisionId: aws.String("00000000-0000-4000-8000-000000000000")})
		wantErr(t, err, apiErr{412, "PreconditionFailedException", revisionMismatch})
		errAs[*types.PreconditionFailedException](t, err)
		if _, err := h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: codeZip(t, "x"), RevisionId: cur}); err != nil {
			t.Fatalf("update with the current RevisionId: %v", err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		name := fnName("code-bad")
		h.createFunction(t, name)
		_, err := h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name + ":1"), ZipFile: codeZip(t, "x")})
		wantErr(t, err, invalidParam("Unsupported function name format: "+name+":1. Function names cannot be qualified when updating code."))
		_, err = h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), S3Bucket: aws.String("b"), S3Key: aws.String("k")})
		wantErr(t, err, invalidParam("S3 code locations are not supported by this Cloister server; upload the package as ZipFile."))
		_, err = h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("no-such-fn"), ZipFile: codeZip(t, "x")})
		wantErr(t, err, notFound("Function not found: "+h.arn("no-such-fn")))
	})
}

// download fetches a code location with a plain GET.
func download(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return body
}

func TestUpdateFunctionConfiguration(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()

	t.Run("members applied", func(t *testing.T) {
		t.Parallel()
		name := fnName("config")
		h.createFunction(t, name, func(in *lambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"OLD": "1"}}
		})
		out, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(name), Description: aws.String("new"), Timeout: aws.Int32(60), MemorySize: aws.Int32(1024),
			Handler: aws.String("main"), Runtime: types.Runtime("provided.al2"),
			Environment:      &types.Environment{Variables: map[string]string{"NEW": "2"}},
			EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(2048)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.LastUpdateStatus != types.LastUpdateStatusInProgress {
			t.Errorf("LastUpdateStatus = %q, want InProgress", out.LastUpdateStatus)
		}
		c := h.waitUpdated(t, name).Configuration
		if aws.ToString(c.Description) != "new" || aws.ToInt32(c.Timeout) != 60 || aws.ToInt32(c.MemorySize) != 1024 ||
			aws.ToString(c.Handler) != "main" || c.Runtime != "provided.al2" || aws.ToInt32(c.EphemeralStorage.Size) != 2048 {
			t.Errorf("configuration not applied: %+v", c)
		}
		if diff := cmp.Diff(map[string]string{"NEW": "2"}, c.Environment.Variables); diff != "" {
			t.Errorf("Environment replaced (-want +got)\n%s", diff)
		}
		// An empty variable map removes the environment.
		if _, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(name), Environment: &types.Environment{Variables: map[string]string{}},
		}); err != nil {
			t.Fatal(err)
		}
		if c := h.waitUpdated(t, name).Configuration; c.Environment != nil {
			t.Errorf("Environment = %+v after clearing", c.Environment)
		}
	})

	t.Run("qualified refused", func(t *testing.T) {
		t.Parallel()
		name := fnName("config-q")
		h.createFunction(t, name)
		_, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name + ":$LATEST"), Timeout: aws.Int32(5)})
		wantErr(t, err, invalidParam("Unsupported function name format: "+name+":$LATEST. Function names cannot be qualified when updating configuration."))
	})

	t.Run("concurrent updates with one RevisionId", func(t *testing.T) {
		t.Parallel()
		name := fnName("config-race")
		h.createFunction(t, name)
		rev := h.waitActive(t, h.client, name).Configuration.RevisionId
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
					FunctionName: aws.String(name), RevisionId: rev, Timeout: aws.Int32(int32(10 + i)),
				})
			}()
		}
		wg.Wait()
		won := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		if won < 0 {
			t.Fatalf("no update succeeded: %v", errs)
		}
		for i, err := range errs {
			if i == won {
				continue
			}
			wantErr(t, err, apiErr{412, "PreconditionFailedException", revisionMismatch})
		}
		if c := h.waitUpdated(t, name).Configuration; aws.ToInt32(c.Timeout) != int32(10+won) {
			t.Errorf("Timeout = %d, want the winner's %d", aws.ToInt32(c.Timeout), 10+won)
		}
	})
}

func TestDeleteFunction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()

	t.Run("whole function", func(t *testing.T) {
		t.Parallel()
		name := fnName("del")
		h.createFunction(t, name)
		h.publish(t, name)
		if _, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"", "1"} {
			_, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: qual(q)})
			errAs[*types.ResourceNotFoundException](t, err)
		}
		_, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
		wantErr(t, err, notFound("Function not found: "+h.arn(name)))
	})

	t.Run("status 204", func(t *testing.T) {
		t.Parallel()
		name := fnName("del-raw")
		h.createFunction(t, name)
		r := h.do(t, h.rootSigner(), http.MethodDelete, "/2015-03-31/functions/"+name, nil)
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Errorf("DELETE: %d %q, want 204 and no body", r.status, r.body)
		}
	})

	t.Run("one version", func(t *testing.T) {
		t.Parallel()
		name := fnName("del-ver")
		h.createFunction(t, name)
		h.publish(t, name)
		h.updateCode(t, name, "v2")
		h.publish(t, name)
		if _, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("1")}); err != nil {
			t.Fatal(err)
		}
		_, err := h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name + ":1")})
		wantErr(t, err, notFound("Function not found: "+h.arn(name)+":1"))
		if got := versionsOf(t, h, name); !slices.Equal(got, []string{"$LATEST", "2"}) {
			t.Errorf("versions after deleting 1: %v", got)
		}
		_, err = h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("$LATEST")})
		wantErr(t, err, invalidParam("$LATEST version cannot be deleted without deleting the function."))
	})

	t.Run("version referenced by an alias", func(t *testing.T) {
		t.Parallel()
		name := fnName("del-alias")
		h.createFunction(t, name)
		h.publish(t, name)
		h.updateCode(t, name, "v2")
		h.publish(t, name)
		mustAlias(t, h, name, "live", "1", nil)
		mustAlias(t, h, name, "canary", "2", map[string]float64{"1": 0.1})
		_, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name + ":1")})
		wantErr(t, err, conflict("Unable to delete version because the following aliases reference it: [canary, live]"))
		_, err = h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("2")})
		wantErr(t, err, conflict("Unable to delete version because the following aliases reference it: [canary]"))
		if got := versionsOf(t, h, name); !slices.Equal(got, []string{"$LATEST", "1", "2"}) {
			t.Errorf("versions after refused deletes: %v", got)
		}
	})

	t.Run("recreated function starts afresh", func(t *testing.T) {
		t.Parallel()
		name := fnName("del-again")
		h.createFunction(t, name)
		h.publish(t, name)
		mustAlias(t, h, name, "live", "1", nil)
		if _, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		h.createFunction(t, name, func(in *lambda.CreateFunctionInput) { in.Code.ZipFile = codeZip(t, "reborn") })
		if got := versionsOf(t, h, name); !slices.Equal(got, []string{"$LATEST"}) {
			t.Errorf("versions of the recreated function: %v", got)
		}
		_, err := h.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String("live")})
		errAs[*types.ResourceNotFoundException](t, err)
		v, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(v.Version) != "1" || aws.ToString(v.CodeSha256) != codeSha256(codeZip(t, "reborn")) {
			t.Errorf("first version of the recreated function: %q %q", aws.ToString(v.Version), aws.ToString(v.CodeSha256))
		}
	})
}

// versionsOf lists a function's versions through the SDK paginator.
func versionsOf(t testing.TB, h *harness, name string) []string {
	t.Helper()
	var out []string
	p := lambda.NewListVersionsByFunctionPaginator(h.client, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			out = append(out, aws.ToString(v.Version))
		}
	}
	return out
}

// mustAlias creates an alias.
func mustAlias(t testing.TB, h *harness, fn, alias, version string, weights map[string]float64) *lambda.CreateAliasOutput {
	t.Helper()
	in := &lambda.CreateAliasInput{FunctionName: aws.String(fn), Name: aws.String(alias), FunctionVersion: aws.String(version)}
	if weights != nil {
		in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: weights}
	}
	out, err := h.client.CreateAlias(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateAlias %s:%s: %v", fn, alias, err)
	}
	return out
}

// TestInvokeWithoutDataPlane: a server configured without a data plane
// manages functions but answers every invocation, synchronous or queued,
// with ServiceUnavailableException.
func TestInvokeWithoutDataPlane(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	h.createFunction(t, "no-plane")
	want := apiErr{503, "ServiceUnavailableException", "This Cloister server does not run functions (no data plane configured)."}
	_, err := h.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("no-plane"), Payload: []byte(`{}`)})
	wantErr(t, err, want)
	_, err = h.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("no-plane"), Payload: []byte(`{}`), InvocationType: "Event"})
	wantErr(t, err, want)
	//lint:ignore SA1019 InvokeAsync is deprecated by AWS and still served
	_, err = h.client.InvokeAsync(ctx, &lambda.InvokeAsyncInput{FunctionName: aws.String("no-plane"), InvokeArgs: strings.NewReader(`{}`)})
	wantErr(t, err, want)
}
