package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestIAMCLI drives the identity APIs with the real AWS CLI v2, as the
// README tells users to: a least-privilege user with an access key, a role
// for functions, a role session, an account made through Organizations and
// one made with `cloister account create`.
func TestIAMCLI(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	srv := startServer(t, serverOpts{})
	cli := newCLI(t, srv)
	A := srv.account

	t.Run("user with a policy", func(t *testing.T) {
		t.Parallel()
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:ListFunctions","sts:AssumeRole"],"Resource":"*"}]}`
		var user struct{ User struct{ Arn string } }
		cli.ok(t, &user, "iam", "create-user", "--user-name", "dev")
		if user.User.Arn != "arn:aws:iam::"+A+":user/dev" {
			t.Fatalf("create-user: %+v", user)
		}
		cli.ok(t, nil, "iam", "put-user-policy", "--user-name", "dev", "--policy-name", "list-and-assume", "--policy-document", doc)
		var key struct {
			AccessKey struct{ AccessKeyId, SecretAccessKey string }
		}
		cli.ok(t, &key, "iam", "create-access-key", "--user-name", "dev")
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + A + `:root"},"Action":"sts:AssumeRole"}]}`
		cli.ok(t, nil, "iam", "create-role", "--role-name", "deployer", "--assume-role-policy-document", trust)

		dev := cli.withEnv("AWS_ACCESS_KEY_ID="+key.AccessKey.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+key.AccessKey.SecretAccessKey,
			"AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
		dev.ok(t, nil, "lambda", "list-functions")
		dev.failWith(t, "AccessDenied", "User: arn:aws:iam::"+A+":user/dev is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::"+A+":user/ because no identity-based policy allows the iam:ListUsers action",
			"iam", "list-users")
		var assumed struct {
			Credentials     struct{ AccessKeyId, SecretAccessKey, SessionToken string }
			AssumedRoleUser struct{ Arn string }
		}
		dev.ok(t, &assumed, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+A+":role/deployer", "--role-session-name", "ci")
		session := cli.withEnv("AWS_ACCESS_KEY_ID="+assumed.Credentials.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+assumed.Credentials.SecretAccessKey,
			"AWS_SESSION_TOKEN="+assumed.Credentials.SessionToken, "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
		var id struct{ Arn, Account string }
		session.ok(t, &id, "sts", "get-caller-identity")
		if id.Arn != "arn:aws:sts::"+A+":assumed-role/deployer/ci" || id.Account != A {
			t.Fatalf("session identity %+v", id)
		}
		bad := session.withEnv("AWS_SESSION_TOKEN=" + assumed.Credentials.SessionToken + "x")
		bad.failWith(t, "InvalidClientTokenId", "The security token included in the request is invalid.", "sts", "get-caller-identity")
	})

	t.Run("role for functions", func(t *testing.T) {
		t.Parallel()
		trust := writeFile(t, "trust.json", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`))
		cli.ok(t, nil, "iam", "create-role", "--role-name", "fn-exec", "--assume-role-policy-document", "file://"+trust)
		cli.ok(t, nil, "iam", "attach-role-policy", "--role-name", "fn-exec", "--policy-arn", "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
		// The CLI decodes the URL-encoded trust policy into JSON.
		var role struct {
			Role struct {
				Arn                      string
				AssumeRolePolicyDocument struct {
					Statement []struct{ Principal struct{ Service string } }
				}
			}
		}
		cli.ok(t, &role, "iam", "get-role", "--role-name", "fn-exec")
		if role.Role.Arn != "arn:aws:iam::"+A+":role/fn-exec" || len(role.Role.AssumeRolePolicyDocument.Statement) != 1 ||
			role.Role.AssumeRolePolicyDocument.Statement[0].Principal.Service != "lambda.amazonaws.com" {
			t.Fatalf("get-role: %+v", role)
		}
		var attached struct{ AttachedPolicies []struct{ PolicyName string } }
		cli.ok(t, &attached, "iam", "list-attached-role-policies", "--role-name", "fn-exec")
		if len(attached.AttachedPolicies) != 1 || attached.AttachedPolicies[0].PolicyName != "AWSLambdaBasicExecutionRole" {
			t.Fatalf("list-attached-role-policies: %+v", attached)
		}
	})

	t.Run("organizations", func(t *testing.T) {
		t.Parallel()
		var created struct {
			CreateAccountStatus struct{ State, AccountId string }
		}
		cli.ok(t, &created, "organizations", "create-account", "--email", "tenant@example.com", "--account-name", "tenant")
		if created.CreateAccountStatus.State != "SUCCEEDED" || len(created.CreateAccountStatus.AccountId) != 12 {
			t.Fatalf("create-account: %+v", created)
		}
		var listed struct{ Accounts []struct{ Id, Name string } }
		cli.ok(t, &listed, "organizations", "list-accounts")
		// The parallel "cloister account create" subtest may add its own.
		names := map[string]string{}
		for _, a := range listed.Accounts {
			names[a.Name] = a.Id
		}
		if names["default"] != srv.account || names["tenant"] != created.CreateAccountStatus.AccountId {
			t.Fatalf("list-accounts lacks the default account or the new one: %+v", listed)
		}
	})

	t.Run("cloister account create", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		out := filepath.Join(dir, "team-creds")
		cmd := exec.Command(cloisterBin, "account", "create", "--name", "team", "--endpoint", srv.endpoint, "--credentials-file", out)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(srv.dataDir, "credentials"),
			"AWS_CONFIG_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("cloister account create: %v\n%s", err, stderr.String())
		}
		id := strings.TrimSpace(stdout.String())
		if !regexp.MustCompile(`^\d{12}$`).MatchString(id) || id == A {
			t.Fatalf("printed %q", stdout.String())
		}
		fi, err := os.Stat(out)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("credentials file: %v %v", err, fi)
		}
		if strings.Contains(stderr.String(), parseINI(t, out)["default"]["aws_secret_access_key"]) {
			t.Error("the secret access key was printed")
		}
		team := newCLIAt(t, awsV2Path, 2, srv.endpoint, "AWS_SHARED_CREDENTIALS_FILE="+out, "AWS_REGION="+region)
		res := team.run(t, "sts", "get-caller-identity")
		var who struct{ Account, Arn string }
		if res.code != 0 || json.Unmarshal(res.stdout, &who) != nil || who.Account != id || who.Arn != "arn:aws:iam::"+id+":root" {
			t.Fatalf("new account's root: exit %d %s %s", res.code, res.stdout, res.stderr)
		}
		// The command refuses to overwrite a credentials file.
		again := exec.Command(cloisterBin, "account", "create", "--name", "team2", "--endpoint", srv.endpoint, "--credentials-file", out)
		again.Env = cmd.Env
		if b, err := again.CombinedOutput(); err == nil {
			t.Fatalf("second create over the same file succeeded: %s", b)
		}
	})
}
