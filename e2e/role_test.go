package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

// lambdaTrust is the trust policy of an execution role.
const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// ensureLambdaRole creates the execution role "lambda-role" (roleARN) in the
// server's default account, as a user would before creating functions:
// Cloister, like Lambda, accepts only a role that exists and trusts Lambda.
func (s *server) ensureLambdaRole() {
	s.t.Helper()
	id, secret := s.rootKey()
	if id == "" {
		return // the test runs without usable root credentials on purpose
	}
	c := iam.New(iam.Options{
		Region: region, BaseEndpoint: aws.String(s.endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
	})
	_, err := c.CreateRole(s.t.Context(), &iam.CreateRoleInput{RoleName: aws.String("lambda-role"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	var ae smithy.APIError
	if err != nil && !(errors.As(err, &ae) && ae.ErrorCode() == "EntityAlreadyExists") {
		s.t.Fatalf("create lambda-role: %v", err)
	}
}

// putRolePolicy puts an inline policy on the execution role "lambda-role",
// as a user grants it what the functions need (Lambda checks the role when
// it polls queues and delivers asynchronous outcomes).
func (s *server) putRolePolicy(t *testing.T, name, doc string) {
	t.Helper()
	id, secret := s.rootKey()
	c := iam.New(iam.Options{
		Region: region, BaseEndpoint: aws.String(s.endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
	})
	if _, err := c.PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{
		RoleName: aws.String("lambda-role"), PolicyName: aws.String(name), PolicyDocument: aws.String(doc),
	}); err != nil {
		t.Fatalf("put policy %s on lambda-role: %v", name, err)
	}
}

// rootKey is the server's root access key: the generated one from its
// credentials file, or the one the test chose in the environment.
func (s *server) rootKey() (string, string) {
	var id, secret string
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "CLOISTER_ROOT_ACCESS_KEY_ID="); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(kv, "CLOISTER_ROOT_SECRET_ACCESS_KEY="); ok {
			secret = v
		}
	}
	if id != "" && secret != "" {
		return id, secret
	}
	path := filepath.Join(s.dataDir, "credentials")
	if _, err := os.Stat(path); err != nil {
		return "", ""
	}
	creds := parseINI(s.t, path)["default"]
	return creds["aws_access_key_id"], creds["aws_secret_access_key"]
}
