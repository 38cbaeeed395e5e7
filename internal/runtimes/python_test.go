package runtimes

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPythonClient runs the real Python runtime client against the test
// Runtime API, one client process per case.
func TestPythonClient(t *testing.T) {
	rt := runtimeFor(t, FamilyPython)
	tests := []struct {
		name    string
		files   map[string]string
		opt     map[string]string
		handler string
		env     map[string]string
		run     func(t *testing.T, h *harness)
	}{
		{
			name:    "sync handler echoes event with unicode",
			files:   map[string]string{"app.py": "def handler(event, context):\n    return {'got': event, 'len': len(event['s'])}\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				body := h.response(`{"s":"héllo 世界 😀"}`)
				jsonEqual(t, body, `{"got":{"s":"héllo 世界 😀"},"len":10}`)
			},
		},
		{
			name: "context values and remaining time",
			files: map[string]string{"app.py": `import os
def handler(event, context):
    cc = context.client_context
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity_id": context.identity.cognito_identity_id,
        "identity_pool": context.identity.cognito_identity_pool_id,
        "cc_custom": cc.custom if cc else None,
        "cc_env": cc.env if cc else None,
        "cc_installation": cc.client.installation_id if cc else None,
        "remaining": context.get_remaining_time_in_millis(),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "cwd": os.getcwd(),
        "exec_env": os.environ.get("AWS_EXECUTION_ENV"),
    }
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				ev := h.invoke(invocation{
					ID:            "0f3c2b1a-aaaa-bbbb-cccc-000000000001",
					Payload:       `{}`,
					ARN:           "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
					Deadline:      time.Now().Add(30 * time.Second),
					TraceID:       "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
					ClientContext: `{"custom":{"k":"v"},"env":{"e":"1"},"client":{"installation_id":"inst-1"}}`,
					Cognito:       `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`,
				})
				if ev.Kind != "response" {
					t.Fatalf("got %s %s", ev.Kind, ev.Body)
				}
				var got map[string]any
				if err := json.Unmarshal(ev.Body, &got); err != nil {
					t.Fatal(err)
				}
				remaining := got["remaining"].(float64)
				if remaining <= 0 || remaining > 30000 {
					t.Errorf("remaining = %v, want in (0, 30000]", remaining)
				}
				delete(got, "remaining")
				want := map[string]any{
					"function_name":        "fn",
					"function_version":     "$LATEST",
					"invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
					"memory_limit_in_mb":   "256",
					"aws_request_id":       "0f3c2b1a-aaaa-bbbb-cccc-000000000001",
					"log_group_name":       "/aws/lambda/fn",
					"log_stream_name":      "2026/01/02/[$LATEST]0123456789abcdef",
					"identity_id":          "id-1",
					"identity_pool":        "pool-1",
					"cc_custom":            map[string]any{"k": "v"},
					"cc_env":               map[string]any{"e": "1"},
					"cc_installation":      "inst-1",
					"trace":                "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
					"cwd":                  h.taskRoot,
					"exec_env":             "AWS_Lambda_" + rt.Name,
				}
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				if string(gb) != string(wb) {
					t.Errorf("context = %s\nwant      %s", gb, wb)
				}
				// A deadline in the past reads as zero, and a missing trace
				// header clears _X_AMZN_TRACE_ID.
				ev = h.invoke(invocation{Payload: `{}`, Deadline: time.Now().Add(-time.Second)})
				got = nil
				if err := json.Unmarshal(ev.Body, &got); err != nil {
					t.Fatal(err)
				}
				if got["remaining"] != 0.0 || got["trace"] != nil || got["cc_custom"] != nil {
					t.Errorf("second invocation: remaining=%v trace=%v cc_custom=%v, want 0, null, null",
						got["remaining"], got["trace"], got["cc_custom"])
				}
			},
		},
		{
			name:    "sequential invocations share one process",
			files:   map[string]string{"app.py": "import os\nn = 0\ndef handler(event, context):\n    global n\n    n += 1\n    return [n, os.getpid(), context.aws_request_id]\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				var pid float64
				for i := 1; i <= 5; i++ {
					inv := h.send(invocation{Payload: `null`})
					ev := h.event()
					var got []any
					if err := json.Unmarshal(ev.Body, &got); err != nil {
						t.Fatalf("invocation %d: %s: %v", i, ev.Body, err)
					}
					if got[0] != float64(i) || got[2] != inv.ID {
						t.Errorf("invocation %d = %v, want count %d for %s", i, got, i, inv.ID)
					}
					if i > 1 && got[1] != pid {
						t.Errorf("invocation %d ran in pid %v, want %v", i, got[1], pid)
					}
					pid = got[1].(float64)
				}
			},
		},
		{
			name: "handler exception then recovery",
			files: map[string]string{"app.py": `class MyError(Exception):
    pass
def handler(event, context):
    if event == "custom":
        raise MyError("custom failure")
    if event == "boom":
        raise ValueError("boom")
    return "fine"
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				ev := h.invoke(invocation{Payload: `"boom"`})
				body := wantError(t, ev, "error", "ValueError", "boom")
				stack, _ := body["stackTrace"].([]any)
				if len(stack) != 1 || !strings.Contains(stack[0].(string), `app.py", line 7, in handler`) {
					t.Errorf("stackTrace = %q, want one frame in app.py line 7", stack)
				}
				if body["requestId"] != ev.ID {
					t.Errorf("requestId = %v, want %s", body["requestId"], ev.ID)
				}
				wantError(t, h.invoke(invocation{Payload: `"custom"`}), "error", "MyError", "custom failure")
				jsonEqual(t, h.response(`"ok"`), `"fine"`)
				h.stop()
				wantLog := "[ERROR] ValueError: boom\rTraceback (most recent call last):\r\u00a0\u00a0File \""
				if !strings.Contains(h.stderr.String(), wantLog) {
					t.Errorf("stderr lacks %q:\n%q", wantLog, h.stderr.String())
				}
			},
		},
		{
			name:    "missing dependency is an import error",
			files:   map[string]string{"app.py": "import notthere\ndef handler(e, c):\n    return 1\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				wantInitError(t, h, "Runtime.ImportModuleError", "Unable to import module 'app': No module named 'notthere'")
				if !strings.Contains(h.stdout.String(), "[WARNING]\t") || !strings.Contains(h.stdout.String(), "LAMBDA_WARNING: Unhandled exception.") {
					t.Errorf("stdout lacks Lambda's init warning:\n%s", h.stdout.String())
				}
				if !strings.Contains(h.stderr.String(), "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'notthere'") {
					t.Errorf("stderr lacks the error line:\n%s", h.stderr.String())
				}
			},
		},
		{
			name:    "missing handler module",
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				wantInitError(t, h, "Runtime.ImportModuleError", "Unable to import module 'app': No module named 'app'")
			},
		},
		{
			name:    "handler not found",
			files:   map[string]string{"app.py": "x = 1\n"},
			handler: "app.nope",
			run: func(t *testing.T, h *harness) {
				wantInitError(t, h, "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'")
			},
		},
		{
			name:    "syntax error",
			files:   map[string]string{"app.py": "def handler(event, context)\n    return 1\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				ev := h.event()
				body := ev.errorBody(t)
				if ev.Kind != "init-error" || body["errorType"] != "Runtime.UserCodeSyntaxError" {
					t.Fatalf("got %s %s, want init-error Runtime.UserCodeSyntaxError", ev.Kind, ev.Body)
				}
				if msg, _ := body["errorMessage"].(string); !strings.HasPrefix(msg, "Syntax error in module 'app': ") || !strings.Contains(msg, "app.py, line 1") {
					t.Errorf("errorMessage = %q", msg)
				}
				if code := h.wait(); code == 0 {
					t.Error("client exited 0 after an init error")
				}
			},
		},
		{
			name:    "malformed handler name",
			files:   map[string]string{"app.py": "def handler(e, c):\n    return 1\n"},
			handler: "app",
			run: func(t *testing.T, h *harness) {
				wantInitError(t, h, "Runtime.MalformedHandlerName", "Bad handler 'app': not enough values to unpack (expected 2, got 1)")
			},
		},
		{
			name:    "built-in module as handler module",
			handler: "sys.exit",
			run: func(t *testing.T, h *harness) {
				wantInitError(t, h, "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module")
			},
		},
		{
			name:    "exception at import time",
			files:   map[string]string{"app.py": "raise RuntimeError('no config')\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				wantInitError(t, h, "RuntimeError", "no config")
			},
		},
		{
			name: "results: unserializable, decimal, bytes, None",
			files: map[string]string{"app.py": `import decimal
def handler(event, context):
    if event == "set":
        return {1, 2}
    if event == "decimal":
        return {"i": decimal.Decimal("12"), "f": decimal.Decimal("1.5")}
    if event == "bytes":
        return b"\x00raw\xff"
    return None
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				wantError(t, h.invoke(invocation{Payload: `"set"`}), "error", "Runtime.MarshalError",
					"Unable to marshal response: Object of type set is not JSON serializable")
				jsonEqual(t, h.response(`"decimal"`), `{"i":12,"f":1.5}`)
				if got := h.response(`"bytes"`); string(got) != "\x00raw\xff" {
					t.Errorf("bytes response = %q", got)
				}
				if got := h.response(`"none"`); string(got) != "null" {
					t.Errorf("None response = %q, want null", got)
				}
			},
		},
		{
			name: "logging lines",
			files: map[string]string{"app.py": `import logging, sys
logger = logging.getLogger()
logger.warning("at init")
def handler(event, context):
    print("plain print ✓")
    logger.info("hidden at the default level")
    logger.warning("careful %s", "now")
    logging.getLogger("child").error("two\nlines")
    context.log("via context\n")
    return 1
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				ev := h.invoke(invocation{ID: "log-req-1", Payload: `{}`})
				if ev.Kind != "response" {
					t.Fatalf("got %s %s", ev.Kind, ev.Body)
				}
				h.stop()
				out := h.stdout.String()
				for _, re := range []string{
					`(?m)^\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t\tat init$`,
					`(?m)^plain print ✓$`,
					`(?m)^\[WARNING\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tlog-req-1\tcareful now$`,
					`(?m)^\[ERROR\]\t[^\t]+Z\tlog-req-1\ttwo\nlines$`,
					`(?m)^via context$`,
				} {
					if !regexp.MustCompile(re).MatchString(out) {
						t.Errorf("stdout does not match %s:\n%s", re, out)
					}
				}
				if strings.Contains(out, "hidden") {
					t.Errorf("INFO line printed at the default WARNING level:\n%s", out)
				}
			},
		},
		{
			name:    "log level from AWS_LAMBDA_LOG_LEVEL and JSON format",
			files:   map[string]string{"app.py": "import logging\ndef handler(event, context):\n    logging.getLogger().debug('dbg %d', 7)\n    return 1\n"},
			handler: "app.handler",
			env:     map[string]string{"AWS_LAMBDA_LOG_LEVEL": "debug", "AWS_LAMBDA_LOG_FORMAT": "JSON"},
			run: func(t *testing.T, h *harness) {
				h.invoke(invocation{ID: "json-req", Payload: `{}`})
				h.stop()
				line := firstLineContaining(h.stdout.String(), "dbg 7")
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q is not JSON: %v", line, err)
				}
				if rec["level"] != "DEBUG" || rec["message"] != "dbg 7" || rec["requestId"] != "json-req" || rec["logger"] != "root" {
					t.Errorf("log record = %v", rec)
				}
			},
		},
		{
			name: "nested module paths and layers",
			files: map[string]string{
				"pkg/sub/mod.py": "import layerlib, shadowed\ndef handler(event, context):\n    return [layerlib.NAME, shadowed.WHERE]\n",
				"shadowed.py":    "WHERE = 'task'\n",
			},
			opt: map[string]string{
				"python/layerlib.py": "NAME = 'layer'\n",
				"python/shadowed.py": "WHERE = 'layer'\n",
			},
			handler: "pkg/sub/mod.handler",
			run: func(t *testing.T, h *harness) {
				jsonEqual(t, h.response(`{}`), `["layer","task"]`)
			},
		},
		{
			name:    "dotted handler path",
			files:   map[string]string{"pkg/sub/mod.py": "def handler(event, context):\n    return 'dotted'\n"},
			handler: "pkg.sub.mod.handler",
			run: func(t *testing.T, h *harness) {
				jsonEqual(t, h.response(`{}`), `"dotted"`)
			},
		},
		{
			name:    "large response",
			files:   map[string]string{"app.py": "def handler(event, context):\n    return 'x' * (5 * 1024 * 1024)\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				if got := h.response(`{}`); len(got) != 5*1024*1024+2 {
					t.Errorf("response is %d bytes, want %d", len(got), 5*1024*1024+2)
				}
			},
		},
		{
			name:    "bad client context header",
			files:   map[string]string{"app.py": "def handler(event, context):\n    return 1\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				ev := h.invoke(invocation{Payload: `{}`, ClientContext: `{not json`})
				body := ev.errorBody(t)
				if body["errorType"] != "Runtime.LambdaContextUnmarshalError" {
					t.Errorf("errorType = %v", body["errorType"])
				}
			},
		},
		{
			name:    "non-2xx from the Runtime API is fatal",
			files:   map[string]string{"app.py": "def handler(event, context):\n    return 1\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				h.api.postStatus.Store(500)
				h.invoke(invocation{Payload: `{}`})
				if code := h.wait(); code == 0 {
					t.Error("client exited 0 after a 500 from the Runtime API")
				}
				if !strings.Contains(h.stderr.String(), "status 500") {
					t.Errorf("stderr does not explain the exit:\n%s", h.stderr.String())
				}
			},
		},
		{
			name:    "sys.exit in the handler ends the process",
			files:   map[string]string{"app.py": "import sys\ndef handler(event, context):\n    sys.exit(3)\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness) {
				h.send(invocation{Payload: `{}`})
				if code := h.wait(); code != 3 {
					t.Errorf("exit code = %d, want 3", code)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, rt, clientSpec{files: tc.files, opt: tc.opt, handler: tc.handler, env: tc.env})
			tc.run(t, h)
		})
	}
}

// wantInitError checks that the client reported an init error and exited
// non-zero without asking for an invocation.
func wantInitError(t *testing.T, h *harness, errType, msg string) {
	t.Helper()
	wantError(t, h.event(), "init-error", errType, msg)
	if code := h.wait(); code == 0 {
		t.Error("client exited 0 after an init error")
	}
	if n := h.api.nexts.Load(); n != 0 {
		t.Errorf("client asked for %d invocations after an init error", n)
	}
}

func firstLineContaining(s, sub string) string {
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			return strings.TrimRight(line, "\n")
		}
	}
	return ""
}
