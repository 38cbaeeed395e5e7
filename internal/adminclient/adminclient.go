// Package adminclient is the client side of Cloister's account
// administration endpoint, for `cloister account create`: it signs a
// request with the operator's AWS credentials (environment or shared
// credentials file, as the AWS CLI finds them), creates an account, and
// writes the new account's root credentials to a file only its owner can
// read.
//
// It must never print or log a secret access key, and never overwrite an
// existing file.
package adminclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Service is the SigV4 service name the admin endpoint verifies.
const Service = "cloister"

// DefaultEndpoint is where `cloister server` listens by default.
const DefaultEndpoint = "http://127.0.0.1:4590"

// Client calls one Cloister server's admin endpoint.
type Client struct {
	Endpoint    string // base URL, e.g. http://127.0.0.1:4590
	Region      string // signing region; us-east-1 when empty
	Credentials aws.CredentialsProvider
	HTTP        *http.Client // http.DefaultClient when nil
}

// Account is a created account and its root user's access key.
type Account struct {
	AccountID       string `json:"AccountId"`
	AccountName     string `json:"AccountName"`
	Email           string `json:"Email"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
}

// ServiceError is an error response from the server.
type ServiceError struct {
	Status  int
	Type    string
	Message string
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Type, e.Status, e.Message)
}

// CreateAccount creates an account named name (email may be empty) and
// returns it with its root access key.
func (c *Client) CreateAccount(ctx context.Context, name, email string) (Account, error) {
	if c.Credentials == nil {
		return Account{}, errors.New("adminclient: no credentials")
	}
	body, err := json.Marshal(map[string]string{"AccountName": name, "Email": email})
	if err != nil {
		return Account{}, fmt.Errorf("adminclient: encode request: %w", err)
	}
	url := strings.TrimRight(c.Endpoint, "/") + "/_cloister/admin/accounts"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Account{}, fmt.Errorf("adminclient: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return Account{}, fmt.Errorf("adminclient: credentials: %w", err)
	}
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), Service, region, time.Now()); err != nil {
		return Account{}, fmt.Errorf("adminclient: sign: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Account{}, fmt.Errorf("adminclient: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Account{}, fmt.Errorf("adminclient: read response: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		e := &ServiceError{Status: resp.StatusCode, Type: resp.Header.Get("X-Amzn-ErrorType")}
		var raw map[string]any
		if json.Unmarshal(data, &raw) == nil {
			for _, k := range []string{"Message", "message"} {
				if m, ok := raw[k].(string); ok {
					e.Message = m
				}
			}
		}
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(data))
		}
		return Account{}, e
	}
	var a Account
	if err := json.Unmarshal(data, &a); err != nil {
		return Account{}, fmt.Errorf("adminclient: decode response: %w", err)
	}
	return a, nil
}

// CreateCredentialsFile creates path for an account's root credentials,
// with mode 0600, before the account exists, so that a root key the server
// issues only once is never lost to an unwritable path. It refuses to
// replace an existing file.
func CreateCredentialsFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("adminclient: %w", err)
	}
	return f, nil
}

// WriteCredentials writes an account's root credentials to f as an AWS
// shared credentials file (profile "default") and closes it.
func WriteCredentials(f *os.File, a Account) error {
	body := fmt.Sprintf("# Cloister root credentials for account %s (%s).\n[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		a.AccountID, a.AccountName, a.AccessKeyID, a.SecretAccessKey)
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return fmt.Errorf("adminclient: write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("adminclient: write %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("adminclient: write %s: %w", f.Name(), err)
	}
	return nil
}

// DefaultCredentialsPath is where `cloister account create` writes an
// account's credentials unless told: cloister-NAME-credentials in the
// current directory, NAME reduced to file-name-safe characters.
func DefaultCredentialsPath(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return "cloister-" + string(b) + "-credentials"
}
