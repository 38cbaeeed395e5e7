package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
)

// withVersions creates a function with n published versions.
func withVersions(t testing.TB, h *harness, prefix string, n int) string {
	t.Helper()
	name := fnName(prefix)
	h.createFunction(t, name)
	for i := 1; i <= n; i++ {
		if i > 1 {
			h.updateCode(t, name, fmt.Sprint("v", i))
		}
		if v := h.publish(t, name); v != fmt.Sprint(i) {
			t.Fatalf("published version %s, want %d", v, i)
		}
	}
	return name
}

func TestAliases(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()

	t.Run("lifecycle", func(t *testing.T) {
		t.Parallel()
		name := withVersions(t, h, "alias", 2)
		arn := h.arn(name) + ":live"
		created, err := h.client.CreateAlias(ctx, &lambda.CreateAliasInput{
			FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1"), Description: aws.String("production"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(created.AliasArn) != arn || aws.ToString(created.Name) != "live" || aws.ToString(created.FunctionVersion) != "1" ||
			aws.ToString(created.Description) != "production" || created.RoutingConfig != nil || !uuidRe.MatchString(aws.ToString(created.RevisionId)) {
			t.Errorf("CreateAlias = %+v", created)
		}
		got, err := h.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String("live")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.RevisionId) != aws.ToString(created.RevisionId) || aws.ToString(got.FunctionVersion) != "1" {
			t.Errorf("GetAlias = %+v", got)
		}

		_, err = h.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("2")})
		wantErr(t, err, conflict("Alias already exists: "+arn))

		// The alias resolves to its version.
		cfg, err := h.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: aws.String("live")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(cfg.Version) != "1" {
			t.Errorf("GetFunctionConfiguration(live).Version = %q, want 1", aws.ToString(cfg.Version))
		}

		updated, err := h.client.UpdateAlias(ctx, &lambda.UpdateAliasInput{
			FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("2"),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"1": 0.25}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(updated.FunctionVersion) != "2" || aws.ToString(updated.Description) != "production" ||
			updated.RoutingConfig == nil || updated.RoutingConfig.AdditionalVersionWeights["1"] != 0.25 {
			t.Errorf("UpdateAlias = %+v", updated)
		}
		if aws.ToString(updated.RevisionId) == aws.ToString(created.RevisionId) {
			t.Error("UpdateAlias kept the RevisionId")
		}
		_, err = h.client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), Description: aws.String("x"), RevisionId: created.RevisionId})
		wantErr(t, err, apiErr{412, "PreconditionFailedException", revisionMismatch})

		// An empty routing configuration removes the weights.
		cleared, err := h.client.UpdateAlias(ctx, &lambda.UpdateAliasInput{
			FunctionName: aws.String(name), Name: aws.String("live"), RevisionId: updated.RevisionId,
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if cleared.RoutingConfig != nil {
			t.Errorf("RoutingConfig = %+v after clearing", cleared.RoutingConfig)
		}

		r := h.do(t, h.rootSigner(), http.MethodDelete, "/2015-03-31/functions/"+name+"/aliases/live", nil)
		if r.status != http.StatusNoContent {
			t.Errorf("DeleteAlias: %d %s, want 204", r.status, r.body)
		}
		_, err = h.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String("live")})
		wantErr(t, err, notFound("Cannot find alias arn: "+arn))
		_, err = h.client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1")})
		wantErr(t, err, notFound("Cannot find alias arn: "+arn))
		_, err = h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("live")})
		wantErr(t, err, notFound("Function not found: "+arn))
		// Deleting an alias that does not exist succeeds.
		if _, err := h.client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String(name), Name: aws.String("live")}); err != nil {
			t.Errorf("DeleteAlias of a missing alias: %v", err)
		}
	})

	t.Run("routing configuration", func(t *testing.T) {
		t.Parallel()
		name := withVersions(t, h, "alias-routing", 3)
		cases := []struct {
			what    string
			version string
			weights map[string]float64
			want    *apiErr
		}{
			{"valid", "2", map[string]float64{"1": 0.1}, nil},
			{"more than one entry", "3", map[string]float64{"1": 0.1, "2": 0.2}, &apiErr{400, "InvalidParameterValueException", "Number of items in AdditionalVersionWeights cannot be greater than 1"}},
			{"weight above 1", "2", map[string]float64{"1": 1.5}, &apiErr{400, "ValidationException", "1 validation error detected: Value '{1=1.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]"}},
			{"negative weight", "2", map[string]float64{"1": -1}, &apiErr{400, "ValidationException", "1 validation error detected: Value '{1=-1.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]"}},
			{"$LATEST with routing", "$LATEST", map[string]float64{"1": 0.5}, &apiErr{400, "InvalidParameterValueException", "$LATEST is not supported for an alias pointing to more than 1 version"}},
			{"missing routed version", "1", map[string]float64{"9": 0.5}, &apiErr{404, "ResourceNotFoundException", "Function not found: " + h.arn(name) + ":9"}},
			{"missing primary version", "9", nil, &apiErr{404, "ResourceNotFoundException", "Function not found: " + h.arn(name) + ":9"}},
			{"primary in routing", "1", map[string]float64{"1": 0.5}, &apiErr{400, "InvalidParameterValueException", "Invalid function version 1. Function version 1 is already included in routing configuration."}},
			{"non-numeric routed version", "1", map[string]float64{"$LATEST": 0.5}, &apiErr{400, "ValidationException", "1 validation error detected: Value '{$LATEST=0.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]"}},
		}
		for i, c := range cases {
			t.Run(c.what, func(t *testing.T) {
				alias := fmt.Sprint("a", i)
				in := &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String(alias), FunctionVersion: aws.String(c.version)}
				if c.weights != nil {
					in.RoutingConfig = &types.AliasRoutingConfiguration{AdditionalVersionWeights: c.weights}
				}
				out, err := h.client.CreateAlias(ctx, in)
				if c.want == nil {
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(c.weights, out.RoutingConfig.AdditionalVersionWeights); diff != "" {
						t.Errorf("weights (-want +got)\n%s", diff)
					}
					return
				}
				wantErr(t, err, *c.want)
				// UpdateAlias applies the same rules.
				mustAlias(t, h, name, alias, "1", nil)
				_, err = h.client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String(alias),
					FunctionVersion: aws.String(c.version), RoutingConfig: in.RoutingConfig})
				wantErr(t, err, *c.want)
			})
		}
	})

	t.Run("names", func(t *testing.T) {
		t.Parallel()
		name := withVersions(t, h, "alias-names", 1)
		long := strings.Repeat("a", 129)
		pattern := "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
		cases := []struct{ alias, msg string }{
			{"7", "1 validation error detected: Value '7' at 'name' failed to satisfy constraint: " + pattern},
			{"has.dot", "1 validation error detected: Value 'has.dot' at 'name' failed to satisfy constraint: " + pattern},
			{long, "1 validation error detected: Value '" + long + "' at 'name' failed to satisfy constraint: Member must have length less than or equal to 128"},
		}
		for _, c := range cases {
			_, err := h.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String(c.alias), FunctionVersion: aws.String("1")})
			wantErr(t, err, validation(c.msg))
		}
		_, err := h.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("ok"), FunctionVersion: aws.String("latest")})
		wantErr(t, err, validation(`1 validation error detected: Value 'latest' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)`))
		_, err = h.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("no-such-fn"), Name: aws.String("ok"), FunctionVersion: aws.String("1")})
		wantErr(t, err, notFound("Function not found: "+h.arn("no-such-fn")))
		// Version-like and special names are fine when not all digits.
		for _, a := range []string{"v1", "1a", "LATEST", "blue_green-2"} {
			mustAlias(t, h, name, a, "$LATEST", nil)
		}
	})

	t.Run("list", func(t *testing.T) {
		t.Parallel()
		name := withVersions(t, h, "alias-list", 2)
		on1 := []string{"a1", "a3", "a5", "b-routed"}
		for _, a := range []string{"a1", "a3", "a5"} {
			mustAlias(t, h, name, a, "1", nil)
		}
		for _, a := range []string{"a2", "a4", "a6"} {
			mustAlias(t, h, name, a, "2", nil)
		}
		mustAlias(t, h, name, "b-routed", "2", map[string]float64{"1": 0.5})
		mustAlias(t, h, name, "c-latest", "$LATEST", nil)

		list := func(version string, limit int32) (names []string, pages int) {
			in := &lambda.ListAliasesInput{FunctionName: aws.String(name)}
			if version != "" {
				in.FunctionVersion = aws.String(version)
			}
			p := lambda.NewListAliasesPaginator(h.client, in, func(o *lambda.ListAliasesPaginatorOptions) { o.Limit = limit })
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, a := range page.Aliases {
					names = append(names, aws.ToString(a.Name))
				}
			}
			return names, pages
		}
		all, pages := list("", 3)
		if want := []string{"a1", "a2", "a3", "a4", "a5", "a6", "b-routed", "c-latest"}; !slices.Equal(all, want) || pages != 3 {
			t.Errorf("all aliases in %d pages: %v, want %v in 3", pages, all, want)
		}
		if got, _ := list("1", 2); !slices.Equal(got, on1) {
			t.Errorf("aliases of version 1: %v, want %v", got, on1)
		}
		if got, _ := list("$LATEST", 0); !slices.Equal(got, []string{"c-latest"}) {
			t.Errorf("aliases of $LATEST: %v", got)
		}
		if got, _ := list("7", 0); len(got) != 0 {
			t.Errorf("aliases of a missing version: %v", got)
		}
		_, err := h.client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String(name), FunctionVersion: aws.String("x")})
		wantErr(t, err, validation(`1 validation error detected: Value 'x' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)`))
		// A fresh function lists an empty array, not null.
		fresh := fnName("alias-none")
		h.createFunction(t, fresh)
		r := h.do(t, h.rootSigner(), http.MethodGet, "/2015-03-31/functions/"+fresh+"/aliases", nil)
		if r.status != http.StatusOK || string(r.body) != `{"Aliases":[]}` {
			t.Errorf("ListAliases of a function without aliases: %d %s", r.status, r.body)
		}
	})
}
