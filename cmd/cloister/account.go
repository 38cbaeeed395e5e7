package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/cloister/cloister/internal/adminclient"
)

// runAccount runs `cloister account create`: it asks a running server to
// create an account, prints the account ID and writes the account's root
// credentials to a file.
func runAccount(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(os.Stderr, "usage: cloister account create --name NAME [--email EMAIL] [--endpoint URL] [--credentials-file PATH] [--profile PROFILE]\n")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("account create", flag.ContinueOnError)
	name := fs.String("name", "", "name of the new account (required)")
	email := fs.String("email", "", "email of the new account's root user (optional)")
	endpoint := fs.String("endpoint", "", "Cloister's endpoint (default $AWS_ENDPOINT_URL, else "+adminclient.DefaultEndpoint+")")
	out := fs.String("credentials-file", "", "file to write the new account's root credentials to (default ./cloister-NAME-credentials)")
	profile := fs.String("profile", "", "AWS profile holding the operator's credentials (default: the AWS CLI's choice)")
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("account create: unexpected arguments %q", fs.Args())
	}
	if *name == "" {
		return errors.New("account create: --name is required")
	}
	var opts []func(*config.LoadOptions) error
	if *profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(*profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("account create: operator credentials: %w", err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("account create: operator credentials: %w", err)
	}
	if *endpoint == "" {
		*endpoint = aws.ToString(cfg.BaseEndpoint)
	}
	if *endpoint == "" {
		*endpoint = adminclient.DefaultEndpoint
	}
	path := *out
	if path == "" {
		path = adminclient.DefaultCredentialsPath(*name)
	}
	f, err := adminclient.CreateCredentialsFile(path)
	if err != nil {
		return fmt.Errorf("account create: %w", err)
	}
	c := &adminclient.Client{Endpoint: *endpoint, Credentials: cfg.Credentials}
	a, err := c.CreateAccount(ctx, *name, *email)
	if err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("account create: %w", err)
	}
	if err := adminclient.WriteCredentials(f, a); err != nil {
		return fmt.Errorf("account create: account %s was created but its credentials could not be saved: %w", a.AccountID, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	fmt.Println(a.AccountID)
	fmt.Fprintf(os.Stderr, "Created account %s (%s). Its root credentials are in %s:\n\n  export AWS_SHARED_CREDENTIALS_FILE=%s\n\n", a.AccountID, a.AccountName, path, path)
	return nil
}
