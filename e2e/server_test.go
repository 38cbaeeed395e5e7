package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// region is the region every test server presents.
	region = "us-east-1"
	// shutdownTimeout is the --shutdown-timeout the servers run with.
	shutdownTimeout = 5 * time.Second
	// exitGrace is what a server may take beyond shutdownTimeout to stop its
	// workers and close the store after draining requests.
	exitGrace = 15 * time.Second
	// startTimeout bounds startup, which includes JetStream recovering its
	// files after a crash, and a race-enabled binary.
	startTimeout = 90 * time.Second
	// failTimeout bounds how long a server that must refuse to start may
	// take to exit.
	failTimeout = 30 * time.Second
)

// serverOpts says how to start a server.
type serverOpts struct {
	// dataDir is the --data-dir; a fresh temporary directory when empty.
	dataDir string
	// args are extra flags for `cloister server`.
	args []string
	// env is extra environment (KEY=value), e.g. the root key variables.
	env []string
	// noRole leaves out the execution role "lambda-role" that servers
	// otherwise get once they are ready (for the README tour, which makes
	// its own).
	noRole bool
}

// server is one `cloister server` process. Its methods report to the test
// that started it.
type server struct {
	t       *testing.T
	dataDir string
	// endpoint is the API's base URL, http://127.0.0.1:PORT.
	endpoint string
	// account is the default account's id.
	account string
	stdout  string // path of the captured stdout
	stderr  string // path of the captured stderr
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been reaped
	waitErr error         // the process's exit, valid after exited closes
	stopped bool          // stop or kill already ran
	env     []string      // the environment the test passed
	noRole  bool          // do not create lambda-role when ready
}

// startServer starts a server, waits until it is healthy, and stops it with
// SIGTERM when the test ends (asserting a clean exit).
func startServer(t *testing.T, o serverOpts) *server {
	t.Helper()
	s := launchServer(t, o)
	s.waitReady()
	return s
}

// launchServer starts a server process without waiting for it.
func launchServer(t *testing.T, o serverOpts) *server {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = filepath.Join(t.TempDir(), "data")
	}
	logs := t.TempDir()
	s := &server{
		t:       t,
		dataDir: o.dataDir,
		stdout:  filepath.Join(logs, "stdout"),
		stderr:  filepath.Join(logs, "stderr"),
		exited:  make(chan struct{}),
		env:     o.env,
		noRole:  o.noRole,
	}
	stdout, err := os.Create(s.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(s.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()

	args := append([]string{"server",
		"--data-dir", o.dataDir,
		"--listen", "127.0.0.1:0",
		"--region", region,
		"--shutdown-timeout", shutdownTimeout.String(),
		// Sandboxes are forked on demand; a pre-forked pool would only
		// cost CPU in tests that mostly invoke nothing.
		"--sandbox-pool", "0",
	}, o.args...)
	s.cmd = exec.Command(cloisterBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = stdout, stderr
	// Nothing from the test's environment leaks in: no AWS or CLOISTER_
	// variables unless the test passes them.
	s.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}, o.env...)
	s.cmd.SysProcAttr = serverProcAttr()
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start cloister: %v", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
		if t.Failed() {
			s.dumpLogs()
		}
	})
	return s
}

// startedLine is the structured log line a server writes once it serves.
type startedLine struct {
	Msg      string `json:"msg"`
	Endpoint string `json:"endpoint"`
	Account  string `json:"account"`
}

// waitReady waits for the "cloister started" log line, then for the health
// endpoint to answer.
func (s *server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(startTimeout)
	for s.endpoint == "" {
		if line, ok := s.findLog("cloister started"); ok {
			var l startedLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				s.t.Fatalf("started line %q: %v", line, err)
			}
			s.endpoint, s.account = l.Endpoint, l.Account
			break
		}
		s.pause(deadline, "to log that it started")
	}
	if !strings.HasPrefix(s.endpoint, "http://127.0.0.1:") || len(s.account) != 12 {
		s.t.Fatalf("server started at %q with account %q, want a loopback endpoint and a 12-digit account", s.endpoint, s.account)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(s.endpoint + "/_cloister/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				var h struct{ Status string }
				if err := json.Unmarshal(body, &h); err != nil || h.Status != "ok" {
					s.t.Fatalf("health answered %s", body)
				}
				if !s.noRole {
					s.ensureLambdaRole()
				}
				return
			}
		}
		s.pause(deadline, "to answer /_cloister/health")
	}
}

