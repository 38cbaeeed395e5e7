package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDataDirLock: a second server on a data directory that is in use fails
// at once with a clear error, changes nothing, and leaves the first server
// serving; once the first has stopped, the directory can be used again.
func TestDataDirLock(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	first := startServer(t, serverOpts{dataDir: dataDir})
	creds, err := os.ReadFile(filepath.Join(dataDir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}

	second := launchServer(t, serverOpts{dataDir: dataDir})
	if code := second.waitExit(failTimeout); code != 1 {
		t.Errorf("the second server exited %d, want 1", code)
	}
	want := "cloister: store: data directory " + dataDir + " is in use by another server"
	if out := second.output(); !strings.Contains(out, want) {
		t.Errorf("the second server's output lacks %q:\n%s", want, out)
	}
	if after, err := os.ReadFile(filepath.Join(dataDir, "credentials")); err != nil || !bytes.Equal(after, creds) {
		t.Errorf("the rejected server touched the credentials file (err %v)", err)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(first.endpoint + "/_cloister/health")
	if err != nil {
		t.Fatalf("the first server stopped answering: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the first server's health: %s", resp.Status)
	}

	first.stop()
	third := startServer(t, serverOpts{dataDir: dataDir})
	if third.account != first.account {
		t.Errorf("the server after the lock holder has account %s, want %s", third.account, first.account)
	}
}
