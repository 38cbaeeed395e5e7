package invoke_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/cloister/cloister/internal/invoke"
	"github.com/cloister/cloister/internal/sandbox"
)

func TestGoFunctionRunsUnmodified(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	out := h.invoke(t, name, map[string]any{"op": "echo", "arg": "hi"}, withTail)
	if out.StatusCode != 200 || out.FunctionError != nil {
		t.Fatalf("status %d error %v payload %s", out.StatusCode, out.FunctionError, out.Payload)
	}
	got := decode[map[string]any](t, out)
	if got["arg"] != "hi" || got["request"] == "" {
		t.Fatalf("payload %v", got)
	}
	if aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("ExecutedVersion = %q", aws.ToString(out.ExecutedVersion))
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	for _, want := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "Billed Duration: ", "Max Memory Used: ", "Init Duration: "} {
		if !strings.Contains(string(tail), want) {
			t.Errorf("log tail lacks %q:\n%s", want, tail)
		}
	}
	// A warm invocation reuses the process and reports no Init Duration.
	out2 := h.invoke(t, name, map[string]any{"op": "echo"}, withTail)
	got2 := decode[map[string]any](t, out2)
	if got2["pid"] != got["pid"] || got2["invocations"].(float64) != 2 {
		t.Fatalf("second invocation ran elsewhere: %v then %v", got, got2)
	}
	tail2, _ := base64.StdEncoding.DecodeString(aws.ToString(out2.LogResult))
	if strings.Contains(string(tail2), "Init Duration") {
		t.Errorf("warm invocation reported Init Duration:\n%s", tail2)
	}
}

func TestEnvironmentVariables(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip, memory: 256,
		env: map[string]string{"MY_VAR": "my value"}})
	env := decode[[]string](t, h.invoke(t, name, map[string]any{"op": "env"}))
	have := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		have[k] = v
	}
	want := map[string]string{
		"MY_VAR": "my value", "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
		"LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime", "_HANDLER": "bootstrap",
		"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + name, "TZ": ":UTC", "LANG": "en_US.UTF-8",
	}
	for k, v := range want {
		if have[k] != v {
			t.Errorf("%s = %q, want %q", k, have[k], v)
		}
	}
	for _, k := range []string{"AWS_LAMBDA_LOG_STREAM_NAME", "PATH", "LD_LIBRARY_PATH", "_X_AMZN_TRACE_ID"} {
		if have[k] == "" {
			t.Errorf("%s is not set", k)
		}
	}
	// Nothing of the server's own environment leaks in.
	for _, k := range []string{"HOME", "GOPATH", "USER", "PWD", "_LAMBDA_SERVER_PORT", "AWS_LAMBDA_MAX_CONCURRENCY"} {
		if _, ok := have[k]; ok {
			t.Errorf("server variable %s leaked into the function", k)
		}
	}
}

