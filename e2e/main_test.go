// Package e2e tests Cloister end to end, as a user meets it: TestMain builds
// cmd/cloister once, every test starts its own `cloister server` processes on
// free loopback ports with their own data directories, and drives them with
// the real AWS CLI (v2 at /usr/bin/aws, and a v1 CLI when one is installed),
// with aws-sdk-go-v2 only where a test needs many calls fast.
//
// The package holds tests only. It must never depend on the machine's AWS
// configuration or credentials (every CLI runs with its own HOME and config),
// never write outside the temporary directories it creates, and never leave
// a server process behind: each one is stopped with SIGTERM at cleanup, and
// must exit 0 within its shutdown timeout.
//
// CLOISTER_E2E_BINARY=path tests that binary instead of building one.
// Without /usr/bin/aws the CLI tests skip, unless the environment variable CI
// is set, in which case they fail.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awsV2Path is where the Debian awscli package installs the AWS CLI v2.
const awsV2Path = "/usr/bin/aws"

// zipPath is the Info-ZIP zip the tests build deployment packages with.
const zipPath = "/usr/bin/zip"

var (
	// cloisterBin is the binary TestMain built.
	cloisterBin string
	// missingTools says why the CLI tests cannot run here ("" when they can).
	missingTools string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "cloister-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if bin := os.Getenv("CLOISTER_E2E_BINARY"); bin != "" {
		// Test a binary built elsewhere (a release artifact) instead.
		if cloisterBin, err = filepath.Abs(bin); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	} else {
		cloisterBin = filepath.Join(tmp, "cloister")
		if err := buildCloister(cloisterBin); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	missingTools = checkTools()
	return m.Run()
}

// buildCloister builds ./cmd/cloister from the module root, with the race
// detector when the tests themselves run with it, so that a data race in the
// server makes it exit non-zero (66) and fail the test that stops it.
func buildCloister(out string) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("module root not found above the e2e directory: %w", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go tool: %w", err)
	}
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/cloister")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// checkTools reports which of the external programs the CLI tests need are
// missing.
func checkTools() string {
	var missing []string
	for _, p := range []string{awsV2Path, zipPath} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return strings.Join(missing, " and ") + " not installed"
}

// requireCLI skips the test when the AWS CLI v2 or zip is missing, unless
// CI is set: there the tests must run, so their absence is a failure.
func requireCLI(t *testing.T) {
	t.Helper()
	if missingTools == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s: install the awscli and zip packages", missingTools)
	}
	t.Skipf("skipping: %s (install the awscli and zip packages; with CI set this fails instead)", missingTools)
}
