package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// TestCLIPagination: with more functions than one page holds (the server
// serves at most 50), the CLI's automatic pagination returns all of them,
// and --max-items/--starting-token walk them without loss or repeats.
func TestCLIPagination(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	srv := startServer(t, serverOpts{})
	cli := newCLI(t, srv)
	p := makeZip(t, "page")

	// The 60 functions are set up with the SDK: 60 CLI processes would
	// cost a minute of CPU and prove nothing more.
	sdk := newSDK(t, srv, 3)
	const n = 60
	var want []string
	for i := range n {
		name := fmt.Sprintf("page-%02d", i)
		if _, err := sdkCreate(t.Context(), sdk, name, srv.account, p, ""); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		want = append(want, name)
	}

	names := func(fns []fnConfig) []string {
		var out []string
		for _, f := range fns {
			out = append(out, f.FunctionName)
		}
		return out
	}

	t.Run("all pages", func(t *testing.T) {
		var out listFunctionsOut
		cli.ok(t, &out, "lambda", "list-functions")
		if got := names(out.Functions); !slices.Equal(got, want) {
			t.Errorf("list-functions returned %d functions %q, want the %d created, in order", len(got), got, n)
		}
		if out.NextToken != "" || out.NextMarker != "" {
			t.Errorf("a complete listing still has NextToken %q / NextMarker %q", out.NextToken, out.NextMarker)
		}
	})

	t.Run("small server pages", func(t *testing.T) {
		var out listFunctionsOut
		cli.ok(t, &out, "lambda", "list-functions", "--page-size", "7")
		if got := names(out.Functions); !slices.Equal(got, want) {
			t.Errorf("list-functions --page-size 7 returned %q", got)
		}
	})

	t.Run("max-items and starting-token", func(t *testing.T) {
		var first listFunctionsOut
		cli.ok(t, &first, "lambda", "list-functions", "--max-items", "7")
		if len(first.Functions) != 7 || first.NextToken == "" {
			t.Fatalf("--max-items 7: %d functions, NextToken %q; want 7 and a token", len(first.Functions), first.NextToken)
		}
		got := names(first.Functions)
		token := first.NextToken
		for pages := 0; token != ""; pages++ {
			if pages > n {
				t.Fatal("pagination does not end")
			}
			var out listFunctionsOut
			cli.ok(t, &out, "lambda", "list-functions", "--max-items", "25", "--starting-token", token)
			if len(out.Functions) > 25 {
				t.Fatalf("--max-items 25 returned %d functions", len(out.Functions))
			}
			got = append(got, names(out.Functions)...)
			token = out.NextToken
		}
		if !slices.Equal(got, want) {
			t.Errorf("walking the pages returned %q, want every function once, in order", got)
		}
	})

	t.Run("all versions", func(t *testing.T) {
		waitSettled(t, sdk, "page-59")
		if _, err := sdk.PublishVersion(t.Context(), &lambda.PublishVersionInput{FunctionName: aws.String("page-59")}); err != nil {
			t.Fatal(err)
		}
		var out listFunctionsOut
		cli.ok(t, &out, "lambda", "list-functions", "--function-version", "ALL")
		if len(out.Functions) != n+1 {
			t.Fatalf("list-functions --function-version ALL: %d entries, want %d", len(out.Functions), n+1)
		}
		last := out.Functions[len(out.Functions)-2:]
		if last[0].Version != "$LATEST" || last[1].Version != "1" || last[1].FunctionName != "page-59" {
			t.Errorf("the last entries are %+v, want page-59's $LATEST and version 1", last)
		}
	})
}