func TestFunctionErrors(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip, timeout: 1})

	t.Run("handler error", func(t *testing.T) {
		msg := funcError(t, h.invoke(t, name, map[string]any{"op": "fail", "arg": "x"}), "errorString")
		if msg != "probe failure: x" {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		out := h.invoke(t, name, map[string]any{"op": "sleep", "n": 5000}, withTail)
		msg := funcError(t, out, "Sandbox.Timedout")
		if !strings.HasSuffix(msg, "Task timed out after 1.00 seconds") {
			t.Fatalf("message %q", msg)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if !strings.Contains(string(tail), "Task timed out after 1.00 seconds") {
			t.Fatalf("tail lacks the timeout line:\n%s", tail)
		}
	})
	t.Run("exit", func(t *testing.T) {
		msg := funcError(t, h.invoke(t, name, map[string]any{"op": "exit", "n": 7}), "Runtime.ExitError")
		if !strings.HasSuffix(msg, "Runtime exited with error: exit status 7") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("panic", func(t *testing.T) {
		msg := funcError(t, h.invoke(t, name, map[string]any{"op": "panic"}), "string")
		if msg != "probe panic" {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("response too large", func(t *testing.T) {
		msg := funcError(t, h.invoke(t, name, map[string]any{"op": "big", "bytes": 7 << 20}), "Function.ResponseSizeTooLarge")
		if !strings.Contains(msg, "6291556") {
			t.Fatalf("message %q", msg)
		}
	})
	// After every failure above, a fresh environment serves the next call.
	t.Run("recovers", func(t *testing.T) {
		out := h.invoke(t, name, map[string]any{"op": "echo", "arg": "after"})
		if out.FunctionError != nil {
			t.Fatalf("error %s", out.Payload)
		}
	})
}

func TestOutOfMemory(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip, memory: 128, timeout: 10})
	funcError(t, h.invoke(t, name, map[string]any{"op": "alloc", "bytes": 512 << 20}), "Runtime.OutOfMemory")
	if out := h.invoke(t, name, map[string]any{"op": "echo"}); out.FunctionError != nil {
		t.Fatalf("after OOM: %s", out.Payload)
	}
}

func TestInvokeRequestValidation(t *testing.T) {
	h := get(t)
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	_, err := h.tryInvoke(name, []byte("{not json"))
	var bad *types.InvalidRequestContentException
	if !errors.As(err, &bad) {
		t.Fatalf("invalid JSON: %v", err)
	}
	_, err = h.tryInvoke(name, []byte(`"`+strings.Repeat("x", 6<<20)+`"`))
	// Real Lambda answers RequestEntityTooLargeException here (the API model
	// says RequestTooLargeException; clients see the code on the wire).
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "RequestEntityTooLargeException" {
		t.Fatalf("oversized payload: %v", err)
	}
	out := h.invoke(t, name, nil, func(in *lambda.InvokeInput) { in.InvocationType = types.InvocationTypeDryRun })
	if out.StatusCode != 204 {
		t.Fatalf("DryRun status %d", out.StatusCode)
	}
	// An empty payload reaches the function as {}.
	if got := decode[map[string]any](t, h.invoke(t, name, nil)); got["op"] != "" {
		t.Fatalf("empty payload: %v", got)
	}
	// The client context reaches the function.
	cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))
	got := decode[map[string]any](t, h.invoke(t, name, map[string]any{"op": "echo"}, func(in *lambda.InvokeInput) { in.ClientContext = aws.String(cc) }))
	if fmt.Sprint(got["client"]) != "map[k:v]" {
		t.Fatalf("client context: %v", got["client"])
	}
}

func TestVersionsAndAliases(t *testing.T) {
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.create(t, name, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip, env: map[string]string{"GEN": "1"}})
	v1, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), Environment: &types.Environment{Variables: map[string]string{"GEN": "2"}}}); err != nil {
		t.Fatal(err)
	}
	waitUpdated(t, h, name)
	v2, err := h.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	gen := func(qualifier string) (string, string) {
		out := h.invoke(t, name, map[string]any{"op": "env"}, func(in *lambda.InvokeInput) {
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
		})
		for _, kv := range decode[[]string](t, out) {
			if strings.HasPrefix(kv, "GEN=") {
				return strings.TrimPrefix(kv, "GEN="), aws.ToString(out.ExecutedVersion)
			}
		}
		return "", aws.ToString(out.ExecutedVersion)
	}
	if g, v := gen(*v1.Version); g != "1" || v != *v1.Version {
		t.Fatalf("version 1 ran GEN=%s as %s", g, v)
	}
	if g, v := gen(""); g != "2" || v != "$LATEST" {
		t.Fatalf("$LATEST ran GEN=%s as %s", g, v)
	}
	// Versions never share an environment: what version 1 leaves in /tmp,
	// version 2 does not see.
	q := func(v *string) func(*lambda.InvokeInput) { return func(in *lambda.InvokeInput) { in.Qualifier = v } }
	h.invoke(t, name, map[string]any{"op": "writetmp", "arg": "v1mark"}, q(v1.Version))
	if got := decode[string](t, h.invoke(t, name, map[string]any{"op": "readtmp", "arg": "v1mark"}, q(v1.Version))); !strings.HasPrefix(got, "present") {
		t.Fatalf("version 1 lost its own /tmp: %s", got)
	}
	if got := decode[string](t, h.invoke(t, name, map[string]any{"op": "readtmp", "arg": "v1mark"}, q(v2.Version))); !strings.HasPrefix(got, "absent") {
		t.Fatalf("version 2 sees version 1's /tmp: %s", got)
	}
	// Weighted alias: about 30% of invocations run version 2.
	if _, err := h.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"),
		FunctionVersion: v1.Version, RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{*v2.Version: 0.3}}}); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for i := 0; i < 200; i++ {
		_, v := gen("live")
		counts[v]++
	}
	if counts[*v2.Version] < 30 || counts[*v2.Version] > 90 || counts[*v1.Version]+counts[*v2.Version] != 200 {
		t.Fatalf("weighted routing spread: %v", counts)
	}
	// The function sees the alias ARN it was invoked through.
	arn := decode[map[string]any](t, h.invoke(t, name, map[string]any{"op": "echo"}, func(in *lambda.InvokeInput) { in.Qualifier = aws.String("live") }))["arn"]
	if !strings.HasSuffix(fmt.Sprint(arn), ":function:"+name+":live") {
		t.Fatalf("invoked ARN %v", arn)
	}
}