// pause waits a moment before the next readiness poll, failing the test when
// the server died or the deadline passed.
func (s *server) pause(deadline time.Time, what string) {
	s.t.Helper()
	select {
	case <-s.exited:
		s.stopped = true
		s.t.Fatalf("cloister exited (%v) before it was ready", s.waitErr)
	case <-time.After(20 * time.Millisecond):
	}
	if time.Now().After(deadline) {
		s.stopped = true
		s.quit()
		s.t.Fatalf("cloister took longer than %v %s; its goroutines follow in stderr", startTimeout, what)
	}
}

// findLog returns the first stderr line whose message is msg.
func (s *server) findLog(msg string) (string, bool) {
	f, err := os.Open(s.stderr)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct{ Msg string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == msg {
			return sc.Text(), true
		}
	}
	return "", false
}

// stop sends SIGTERM and asserts that the server exits 0 within its
// shutdown timeout (plus the time to close its store).
func (s *server) stop() {
	s.t.Helper()
	s.stopped = true
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(shutdownTimeout + exitGrace):
		s.t.Errorf("cloister did not exit within %v of SIGTERM (shutdown timeout %v); its goroutines follow in stderr", shutdownTimeout+exitGrace, shutdownTimeout)
		s.quit()
		return
	}
	if s.waitErr != nil {
		s.t.Errorf("cloister did not exit cleanly after SIGTERM: %v", s.waitErr)
	}
}

// quit makes a stuck server print its goroutines (SIGQUIT) into its stderr
// and exit, killing it if it does not.
func (s *server) quit() {
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// kill sends SIGKILL (a crash) and waits for the process to die.
func (s *server) kill() {
	s.t.Helper()
	s.stopped = true
	if err := s.cmd.Process.Kill(); err != nil {
		s.t.Fatalf("SIGKILL: %v", err)
	}
	<-s.exited
	var ee *exec.ExitError
	if !errors.As(s.waitErr, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		s.t.Fatalf("cloister did not die of SIGKILL: %v", s.waitErr)
	}
}

// waitExit waits for a server that is expected to fail on its own and
// returns its exit code.
func (s *server) waitExit(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(timeout):
		s.stopped = true
		s.quit()
		s.t.Fatalf("cloister still running after %v; its goroutines follow in stderr", timeout)
	}
	s.stopped = true
	return s.cmd.ProcessState.ExitCode()
}

// output returns everything the server wrote to stdout and stderr so far.
func (s *server) output() string {
	out, _ := os.ReadFile(s.stdout)
	errOut, _ := os.ReadFile(s.stderr)
	return string(out) + string(errOut)
}

// logsContain reports whether the server's stdout or stderr contains text.
func (s *server) logsContain(text string) bool {
	return strings.Contains(s.output(), text)
}

func (s *server) dumpLogs() {
	// Keep the head (startup, and goroutine 1 of a dump) and the tail.
	const part = 12 << 10
	for _, p := range []string{s.stdout, s.stderr} {
		b, _ := os.ReadFile(p)
		if len(b) > 2*part {
			b = slices.Concat(b[:part], []byte("\n...\n"), b[len(b)-part:])
		}
		s.t.Logf("cloister %s (data dir %s):\n%s", filepath.Base(p), s.dataDir, bytes.TrimSpace(b))
	}
}

// String names the server in failure messages.
func (s *server) String() string { return fmt.Sprintf("cloister at %s", s.endpoint) }
