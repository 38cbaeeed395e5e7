package adminclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cloister/cloister/internal/adminclient"
)

func TestDefaultCredentialsPath(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"team-a", "cloister-team-a-credentials"},
		{"../../etc/passwd", "cloister-.._.._etc_passwd-credentials"},
		{"a b/c", "cloister-a_b_c-credentials"},
	} {
		if got := adminclient.DefaultCredentialsPath(c.name); got != c.want || strings.Contains(got, "/") {
			t.Errorf("DefaultCredentialsPath(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCredentialsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds")
	f, err := adminclient.CreateCredentialsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminclient.CreateCredentialsFile(path); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second create: %v, want ErrExist", err)
	}
	a := adminclient.Account{AccountID: "123456789012", AccountName: "n", AccessKeyID: "AKIAEXAMPLEEXAMPLE00", SecretAccessKey: "s3cr3t"}
	if err := adminclient.WriteCredentials(f, a); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "[default]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = s3cr3t\n") {
		t.Fatalf("file:\n%s", b)
	}
}

// TestServiceError checks that the server's error reaches the caller, and
// that the request is SigV4-signed for the "cloister" service.
func TestServiceError(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"Message":"You don't have permissions to access this resource."}`))
	}))
	defer srv.Close()
	c := &adminclient.Client{Endpoint: srv.URL, Credentials: credentials.NewStaticCredentialsProvider("AKIAEXAMPLEEXAMPLE00", "secret", "")}
	_, err := c.CreateAccount(context.Background(), "x", "")
	var se *adminclient.ServiceError
	if !errors.As(err, &se) || se.Status != 403 || se.Type != "AccessDeniedException" || se.Message != "You don't have permissions to access this resource." {
		t.Fatalf("CreateAccount: %v", err)
	}
	if !strings.Contains(auth, "/us-east-1/cloister/aws4_request") {
		t.Fatalf("Authorization %q", auth)
	}
}
