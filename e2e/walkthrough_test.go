package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWalkthrough is the README's five-minute tour, step by step, with the
// real AWS CLI v2: every control-plane operation a user meets first, with
// the function named by name, partial ARN and full ARN (which the CLI
// double-encodes in the path), and --qualifier.
func TestWalkthrough(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	srv := startServer(t, serverOpts{})
	cli := newCLI(t, srv)
	v1, v2 := makeZip(t, "hello from v1"), makeZip(t, "hello from v2")

	const name = "tour"
	arn := fnARN(srv, name)
	partial := srv.account + ":function:" + name

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"create-function", func(t *testing.T) {
			var out fnConfig
			cli.ok(t, &out, createArgs(name, srv.account, v1,
				"--description", "first",
				"--environment", "Variables={GREETING=hello}",
				"--tags", "team=tour,stage=dev")...)
			want := fnConfig{
				FunctionName: name, FunctionArn: arn, Runtime: "provided.al2023", Role: roleARN(srv.account),
				Handler: "bootstrap", Description: "first", Version: "$LATEST", CodeSha256: v1.sha,
				CodeSize: int64(len(v1.data)), Timeout: 3, MemorySize: 128,
				Environment: &struct{ Variables map[string]string }{map[string]string{"GREETING": "hello"}},
			}
			if out.State != "Pending" && out.State != "Active" {
				t.Errorf("State = %q, want Pending (or already Active)", out.State)
			}
			out.State, out.LastUpdateStatus, out.RevisionId, out.LastModified = "", "", "", ""
			if diff := cmp.Diff(want, out); diff != "" {
				t.Errorf("create-function output (-want +got):\n%s", diff)
			}
		}},
		{"wait function-active-v2", func(t *testing.T) {
			cli.ok(t, nil, "lambda", "wait", "function-active-v2", "--function-name", name)
		}},
		{"get-function", func(t *testing.T) {
			var out getFunctionOut
			cli.ok(t, &out, "lambda", "get-function", "--function-name", name)
			c := out.Configuration
			if c.State != "Active" || c.LastUpdateStatus != "Successful" || c.CodeSha256 != v1.sha {
				t.Errorf("get-function: State %q, LastUpdateStatus %q, CodeSha256 %q; want Active, Successful, %q", c.State, c.LastUpdateStatus, c.CodeSha256, v1.sha)
			}
			if diff := cmp.Diff(map[string]string{"team": "tour", "stage": "dev"}, out.Tags); diff != "" {
				t.Errorf("Tags (-want +got):\n%s", diff)
			}
			if out.Code.RepositoryType != "S3" {
				t.Errorf("Code.RepositoryType = %q, want S3", out.Code.RepositoryType)
			}
			if got := download(t, out.Code.Location); !bytes.Equal(got, v1.data) {
				t.Errorf("Code.Location served %d bytes that differ from the uploaded zip", len(got))
			}
		}},
		{"list-functions", func(t *testing.T) {
			var out listFunctionsOut
			cli.ok(t, &out, "lambda", "list-functions")
			if len(out.Functions) != 1 || out.Functions[0].FunctionArn != arn {
				t.Errorf("list-functions = %+v, want just %s", out.Functions, arn)
			}
		}},
		{"update-function-code by partial ARN", func(t *testing.T) {
			var out fnConfig
			cli.ok(t, &out, "lambda", "update-function-code", "--function-name", partial, "--zip-file", v2.fileURL())
			if out.CodeSha256 != v2.sha || out.FunctionArn != arn {
				t.Errorf("update-function-code: CodeSha256 %q, FunctionArn %q; want %q, %q", out.CodeSha256, out.FunctionArn, v2.sha, arn)
			}
			cli.ok(t, nil, "lambda", "wait", "function-updated-v2", "--function-name", arn)
			var got getFunctionOut
			cli.ok(t, &got, "lambda", "get-function", "--function-name", arn)
			if got.Configuration.LastUpdateStatus != "Successful" || got.Configuration.CodeSha256 != v2.sha {
				t.Errorf("after the update: %+v", got.Configuration)
			}
			if b := download(t, got.Code.Location); !bytes.Equal(b, v2.data) {
				t.Error("Code.Location does not serve the new package")
			}
		}},
		{"update-function-configuration", func(t *testing.T) {
			cli.ok(t, nil, "lambda", "update-function-configuration", "--function-name", name,
				"--description", "second", "--timeout", "10", "--memory-size", "256",
				"--environment", "Variables={GREETING=bonjour}")
			cli.ok(t, nil, "lambda", "wait", "function-updated-v2", "--function-name", name)
			var c fnConfig
			cli.ok(t, &c, "lambda", "get-function-configuration", "--function-name", name)
			if c.Description != "second" || c.Timeout != 10 || c.MemorySize != 256 || c.Environment == nil || c.Environment.Variables["GREETING"] != "bonjour" {
				t.Errorf("configuration not updated: %+v", c)
			}
			if c.CodeSha256 != v2.sha {
				t.Errorf("a configuration update changed CodeSha256 to %q", c.CodeSha256)
			}
		}},
		{"publish-version", func(t *testing.T) {
			var p1, again, p2 fnConfig
			cli.ok(t, &p1, "lambda", "publish-version", "--function-name", name, "--description", "release 1")
			if p1.Version != "1" || p1.FunctionArn != arn+":1" || p1.Description != "release 1" || p1.CodeSha256 != v2.sha {
				t.Errorf("publish-version: %+v", p1)
			}
			// Nothing changed: Lambda returns the same version again.
			cli.ok(t, &again, "lambda", "publish-version", "--function-name", name)
			if again.Version != "1" {
				t.Errorf("publishing an unchanged function made version %q, want 1 again", again.Version)
			}
			cli.ok(t, nil, "lambda", "update-function-configuration", "--function-name", name, "--description", "third")
			cli.ok(t, nil, "lambda", "wait", "function-updated-v2", "--function-name", name)
			cli.ok(t, &p2, "lambda", "publish-version", "--function-name", arn)
			if p2.Version != "2" || p2.Description != "third" {
				t.Errorf("second publish-version: Version %q, Description %q; want 2, third", p2.Version, p2.Description)
			}
		}},
		{"create-alias", func(t *testing.T) {
			var a aliasOut
			cli.ok(t, &a, "lambda", "create-alias", "--function-name", name, "--name", "live",
				"--function-version", "1", "--description", "production")
			if a.AliasArn != arn+":live" || a.Name != "live" || a.FunctionVersion != "1" || a.Description != "production" || a.RevisionId == "" {
				t.Errorf("create-alias: %+v", a)
			}
			cli.failWith(t, "ResourceConflictException", "Alias already exists: "+arn+":live",
				"lambda", "create-alias", "--function-name", name, "--name", "live", "--function-version", "2")
		}},
		{"update-alias with routing", func(t *testing.T) {
			var a aliasOut
			cli.ok(t, &a, "lambda", "update-alias", "--function-name", arn, "--name", "live",
				"--function-version", "2", "--routing-config", `{"AdditionalVersionWeights":{"1":0.25}}`)
			if a.FunctionVersion != "2" || a.RoutingConfig == nil || a.RoutingConfig.AdditionalVersionWeights["1"] != 0.25 {
				t.Errorf("update-alias: %+v", a)
			}
			var got aliasOut
			cli.ok(t, &got, "lambda", "get-alias", "--function-name", partial, "--name", "live")
			if diff := cmp.Diff(a, got); diff != "" {
				t.Errorf("get-alias differs from update-alias's answer (-update +get):\n%s", diff)
			}
		}},
		{"list-aliases", func(t *testing.T) {
			var all, ofV1, ofLatest listAliasesOut
			cli.ok(t, &all, "lambda", "list-aliases", "--function-name", name)
			if len(all.Aliases) != 1 || all.Aliases[0].Name != "live" {
				t.Errorf("list-aliases: %+v", all.Aliases)
			}
			// Version 1 is served through live's routing configuration.
			cli.ok(t, &ofV1, "lambda", "list-aliases", "--function-name", name, "--function-version", "1")
			if len(ofV1.Aliases) != 1 {
				t.Errorf("list-aliases --function-version 1: %+v, want live", ofV1.Aliases)
			}
			cli.ok(t, &ofLatest, "lambda", "list-aliases", "--function-name", name, "--function-version", "$LATEST")
			if len(ofLatest.Aliases) != 0 {
				t.Errorf("list-aliases --function-version $LATEST: %+v, want none", ofLatest.Aliases)
			}
		}},
		{"list-versions-by-function", func(t *testing.T) {
			var out listVersionsOut
			cli.ok(t, &out, "lambda", "list-versions-by-function", "--function-name", partial)
			var got []string
			for _, v := range out.Versions {
				got = append(got, v.Version+"="+v.Description)
			}
			if want := []string{"$LATEST=third", "1=release 1", "2=third"}; !slices.Equal(got, want) {
				t.Errorf("versions %q, want %q", got, want)
			}
		}},
		{"get-function with qualifiers", func(t *testing.T) {
			for _, tc := range []struct {
				args          []string
				version, desc string
			}{
				{[]string{"--function-name", name, "--qualifier", "live"}, "2", "third"},
				{[]string{"--function-name", name, "--qualifier", "1"}, "1", "release 1"},
				{[]string{"--function-name", arn + ":1"}, "1", "release 1"},
				{[]string{"--function-name", partial + ":live"}, "2", "third"},
				{[]string{"--function-name", arn, "--qualifier", "$LATEST"}, "$LATEST", "third"},
			} {
				var out getFunctionOut
				cli.ok(t, &out, append([]string{"lambda", "get-function"}, tc.args...)...)
				if out.Configuration.Version != tc.version || out.Configuration.Description != tc.desc {
					t.Errorf("get-function %q: version %q (%q), want %q (%q)", tc.args, out.Configuration.Version, out.Configuration.Description, tc.version, tc.desc)
				}
			}
			cli.failWith(t, "ResourceNotFoundException", "Function not found: "+arn+":7",
				"lambda", "get-function", "--function-name", name, "--qualifier", "7")
			cli.failWith(t, "ResourceNotFoundException", "Function not found: "+arn+":nosuchalias",
				"lambda", "get-function", "--function-name", arn+":nosuchalias")
		}},
		{"permissions", func(t *testing.T) { walkPermissions(t, cli, srv, name) }},
		{"tags", func(t *testing.T) {
			cli.ok(t, nil, "lambda", "tag-resource", "--resource", arn, "--tags", "env=test,owner=e2e")
			var out struct{ Tags map[string]string }
			cli.ok(t, &out, "lambda", "list-tags", "--resource", arn)
			if diff := cmp.Diff(map[string]string{"team": "tour", "stage": "dev", "env": "test", "owner": "e2e"}, out.Tags); diff != "" {
				t.Errorf("list-tags after tag-resource (-want +got):\n%s", diff)
			}
			cli.ok(t, nil, "lambda", "untag-resource", "--resource", arn, "--tag-keys", "stage", "owner")
			var after struct{ Tags map[string]string }
			cli.ok(t, &after, "lambda", "list-tags", "--resource", arn)
			if want := map[string]string{"team": "tour", "env": "test"}; !maps.Equal(want, after.Tags) {
				t.Errorf("list-tags after untag-resource = %v, want %v", after.Tags, want)
			}
			cli.failWith(t, "InvalidParameterValueException", "Tags on function aliases and versions are not supported. Please specify a function ARN.",
				"lambda", "tag-resource", "--resource", arn+":live", "--tags", "x=y")
		}},
		{"concurrency", func(t *testing.T) {
			var put, got concurrencyOut
			cli.ok(t, &put, "lambda", "put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "7")
			cli.ok(t, &got, "lambda", "get-function-concurrency", "--function-name", arn)
			if put.ReservedConcurrentExecutions == nil || *put.ReservedConcurrentExecutions != 7 || got.ReservedConcurrentExecutions == nil || *got.ReservedConcurrentExecutions != 7 {
				t.Errorf("put/get-function-concurrency: %v / %v, want 7", put.ReservedConcurrentExecutions, got.ReservedConcurrentExecutions)
			}
			var fn getFunctionOut
			cli.ok(t, &fn, "lambda", "get-function", "--function-name", name)
			if fn.Concurrency == nil || fn.Concurrency.ReservedConcurrentExecutions == nil || *fn.Concurrency.ReservedConcurrentExecutions != 7 {
				t.Errorf("get-function Concurrency = %+v, want 7", fn.Concurrency)
			}
			var s accountSettingsOut
			cli.ok(t, &s, "lambda", "get-account-settings")
			if s.AccountLimit.UnreservedConcurrentExecutions != s.AccountLimit.ConcurrentExecutions-7 {
				t.Errorf("account settings: unreserved %d of %d, want 7 reserved", s.AccountLimit.UnreservedConcurrentExecutions, s.AccountLimit.ConcurrentExecutions)
			}
			cli.ok(t, nil, "lambda", "delete-function-concurrency", "--function-name", partial)
			got = concurrencyOut{}
			cli.ok(t, &got, "lambda", "get-function-concurrency", "--function-name", name)
			if got.ReservedConcurrentExecutions != nil {
				t.Errorf("after delete-function-concurrency: %d reserved, want none", *got.ReservedConcurrentExecutions)
			}
		}},
		{"event invoke config", func(t *testing.T) {
			var put, got eventInvokeOut
			cli.ok(t, &put, "lambda", "put-function-event-invoke-config", "--function-name", name,
				"--maximum-retry-attempts", "1", "--maximum-event-age-in-seconds", "300")
			cli.ok(t, &got, "lambda", "get-function-event-invoke-config", "--function-name", arn)
			for _, c := range []eventInvokeOut{put, got} {
				if c.FunctionArn != arn+":$LATEST" || c.MaximumRetryAttempts == nil || *c.MaximumRetryAttempts != 1 || c.MaximumEventAgeInSeconds == nil || *c.MaximumEventAgeInSeconds != 300 {
					t.Errorf("event invoke config: %+v", c)
				}
			}
			cli.ok(t, nil, "lambda", "put-function-event-invoke-config", "--function-name", name, "--qualifier", "live", "--maximum-retry-attempts", "0")
			var list struct{ FunctionEventInvokeConfigs []eventInvokeOut }
			cli.ok(t, &list, "lambda", "list-function-event-invoke-configs", "--function-name", name)
			if len(list.FunctionEventInvokeConfigs) != 2 {
				t.Errorf("list-function-event-invoke-configs: %+v, want $LATEST and live", list.FunctionEventInvokeConfigs)
			}
			cli.ok(t, nil, "lambda", "delete-function-event-invoke-config", "--function-name", name)
			cli.ok(t, nil, "lambda", "delete-function-event-invoke-config", "--function-name", name, "--qualifier", "live")
			cli.failWith(t, "ResourceNotFoundException", "The function "+arn+":$LATEST doesn't have an EventInvokeConfig",
				"lambda", "get-function-event-invoke-config", "--function-name", name)
		}},
		{"get-account-settings", func(t *testing.T) {
			var s accountSettingsOut
			cli.ok(t, &s, "lambda", "get-account-settings")
			// $LATEST and versions 1 and 2 all hold the v2 package.
			if s.AccountUsage.FunctionCount != 1 || s.AccountUsage.TotalCodeSize != 3*int64(len(v2.data)) {
				t.Errorf("AccountUsage = %+v, want 1 function and %d bytes of code", s.AccountUsage, 3*len(v2.data))
			}
			if s.AccountLimit.ConcurrentExecutions != 1000 || s.AccountLimit.UnreservedConcurrentExecutions != 1000 || s.AccountLimit.CodeSizeZipped <= 0 {
				t.Errorf("AccountLimit = %+v", s.AccountLimit)
			}
		}},
		{"delete a version", func(t *testing.T) {
			e := cli.fail(t, "lambda", "delete-function", "--function-name", name, "--qualifier", "1")
			if e.Type != "ResourceConflictException" {
				t.Errorf("deleting a version an alias routes to: %s %q, want ResourceConflictException", e.Type, e.Message)
			}
			cli.ok(t, nil, "lambda", "update-alias", "--function-name", name, "--name", "live", "--routing-config", `{"AdditionalVersionWeights":{}}`)
			cli.ok(t, nil, "lambda", "delete-function", "--function-name", name, "--qualifier", "1")
			var out listVersionsOut
			cli.ok(t, &out, "lambda", "list-versions-by-function", "--function-name", name)
			if len(out.Versions) != 2 || out.Versions[1].Version != "2" {
				t.Errorf("versions after deleting 1: %+v", out.Versions)
			}
		}},
		{"delete-function by full ARN", func(t *testing.T) {
			cli.ok(t, nil, "lambda", "delete-function", "--function-name", arn)
			cli.failWith(t, "ResourceNotFoundException", "Function not found: "+arn,
				"lambda", "get-function", "--function-name", name)
			var out listFunctionsOut
			cli.ok(t, &out, "lambda", "list-functions")
			if len(out.Functions) != 0 {
				t.Errorf("list-functions after delete: %+v", out.Functions)
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Fatalf("step %q failed; the tour stops here", s.name)
		}
	}
}

// walkPermissions adds, reads and removes resource-policy statements on the
// function and on its alias.
func walkPermissions(t *testing.T, cli *awsCLI, srv *server, name string) {
	arn := fnARN(srv, name)
	var added struct{ Statement string }
	cli.ok(t, &added, "lambda", "add-permission", "--function-name", name,
		"--statement-id", "s3-invoke", "--action", "lambda:InvokeFunction",
		"--principal", "s3.amazonaws.com", "--source-arn", "arn:aws:s3:::tour-bucket",
		"--source-account", srv.account)
	var st policyStatement
	if err := json.Unmarshal([]byte(added.Statement), &st); err != nil {
		t.Fatalf("add-permission Statement %q: %v", added.Statement, err)
	}
	if st.Sid != "s3-invoke" || st.Effect != "Allow" || fmt.Sprint(st.Action) != "lambda:InvokeFunction" || fmt.Sprint(st.Resource) != arn {
		t.Errorf("statement: %+v", st)
	}
	if p, ok := st.Principal.(map[string]any); !ok || p["Service"] != "s3.amazonaws.com" {
		t.Errorf("statement principal %v, want {Service: s3.amazonaws.com}", st.Principal)
	}
	cli.failWith(t, "ResourceConflictException",
		"The statement id (SID) provided already exists. Please provide a new statement id, or remove the existing statement.",
		"lambda", "add-permission", "--function-name", name, "--statement-id", "s3-invoke",
		"--action", "lambda:InvokeFunction", "--principal", "s3.amazonaws.com")

	cli.ok(t, nil, "lambda", "add-permission", "--function-name", arn, "--qualifier", "live",
		"--statement-id", "alias-invoke", "--action", "lambda:InvokeFunction", "--principal", srv.account)

	var fp, ap getPolicyOut
	cli.ok(t, &fp, "lambda", "get-policy", "--function-name", name)
	cli.ok(t, &ap, "lambda", "get-policy", "--function-name", name, "--qualifier", "live")
	if d := fp.doc(t); len(d.Statement) != 1 || d.Statement[0].Sid != "s3-invoke" || fp.RevisionId == "" {
		t.Errorf("function policy: %+v", d)
	}
	if d := ap.doc(t); len(d.Statement) != 1 || d.Statement[0].Sid != "alias-invoke" || fmt.Sprint(d.Statement[0].Resource) != arn+":live" {
		t.Errorf("alias policy: %+v", d)
	}

	cli.ok(t, nil, "lambda", "remove-permission", "--function-name", name, "--statement-id", "s3-invoke")
	if e := cli.fail(t, "lambda", "get-policy", "--function-name", name); e.Type != "ResourceNotFoundException" {
		t.Errorf("get-policy after removing the only statement: %s %q, want ResourceNotFoundException", e.Type, e.Message)
	}
	if e := cli.fail(t, "lambda", "remove-permission", "--function-name", name, "--statement-id", "s3-invoke"); e.Type != "ResourceNotFoundException" {
		t.Errorf("removing a removed statement: %s %q, want ResourceNotFoundException", e.Type, e.Message)
	}
	cli.ok(t, nil, "lambda", "remove-permission", "--function-name", name, "--qualifier", "live", "--statement-id", "alias-invoke")
}