func waitUpdated(t *testing.T, h *harness, name string) {
	t.Helper()
	w := lambda.NewFunctionUpdatedV2Waiter(h.client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50e6, 200e6
	})
	if err := w.Wait(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 60e9); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateRetiresEnvironments(t *testing.T) {
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.create(t, name, fnSpec{})
	h.invoke(t, name, map[string]any{"op": "echo"})
	if _, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), Environment: &types.Environment{Variables: map[string]string{"CHANGED": "yes"}}}); err != nil {
		t.Fatal(err)
	}
	waitUpdated(t, h, name)
	got := decode[map[string]any](t, h.invoke(t, name, map[string]any{"op": "echo"}))
	if got["invocations"].(float64) != 1 {
		t.Fatalf("an environment from before the update served the call: %v", got)
	}
}

func TestReservedConcurrency(t *testing.T) {
	h := get(t)
	ctx := context.Background()
	name := uniqueName(t)
	h.create(t, name, fnSpec{runtime: "provided.al2023", handler: "bootstrap", zip: probeZip, timeout: 10})

	if _, err := h.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err := h.tryInvoke(name, map[string]any{"op": "echo"})
	var tmr *types.TooManyRequestsException
	if !errors.As(err, &tmr) || tmr.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Fatalf("with 0 reserved: %v", err)
	}

	if _, err := h.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = h.tryInvoke(name, map[string]any{"op": "sleep", "n": 1500})
		}(i)
	}
	wg.Wait()
	throttled := 0
	for _, err := range errs {
		if errors.As(err, &tmr) {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if throttled != 1 {
		t.Fatalf("with 1 reserved and 2 concurrent calls, %d were throttled", throttled)
	}
}

func TestPythonAndNodeHandlers(t *testing.T) {
	h := get(t)
	pyZip, _ := zipFiles(map[string]zipEntry{"app.py": {data: []byte(`import os
def handler(event, context):
    if event.get("raise"):
        raise KeyError("missing")
    return {"lang": "python", "req": context.aws_request_id, "uid": os.getuid(), "echo": event}
`)}})
	nodeZip, _ := zipFiles(map[string]zipEntry{"index.js": {data: []byte(`exports.handler = async (event, context) => {
  if (event.raise) { throw new TypeError("bad type"); }
  return { lang: "node", req: context.awsRequestId, echo: event };
};
`)}})
	cases := []struct {
		runtime, handler string
		zip              []byte
		errType          string
	}{
		{"python3.11", "app.handler", pyZip, "KeyError"},
		{"nodejs20.x", "index.handler", nodeZip, "TypeError"},
	}
	for _, c := range cases {
		t.Run(c.runtime, func(t *testing.T) {
			name := uniqueName(t)
			h.create(t, name, fnSpec{runtime: c.runtime, handler: c.handler, zip: c.zip, memory: 512, timeout: 10})
			got := decode[map[string]any](t, h.invoke(t, name, map[string]any{"x": 1}))
			if got["req"] == "" || fmt.Sprint(got["echo"]) != "map[x:1]" {
				t.Fatalf("payload %v", got)
			}
			funcError(t, h.invoke(t, name, map[string]any{"raise": true}), c.errType)
		})
	}
}

func TestInitFailures(t *testing.T) {
	h := get(t)
	noBootstrap, _ := zipFiles(map[string]zipEntry{"README": {data: []byte("no bootstrap here")}})
	syntax, _ := zipFiles(map[string]zipEntry{"app.py": {data: []byte("def handler(:\n")}})
	cases := []struct {
		name, runtime, handler string
		zip                    []byte
		errType                string
	}{
		{"no-bootstrap", "provided.al2023", "bootstrap", noBootstrap, "Runtime.InvalidEntrypoint"},
		{"python-syntax", "python3.11", "app.handler", syntax, "Runtime.UserCodeSyntaxError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := uniqueName(t)
			h.create(t, name, fnSpec{runtime: c.runtime, handler: c.handler, zip: c.zip, memory: 512})
			funcError(t, h.invoke(t, name, map[string]any{}), c.errType)
		})
	}
}

