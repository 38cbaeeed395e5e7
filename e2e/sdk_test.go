package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// loadProfile reads a profile from a shared credentials file with the SDK's
// own loader, which proves the file is in AWS's format.
func loadProfile(t *testing.T, credsFile, profile string) aws.Credentials {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithSharedCredentialsFiles([]string{credsFile}),
		config.WithSharedConfigFiles([]string{empty}),
		config.WithSharedConfigProfile(profile),
		config.WithRegion(region),
	)
	if err != nil {
		t.Fatalf("load profile %s from %s: %v", profile, credsFile, err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("profile %s: %v", profile, err)
	}
	return creds
}

// newSDK returns a Lambda client for srv using the generated root
// credentials. maxAttempts 1 turns retries off, so that every error a test
// sees is one request's outcome.
func newSDK(t *testing.T, srv *server, maxAttempts int) *lambda.Client {
	t.Helper()
	// Not loadProfile: the SDK's loader also reads the machine's AWS_*
	// variables (a CA bundle, say), which these clients must not depend on.
	creds := parseINI(t, filepath.Join(srv.dataDir, "credentials"))["default"]
	return lambda.New(lambda.Options{
		Region:           region,
		BaseEndpoint:     aws.String(srv.endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(creds["aws_access_key_id"], creds["aws_secret_access_key"], ""),
		RetryMaxAttempts: maxAttempts,
	})
}

// sdkCreate creates a function from p with the SDK.
func sdkCreate(ctx context.Context, c *lambda.Client, name, account string, p pkg, desc string) (*lambda.CreateFunctionOutput, error) {
	return c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Role:         aws.String(roleARN(account)),
		Code:         &types.FunctionCode{ZipFile: p.data},
		Description:  aws.String(desc),
	})
}

// waitSettled polls GetFunction until $LATEST is Active with no update in
// progress: after a crash, the server's startup scan must finish whatever
// was pending.
func waitSettled(t *testing.T, c *lambda.Client, name string) *lambda.GetFunctionOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		out, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatalf("GetFunction %s: %v", name, err)
		}
		cfg := out.Configuration
		if cfg.State == types.StateActive && cfg.LastUpdateStatus == types.LastUpdateStatusSuccessful {
			return out
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s stays in State %s, LastUpdateStatus %s", name, cfg.State, cfg.LastUpdateStatus)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
