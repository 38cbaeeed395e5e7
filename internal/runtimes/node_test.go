package runtimes

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNodeClient runs the real Node.js runtime client against the test
// Runtime API, one client process per case.
func TestNodeClient(t *testing.T) {
	rt := runtimeFor(t, FamilyNodejs)
	const okCJS = "exports.handler = async () => 1;\n"
	nodeMajor := strings.TrimSuffix(strings.TrimPrefix(rt.Name, "nodejs"), ".x")
	tests := []struct {
		name    string
		files   map[string]string
		opt     map[string]string
		handler string
		env     map[string]string
		run     func(t *testing.T, h *harness, inst string)
	}{
		{
			name:    "async handler echoes event with unicode",
			files:   map[string]string{"app.js": "exports.handler = async (event) => ({ got: event, len: [...event.s].length });\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				jsonEqual(t, h.response(`{"s":"héllo 世界 😀"}`), `{"got":{"s":"héllo 世界 😀"},"len":10}`)
			},
		},
		{
			name: "callback, promise-returning and legacy context handlers",
			files: map[string]string{"app.js": `exports.handler = function (event, context, callback) {
  switch (event.kind) {
    case 'callback': callback(null, { via: 'callback' }); break;
    case 'promise': return Promise.resolve({ via: 'promise' });
    case 'succeed': context.succeed({ via: 'succeed' }); break;
    case 'done': context.done(null, { via: 'done' }); break;
    case 'fail': context.fail(new Error('failed via context')); break;
    case 'fail-empty': context.fail(); break;
    case 'string-error': callback('plain string'); break;
    case 'sync-return': return { ignored: true };
    case 'twice': callback(null, 'first'); callback(null, 'second'); break;
  }
};
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				for _, kind := range []string{"callback", "promise", "succeed", "done"} {
					jsonEqual(t, h.response(`{"kind":"`+kind+`"}`), `{"via":"`+kind+`"}`)
				}
				wantError(t, h.invoke(invocation{Payload: `{"kind":"fail"}`}), "error", "Error", "failed via context")
				wantError(t, h.invoke(invocation{Payload: `{"kind":"fail-empty"}`}), "error", "string", "handled")
				body := wantError(t, h.invoke(invocation{Payload: `{"kind":"string-error"}`}), "error", "string", "plain string")
				if tr, ok := body["trace"].([]any); !ok || len(tr) != 0 {
					t.Errorf("trace = %v, want []", body["trace"])
				}
				// A non-async handler that neither calls back nor returns a
				// promise succeeds with null once the event loop drains.
				if got := h.response(`{"kind":"sync-return"}`); string(got) != "null" {
					t.Errorf("sync return = %s, want null", got)
				}
				jsonEqual(t, h.response(`{"kind":"twice"}`), `"first"`)
				jsonEqual(t, h.response(`{"kind":"callback"}`), `{"via":"callback"}`)
			},
		},
		{
			name: "callbackWaitsForEmptyEventLoop",
			files: map[string]string{"app.js": `let fired = false;
exports.handler = (event, context, callback) => {
  if (event === 'wait') {
    setTimeout(() => { fired = true; }, 200);
    callback(null, 'waited');
  } else if (event === 'check') {
    callback(null, fired);
  } else {
    context.callbackWaitsForEmptyEventLoop = false;
    globalThis.forever = setInterval(() => {}, 1000);
    callback(null, 'no-wait');
  }
};
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				jsonEqual(t, h.response(`"wait"`), `"waited"`)
				// The response waited for the timer, so it has fired.
				jsonEqual(t, h.response(`"check"`), `true`)
				// With the flag cleared the response does not wait for the
				// interval, which never ends.
				jsonEqual(t, h.response(`"nowait"`), `"no-wait"`)
			},
		},
		{
			name: "context values and remaining time",
			files: map[string]string{"app.js": `exports.handler = async (event, context) => ({
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  awsRequestId: context.awsRequestId,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  identity: context.identity,
  clientContext: context.clientContext,
  waits: context.callbackWaitsForEmptyEventLoop,
  remaining: context.getRemainingTimeInMillis(),
  trace: process.env._X_AMZN_TRACE_ID,
  cwd: process.cwd(),
  execEnv: process.env.AWS_EXECUTION_ENV,
  nodePath: process.env.NODE_PATH,
});
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, inst string) {
				ev := h.invoke(invocation{
					ID:            "0f3c2b1a-aaaa-bbbb-cccc-000000000002",
					Payload:       `{}`,
					ARN:           "arn:aws:lambda:us-east-1:123456789012:function:fn:7",
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
					"functionName":       "fn",
					"functionVersion":    "$LATEST",
					"invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn:7",
					"memoryLimitInMB":    "256",
					"awsRequestId":       "0f3c2b1a-aaaa-bbbb-cccc-000000000002",
					"logGroupName":       "/aws/lambda/fn",
					"logStreamName":      "2026/01/02/[$LATEST]0123456789abcdef",
					"identity":           map[string]any{"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
					"clientContext":      map[string]any{"custom": map[string]any{"k": "v"}, "env": map[string]any{"e": "1"}, "client": map[string]any{"installation_id": "inst-1"}},
					"waits":              true,
					"trace":              "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
					"cwd":                h.taskRoot,
					"execEnv":            "AWS_Lambda_" + rt.Name,
					// The client derives NODE_PATH as Lambda sets it when the
					// environment lacks one.
					"nodePath": strings.Join([]string{
						h.optDir + "/nodejs/node" + nodeMajor + "/node_modules",
						h.optDir + "/nodejs/node_modules",
						inst + "/node_modules", inst, h.taskRoot,
					}, ":"),
				}
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				if string(gb) != string(wb) {
					t.Errorf("context = %s\nwant      %s", gb, wb)
				}
				ev = h.invoke(invocation{Payload: `{}`, Deadline: time.Now().Add(-time.Second)})
				got = nil
				if err := json.Unmarshal(ev.Body, &got); err != nil {
					t.Fatal(err)
				}
				if got["remaining"].(float64) >= 0 || got["trace"] != nil {
					t.Errorf("past deadline: remaining=%v trace=%v, want negative and absent", got["remaining"], got["trace"])
				}
			},
		},
		{
			name:    "sequential invocations share one process",
			files:   map[string]string{"app.js": "let n = 0;\nexports.handler = async (e, c) => [++n, process.pid, c.awsRequestId];\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				var pid float64
				for i := 1; i <= 5; i++ {
					inv := h.send(invocation{Payload: `{}`})
					var got []any
					if err := json.Unmarshal(h.event().Body, &got); err != nil {
						t.Fatal(err)
					}
					if got[0] != float64(i) || got[2] != inv.ID || (i > 1 && got[1] != pid) {
						t.Errorf("invocation %d = %v, want [%d, %v, %s]", i, got, i, pid, inv.ID)
					}
					pid = got[1].(float64)
				}
			},
		},
		{
			name: "thrown errors then recovery",
			files: map[string]string{"app.js": `class MyErr extends Error { constructor(m) { super(m); this.name = 'MyErr'; } }
exports.handler = async (event) => {
  if (event === 'custom') throw new MyErr('custom failure');
  if (event === 'boom') throw new Error('boom');
  return 'fine';
};
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				ev := h.invoke(invocation{ID: "err-req-1", Payload: `"boom"`})
				body := wantError(t, ev, "error", "Error", "boom")
				trace, _ := body["trace"].([]any)
				if len(trace) < 2 || trace[0] != "Error: boom" || !strings.Contains(trace[1].(string), "/app.js:4") {
					t.Errorf("trace = %q, want the stack from app.js:4", trace)
				}
				wantError(t, h.invoke(invocation{Payload: `"custom"`}), "error", "MyErr", "custom failure")
				jsonEqual(t, h.response(`"ok"`), `"fine"`)
				h.stop()
				re := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\terr-req-1\tERROR\tInvoke Error \t\{"errorType":"Error","errorMessage":"boom","stack":\["Error: boom","    at `)
				if !re.MatchString(h.stderr.String()) {
					t.Errorf("stderr lacks the Invoke Error line:\n%s", h.stderr.String())
				}
			},
		},
		{
			name:    "async handler that never settles",
			files:   map[string]string{"app.js": "exports.handler = async (event) => event === 'hang' ? new Promise(() => {}) : 'after';\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				ev := h.invoke(invocation{Payload: `"hang"`})
				body := ev.errorBody(t)
				if ev.Kind != "error" || body["errorType"] != "Runtime.NodeJsExit" || !strings.Contains(body["errorMessage"].(string), "Promise that was never settled") {
					t.Errorf("got %s %s, want a Runtime.NodeJsExit error", ev.Kind, ev.Body)
				}
				jsonEqual(t, h.response(`"next"`), `"after"`)
			},
		},
		{
			name:    "uncaught exception ends the process",
			files:   map[string]string{"app.js": "exports.handler = (event, context, callback) => {\n  setTimeout(() => { throw new RangeError('from a timer'); }, 0);\n};\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				wantError(t, h.invoke(invocation{Payload: `{}`}), "error", "RangeError", "from a timer")
				if code := h.wait(); code != 129 {
					t.Errorf("exit code = %d, want 129", code)
				}
				if !strings.Contains(h.stderr.String(), "\tERROR\tUncaught Exception \t{\"errorType\":\"RangeError\"") {
					t.Errorf("stderr lacks the Uncaught Exception line:\n%s", h.stderr.String())
				}
			},
		},
		{
			name:    "unhandled promise rejection ends the process",
			files:   map[string]string{"app.js": "exports.handler = (event, context, callback) => {\n  Promise.reject(new Error('rejected'));\n  setTimeout(() => callback(null, 'late'), 1000);\n};\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				wantError(t, h.invoke(invocation{Payload: `{}`}), "error", "Runtime.UnhandledPromiseRejection", "Error: rejected")
				if code := h.wait(); code != 128 {
					t.Errorf("exit code = %d, want 128", code)
				}
				if !strings.Contains(h.stderr.String(), "\tERROR\tUnhandled Promise Rejection \t{") {
					t.Errorf("stderr lacks the rejection line:\n%s", h.stderr.String())
				}
			},
		},
		{
			name:    "missing handler module",
			handler: "app.handler",
			run: func(t *testing.T, h *harness, inst string) {
				wantNodeInitError(t, h, 129, "Runtime.ImportModuleError",
					"Error: Cannot find module 'app'\nRequire stack:\n- "+inst+"/index.mjs")
				if !strings.Contains(h.stderr.String(), "\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\"Runtime.ImportModuleError\"") {
					t.Errorf("stderr lacks the Uncaught Exception line:\n%s", h.stderr.String())
				}
			},
		},
		{
			name:    "missing dependency",
			files:   map[string]string{"app.js": "require('not-installed');\n" + okCJS},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, inst string) {
				wantNodeInitError(t, h, 129, "Runtime.ImportModuleError",
					"Error: Cannot find module 'not-installed'\nRequire stack:\n- "+h.taskRoot+"/app.js\n- "+inst+"/index.mjs")
			},
		},
		{
			name:    "handler not found",
			files:   map[string]string{"app.js": okCJS},
			handler: "app.nope",
			run: func(t *testing.T, h *harness, _ string) {
				wantNodeInitError(t, h, 129, "Runtime.HandlerNotFound", "app.nope is undefined or not exported")
			},
		},
		{
			name:    "handler is not a function",
			files:   map[string]string{"app.js": "exports.handler = 42;\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				wantNodeInitError(t, h, 129, "Runtime.HandlerNotFound", "app.handler is not a function")
			},
		},
		{
			name:    "malformed handler name",
			files:   map[string]string{"app.js": okCJS},
			handler: "../app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				wantNodeInitError(t, h, 129, "Runtime.MalformedHandlerName",
					"'../app.handler' is not a valid handler name. Use absolute paths when specifying root directories in handler names.")
			},
		},
		{
			name:    "syntax error",
			files:   map[string]string{"app.js": "exports.handler = async () => {;\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				ev := h.event()
				body := ev.errorBody(t)
				if ev.Kind != "init-error" || body["errorType"] != "Runtime.UserCodeSyntaxError" {
					t.Fatalf("got %s %s, want init-error Runtime.UserCodeSyntaxError", ev.Kind, ev.Body)
				}
				if msg, _ := body["errorMessage"].(string); !strings.HasPrefix(msg, "SyntaxError: ") {
					t.Errorf("errorMessage = %q, want it to start with SyntaxError: ", msg)
				}
				if code := h.wait(); code != 129 {
					t.Errorf("exit code = %d, want 129", code)
				}
			},
		},
		{
			name:    "error thrown at init",
			files:   map[string]string{"app.js": "throw new TypeError('bad config');\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				wantNodeInitError(t, h, 129, "TypeError", "bad config")
			},
		},
		{
			name:    "ESM .mjs handler with top-level await",
			files:   map[string]string{"app.mjs": "const v = await Promise.resolve('esm');\nexport const handler = async () => ({ v, meta: typeof import.meta.url });\n"},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				jsonEqual(t, h.response(`{}`), `{"v":"esm","meta":"string"}`)
			},
		},
		{
			name: "ESM .js under type module, nested directory",
			files: map[string]string{
				"package.json":     `{"type":"module"}`,
				"src/lib/index.js": "export async function handler() { return 'esm-js'; }\n",
			},
			handler: "src/lib/index.handler",
			run: func(t *testing.T, h *harness, _ string) {
				jsonEqual(t, h.response(`{}`), `"esm-js"`)
			},
		},
		{
			name:    ".cjs module and nested export",
			files:   map[string]string{"dir/app.cjs": "module.exports = { api: { v1: { handler: async () => 'nested' } } };\n"},
			handler: "dir/app.api.v1.handler",
			run: func(t *testing.T, h *harness, _ string) {
				jsonEqual(t, h.response(`{}`), `"nested"`)
			},
		},
		{
			name: "layers through NODE_PATH",
			files: map[string]string{
				"app.js": "const a = require('layer-a');\nconst b = require('layer-b');\nexports.handler = async () => [a, b];\n",
			},
			opt: map[string]string{
				"nodejs/node_modules/layer-a/index.js":                 "module.exports = 'a';\n",
				"nodejs/node_modules/layer-b.js":                       "module.exports = 'generic';\n",
				"nodejs/node" + nodeMajor + "/node_modules/layer-b.js": "module.exports = 'b';\n",
			},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				jsonEqual(t, h.response(`{}`), `["a","b"]`)
			},
		},
		{
			name: "results: unserializable, undefined, large",
			files: map[string]string{"app.js": `exports.handler = async (event) => {
  if (event === 'circular') { const o = {}; o.self = o; return o; }
  if (event === 'large') return 'x'.repeat(5 * 1024 * 1024);
  return undefined;
};
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				wantError(t, h.invoke(invocation{Payload: `"circular"`}), "error", "Error", "Unable to stringify response body")
				if got := h.response(`"undefined"`); string(got) != "null" {
					t.Errorf("undefined result = %s, want null", got)
				}
				if got := h.response(`"large"`); len(got) != 5*1024*1024+2 {
					t.Errorf("large response is %d bytes, want %d", len(got), 5*1024*1024+2)
				}
			},
		},
		{
			name: "console logging lines",
			files: map[string]string{"app.js": `console.log('at init');
exports.handler = async () => {
  console.log('hello %s', 'world');
  console.info({ a: 1 });
  console.warn('careful');
  console.error('two\nlines');
  console.debug('debugging');
  return 1;
};
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				h.invoke(invocation{ID: "log-req-2", Payload: `{}`})
				h.stop()
				out := h.stdout.String()
				ts := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`
				for _, re := range []string{
					`(?m)^` + ts + `\tundefined\tINFO\tat init$`,
					`(?m)^` + ts + `\tlog-req-2\tINFO\thello world$`,
					`(?m)^` + ts + `\tlog-req-2\tINFO\t\{ a: 1 \}$`,
					`(?m)^` + ts + `\tlog-req-2\tWARN\tcareful$`,
					`(?m)^` + ts + `\tlog-req-2\tERROR\ttwo\rlines$`,
					`(?m)^` + ts + `\tlog-req-2\tDEBUG\tdebugging$`,
				} {
					if !regexp.MustCompile(re).MatchString(out) {
						t.Errorf("stdout does not match %s:\n%q", re, out)
					}
				}
			},
		},
		{
			name:    "log level filter and JSON format",
			files:   map[string]string{"app.js": "exports.handler = async () => { console.info('quiet'); console.warn('loud', 42); return 1; };\n"},
			handler: "app.handler",
			env:     map[string]string{"AWS_LAMBDA_LOG_LEVEL": "warn", "AWS_LAMBDA_LOG_FORMAT": "json"},
			run: func(t *testing.T, h *harness, _ string) {
				h.invoke(invocation{ID: "json-req-2", Payload: `{}`})
				h.stop()
				if strings.Contains(h.stdout.String(), "quiet") {
					t.Errorf("INFO line printed at level WARN:\n%s", h.stdout.String())
				}
				var rec map[string]any
				line := firstLineContaining(h.stdout.String(), "loud")
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q is not JSON: %v", line, err)
				}
				if rec["level"] != "WARN" || rec["message"] != "loud 42" || rec["requestId"] != "json-req-2" {
					t.Errorf("log record = %v", rec)
				}
			},
		},
		{
			name: "streamified handler, buffered",
			files: map[string]string{"app.mjs": `export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType('text/plain');
  responseStream.write('hello ');
  responseStream.write(context.awsRequestId);
  responseStream.end();
});
`},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
				ev := h.invoke(invocation{ID: "stream-1", Payload: `{}`})
				if ev.Kind != "response" || string(ev.Body) != "hello stream-1" || ev.ContentType != "text/plain" {
					t.Errorf("got %s %q (%s), want response \"hello stream-1\" as text/plain", ev.Kind, ev.Body, ev.ContentType)
				}
			},
		},
		{
			name:    "non-2xx from the Runtime API is fatal",
			files:   map[string]string{"app.js": okCJS},
			handler: "app.handler",
			run: func(t *testing.T, h *harness, _ string) {
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
	}
	inst := installForTests(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, rt, clientSpec{files: tc.files, opt: tc.opt, handler: tc.handler, env: tc.env})
			tc.run(t, h, inst)
		})
	}
}

// wantNodeInitError checks an init error report and the exit code.
func wantNodeInitError(t *testing.T, h *harness, code int, errType, msg string) {
	t.Helper()
	body := wantError(t, h.event(), "init-error", errType, msg)
	if _, ok := body["trace"].([]any); !ok {
		t.Errorf("init error has no trace array: %v", body)
	}
	if got := h.wait(); got != code {
		t.Errorf("exit code = %d, want %d", got, code)
	}
	if n := h.api.nexts.Load(); n != 0 {
		t.Errorf("client asked for %d invocations after an init error", n)
	}
}