// TestCPUPlacement: a function of more than one vCPU may run on every CPU;
// one of at most one vCPU runs on a single CPU of the host's, and moves to a
// quiet CPU when its own runs another invocation (placement.go).
func TestCPUPlacement(t *testing.T) {
	h := get(t)
	host := invoke.AllowedCPUs()
	affinity := func(name string) []int {
		out := h.invoke(t, name, map[string]any{"op": "affinity"})
		var list string
		if out.FunctionError != nil || json.Unmarshal(out.Payload, &list) != nil {
			t.Fatalf("affinity: %s", out.Payload)
		}
		var cpus []int
		for _, part := range strings.Split(list, ",") {
			lo, hi, ranged := strings.Cut(part, "-")
			a, err1 := strconv.Atoi(lo)
			b, err2 := a, error(nil)
			if ranged {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil {
				t.Fatalf("Cpus_allowed_list %q", list)
			}
			for c := a; c <= b; c++ {
				cpus = append(cpus, c)
			}
		}
		return cpus
	}
	large := uniqueName(t) + "-large"
	h.create(t, large, fnSpec{memory: 2 * sandbox.MBPerCPU})
	if got := affinity(large); len(got) != len(host) {
		t.Errorf("a %d MB function runs on CPUs %v, want all %d", 2*sandbox.MBPerCPU, got, len(host))
	}
	small := uniqueName(t) + "-small"
	h.create(t, small, fnSpec{memory: sandbox.MBPerCPU})
	got := affinity(small)
	if len(host) > 1 && (len(got) != 1 || !slices.Contains(host, got[0])) || len(host) == 1 && len(got) != 1 {
		t.Errorf("a %d MB function runs on CPUs %v (host has %v)", sandbox.MBPerCPU, got, host)
	}
	if len(host) < 2 {
		return
	}
	// Its CPU runs another pinned environment's invocation while another
	// CPU runs none: the next invocation moves it there first.
	release := h.inv.HoldCPU(got[0])
	moved := affinity(small)
	release()
	if len(moved) != 1 || moved[0] == got[0] || !slices.Contains(host, moved[0]) {
		t.Errorf("with CPU %d busy, the function runs on CPUs %v, want another of %v", got[0], moved, host)
	}
	// Nothing else runs: it stays where it is.
	if again := affinity(small); !slices.Equal(again, moved) {
		t.Errorf("on quiet CPUs the function moved from %v to %v", moved, again)
	}
}

// TestPlacementReleased: an environment gives its CPU back however it ends:
// when its init fails, and when it is retired.
func TestPlacementReleased(t *testing.T) {
	h := get(t)
	if n := len(invoke.AllowedCPUs()); n < 2 {
		t.Skip("placement pins only on hosts with two CPUs or more")
	}
	base := h.inv.PinnedEnvironments()
	// Init fails inside the sandbox: it started (and was pinned), the
	// handler's module did not load.
	syntax, _ := zipFiles(map[string]zipEntry{"app.py": {data: []byte("def handler(:\n")}})
	broken := uniqueName(t) + "-broken"
	h.create(t, broken, fnSpec{runtime: "python3.11", handler: "app.handler", zip: syntax, memory: 512})
	funcError(t, h.invoke(t, broken, map[string]any{}), "Runtime.UserCodeSyntaxError")
	if got := h.inv.PinnedEnvironments(); got != base {
		t.Errorf("after a failed init %d environments are pinned, want %d", got, base)
	}
	// A running environment holds its CPU until it is retired, here by
	// deleting its function.
	name := uniqueName(t)
	h.create(t, name, fnSpec{memory: 512})
	h.invoke(t, name, map[string]any{"op": "echo"})
	if got := h.inv.PinnedEnvironments(); got != base+1 {
		t.Errorf("with a live 512 MB environment %d environments are pinned, want %d", got, base+1)
	}
	if _, err := h.client.DeleteFunction(context.Background(), delInput(name)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.inv.PinnedEnvironments() != base {
		if time.Now().After(deadline) {
			t.Fatalf("after the function's deletion %d environments are pinned, want %d", h.inv.PinnedEnvironments(), base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
