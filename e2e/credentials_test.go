package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	accessKeyIDRe = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	secretRe      = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
)

// TestGeneratedCredentials: on first start the server generates the root
// key and writes it to DATA/credentials, readable only by its owner, in the
// shared-credentials format the CLI and SDKs read (profiles default and
// cloister). The secret never appears in the server's output.
func TestGeneratedCredentials(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	// At debug level everything that is ever logged is logged.
	srv := startServer(t, serverOpts{args: []string{"--log-level", "debug"}})
	path := filepath.Join(srv.dataDir, "credentials")

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode(); mode != 0o600 {
		t.Errorf("credentials file mode %v, want -rw------- (0600)", mode)
	}
	if fi, err := os.Stat(srv.dataDir); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("data directory is accessible to others (%v, %v)", fi.Mode(), err)
	}

	profiles := parseINI(t, path)
	def, cl := profiles["default"], profiles["cloister"]
	if !accessKeyIDRe.MatchString(def["aws_access_key_id"]) || !secretRe.MatchString(def["aws_secret_access_key"]) {
		t.Fatalf("[default] holds %q, want an AKIA access key id and a 40-character secret", def)
	}
	if fmt.Sprint(def) != fmt.Sprint(cl) {
		t.Errorf("[cloister] differs from [default]")
	}
	// The SDK's own parser reads the same key from both profiles.
	for _, p := range []string{"default", "cloister"} {
		c := loadProfile(t, path, p)
		if c.AccessKeyID != def["aws_access_key_id"] || c.SecretAccessKey != def["aws_secret_access_key"] {
			t.Errorf("profile %s as the SDK reads it: %s", p, c.AccessKeyID)
		}
	}
	if b, err := os.ReadFile(filepath.Join(srv.dataDir, "account-id")); err != nil || strings.TrimSpace(string(b)) != srv.account {
		t.Errorf("account-id file = %q, %v; want %s", b, err, srv.account)
	}

	// Both profiles work with the CLI exactly as the welcome message says.
	cli := newCLI(t, srv)
	cli.ok(t, nil, "lambda", "list-functions")
	cli.withEnv("AWS_PROFILE=cloister").ok(t, nil, "lambda", "get-account-settings")
	out, _ := os.ReadFile(srv.stdout)
	for _, want := range []string{"AWS_SHARED_CREDENTIALS_FILE=" + path, "AWS_REGION=" + region, "--endpoint-url " + srv.endpoint} {
		if !strings.Contains(string(out), want) {
			t.Errorf("welcome message lacks %q:\n%s", want, out)
		}
	}

	// A failed signature attempt with the real key id must not log the
	// secret either.
	newCLIAt(t, awsV2Path, 2, srv.endpoint, "AWS_REGION="+region,
		"AWS_ACCESS_KEY_ID="+def["aws_access_key_id"], "AWS_SECRET_ACCESS_KEY=wrong-secret-wrong-secret-wrong-secret00").
		fail(t, "lambda", "list-functions")
	srv.stop()
	if srv.logsContain(def["aws_secret_access_key"]) {
		t.Error("the root secret access key appears in the server's output")
	}
}

// TestChosenCredentials: with CLOISTER_ROOT_ACCESS_KEY_ID and
// _SECRET_ACCESS_KEY the operator picks the root key; no credentials file is
// written, the key works, and the secret is never printed. The key is kept
// across restarts.
func TestChosenCredentials(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	const (
		keyID  = "AKIAE2ETESTCHOSEN000"
		secret = "e2eChosenSecretKey/with+Symbols0123456789"
	)
	env := []string{"CLOISTER_ROOT_ACCESS_KEY_ID=" + keyID, "CLOISTER_ROOT_SECRET_ACCESS_KEY=" + secret}
	dataDir := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, serverOpts{dataDir: dataDir, env: env, args: []string{"--log-level", "debug"}})
	if _, err := os.Stat(filepath.Join(dataDir, "credentials")); !os.IsNotExist(err) {
		t.Errorf("a credentials file was written for an operator-chosen key (stat: %v)", err)
	}
	cli := newCLIAt(t, awsV2Path, 2, srv.endpoint, "AWS_REGION="+region,
		"AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret)
	p := makeZip(t, "chosen")
	cli.ok(t, nil, createArgs("chosen", srv.account, p)...)
	cli.withEnv("AWS_SECRET_ACCESS_KEY="+strings.ToLower(secret)).
		failWith(t, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided...", "lambda", "list-functions")
	srv.stop()

	// Restarted without the variables, the stored key still works.
	again := startServer(t, serverOpts{dataDir: dataDir})
	cli.endpoint = again.endpoint
	var fn getFunctionOut
	cli.ok(t, &fn, "lambda", "get-function", "--function-name", "chosen")
	again.stop()
	for _, s := range []*server{srv, again} {
		if s.logsContain(secret) {
			t.Errorf("the chosen secret appears in the output of %s", s.dataDir)
		}
	}
}

// TestInvalidChosenCredentials: half a key, or a malformed one, stops the
// server with a clear error instead of starting without a usable key.
func TestInvalidChosenCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"id without secret", []string{"CLOISTER_ROOT_ACCESS_KEY_ID=AKIAE2ETESTHALF0000"},
			"set both CLOISTER_ROOT_ACCESS_KEY_ID and CLOISTER_ROOT_SECRET_ACCESS_KEY, or neither"},
		{"lower-case id", []string{"CLOISTER_ROOT_ACCESS_KEY_ID=akiae2etestlower000", "CLOISTER_ROOT_SECRET_ACCESS_KEY=0123456789abcdef0123"},
			"root access key id must be"},
		{"short secret", []string{"CLOISTER_ROOT_ACCESS_KEY_ID=AKIAE2ETESTSHORT000", "CLOISTER_ROOT_SECRET_ACCESS_KEY=short"},
			"root secret access key must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := launchServer(t, serverOpts{env: tt.env})
			if code := s.waitExit(failTimeout); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if out := s.output(); !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			for _, e := range tt.env {
				if v, ok := strings.CutPrefix(e, "CLOISTER_ROOT_SECRET_ACCESS_KEY="); ok && s.logsContain(v) {
					t.Error("the rejected secret appears in the output")
				}
			}
		})
	}
}

// TestListensOnlyOnAPIPort: the server's only listening socket is its API;
// the embedded NATS server (which holds every secret) has no port unless
// --nats-listen asks for one.
func TestListensOnlyOnAPIPort(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("skipping: needs /proc")
	}
	srv := startServer(t, serverOpts{})
	ports := listeningPorts(t, srv.cmd.Process.Pid)
	_, apiPort, _ := strings.Cut(strings.TrimPrefix(srv.endpoint, "http://"), ":")
	if len(ports) != 1 || strconv.Itoa(ports[0]) != apiPort {
		t.Errorf("the server listens on ports %v, want only the API's %s", ports, apiPort)
	}
}

// listeningPorts returns the TCP ports process pid listens on, from /proc.
func listeningPorts(t *testing.T, pid int) []int {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var ports []int
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(sc.Text())
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil {
				ports = append(ports, int(p))
			}
		}
		f.Close()
	}
	return ports
}

// parseINI reads a shared-credentials file into profile -> key -> value.
func parseINI(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	var section map[string]string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = map[string]string{}
			out[strings.TrimSpace(line[1:len(line)-1])] = section
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == nil {
				t.Fatalf("%s:%d: %q is not a key = value line in a section", path, n, line)
			}
			section[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
