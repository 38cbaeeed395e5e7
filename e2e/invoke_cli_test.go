package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInvokeCLI invokes an aws-lambda-go function, a Python handler and a
// Node.js handler through the AWS CLI v2, as a user would: results, function
// errors, timeouts, log tails, versions and aliases.
func TestInvokeCLI(t *testing.T) {
	t.Parallel()
	requireSandboxes(t)
	srv := startServer(t, serverOpts{})
	cli := newCLI(t, srv)
	dir := t.TempDir()

	// The Go function: internal/invoke's probe, built with aws-lambda-go.
	goZip := zipDir(t, dir, "go", map[string]string{}, func(src string) {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(src, "bootstrap"), "./internal/invoke/testdata/probe")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build the Go function: %v\n%s", err, out)
		}
	})
	pyZip := zipDir(t, dir, "py", map[string]string{"app.py": `import time
def handler(event, context):
    print("python saw", event)
    if event.get("fail"):
        raise ValueError("python failed")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"lang": "python", "version": context.function_version}
`}, nil)
	nodeZip := zipDir(t, dir, "node", map[string]string{"index.mjs": `export const handler = async (event, context) => {
  console.log("node saw", JSON.stringify(event));
  if (event.fail) throw new TypeError("node failed");
  if (event.sleep) await new Promise(r => setTimeout(r, event.sleep * 1000));
  return { lang: "node", version: context.functionVersion };
};
`}, nil)

	type fn struct{ name, runtime, handler, zip string }
	fns := []fn{
		{"go-fn", "provided.al2023", "bootstrap", goZip},
		{"py-fn", "python3.11", "app.handler", pyZip},
		{"node-fn", "nodejs20.x", "index.handler", nodeZip},
	}
	for _, f := range fns {
		f := f
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			cli.ok(t, nil, "lambda", "create-function", "--function-name", f.name, "--runtime", f.runtime,
				"--handler", f.handler, "--role", roleARN(srv.account), "--zip-file", "fileb://"+f.zip,
				"--timeout", "2", "--memory-size", "256")
			cli.ok(t, nil, "lambda", "wait", "function-active-v2", "--function-name", f.name)
			out := filepath.Join(t.TempDir(), "out.json")
			invoke := func(payload string, extra ...string) (meta map[string]any, body string) {
				t.Helper()
				args := append([]string{"lambda", "invoke", "--function-name", f.name, "--cli-binary-format", "raw-in-base64-out",
					"--payload", payload, "--log-type", "Tail", out}, extra...)
				cli.ok(t, &meta, args...)
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				return meta, string(b)
			}
			tail := func(meta map[string]any) string {
				b, _ := base64.StdEncoding.DecodeString(meta["LogResult"].(string))
				return string(b)
			}

			// A result, with the log tail.
			payload := `{"op":"echo","arg":"hi"}`
			meta, body := invoke(payload)
			if meta["StatusCode"].(float64) != 200 || meta["FunctionError"] != nil || meta["ExecutedVersion"] != "$LATEST" {
				t.Fatalf("invoke: %v %s", meta, body)
			}
			if lt := tail(meta); !strings.Contains(lt, "START RequestId:") || !strings.Contains(lt, "REPORT RequestId:") {
				t.Fatalf("log tail:\n%s", lt)
			}

			// A function error.
			failPayload := `{"fail":true}`
			if f.name == "go-fn" {
				failPayload = `{"op":"fail","arg":"go failed"}`
			}
			meta, body = invoke(failPayload)
			var fe struct{ ErrorType, ErrorMessage string }
			_ = json.Unmarshal([]byte(body), &fe)
			if meta["FunctionError"] != "Unhandled" || !strings.Contains(fe.ErrorMessage, "failed") {
				t.Fatalf("function error: %v %s", meta, body)
			}

			// A timeout (the functions have 2 s).
			sleepPayload := `{"sleep":5}`
			if f.name == "go-fn" {
				sleepPayload = `{"op":"sleep","n":5000}`
			}
			meta, body = invoke(sleepPayload)
			if meta["FunctionError"] != "Unhandled" || !strings.Contains(body, `"Sandbox.Timedout"`) || !strings.Contains(body, "Task timed out after 2.00 seconds") {
				t.Fatalf("timeout: %v %s", meta, body)
			}

			// A version and an alias.
			var v struct{ Version string }
			cli.ok(t, &v, "lambda", "publish-version", "--function-name", f.name)
			cli.ok(t, nil, "lambda", "create-alias", "--function-name", f.name, "--name", "live", "--function-version", v.Version)
			meta, _ = invoke(payload, "--qualifier", "live")
			if meta["ExecutedVersion"] != v.Version || meta["FunctionError"] != nil {
				t.Fatalf("through the alias: %v", meta)
			}
		})
	}
}

// zipDir builds a deployment package from files (and what prepare puts in
// the source directory) with /usr/bin/zip.
func zipDir(t *testing.T, dir, name string, files map[string]string, prepare func(src string)) string {
	t.Helper()
	src := filepath.Join(dir, name)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(src, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if prepare != nil {
		prepare(src)
	}
	out := filepath.Join(dir, name+".zip")
	cmd := exec.Command(zipPath, "-q", "-r", out, ".")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, b)
	}
	return out
}
