package api_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
)

// listAll walks ListFunctions with the SDK paginator (limit 0: the
// server's page size) and returns every item and each page's length.
func listAll(t testing.TB, c *lambda.Client, in *lambda.ListFunctionsInput, limit int32) (items []types.FunctionConfiguration, pages []int) {
	t.Helper()
	p := lambda.NewListFunctionsPaginator(c, in, func(o *lambda.ListFunctionsPaginatorOptions) { o.Limit = limit })
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Functions...)
		pages = append(pages, len(page.Functions))
	}
	return items, pages
}

// idsOf renders items as "name:version".
func idsOf(items []types.FunctionConfiguration) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = aws.ToString(it.FunctionName) + ":" + aws.ToString(it.Version)
	}
	return out
}

func TestListFunctions(t *testing.T) {
	// Not parallel: this test is CPU-heavy and, run alongside the others
	// on a small machine, would starve their store requests.
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()

	// 120 functions; every tenth has two published versions.
	const total = 120
	names := make([]string, total)
	for i := range names {
		names[i] = fmt.Sprintf("list-%03d", i)
	}
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, total)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if _, err := h.client.CreateFunction(ctx, createInput(t, names[i])); err != nil {
					errs <- fmt.Errorf("create %s: %w", names[i], err)
				}
			}
		}()
	}
	for i := range names {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var all []string // every (name, version) in ListFunctions' order
	for i, name := range names {
		all = append(all, name+":$LATEST")
		if i%10 != 0 {
			continue
		}
		h.waitActive(t, h.client, name)
		h.publish(t, name)
		h.updateCode(t, name, "second")
		h.publish(t, name)
		all = append(all, name+":1", name+":2")
	}
	latest := make([]string, total)
	for i, n := range names {
		latest[i] = n + ":$LATEST"
	}

	t.Run("default page size", func(t *testing.T) {
		items, pages := listAll(t, h.client, &lambda.ListFunctionsInput{}, 0)
		if diff := cmp.Diff(latest, idsOf(items)); diff != "" {
			t.Errorf("functions (-want +got)\n%s", diff)
		}
		if !slices.Equal(pages, []int{50, 50, 20}) {
			t.Errorf("page sizes = %v, want [50 50 20]", pages)
		}
	})

	t.Run("MaxItems 7", func(t *testing.T) {
		items, pages := listAll(t, h.client, &lambda.ListFunctionsInput{}, 7)
		if diff := cmp.Diff(latest, idsOf(items)); diff != "" {
			t.Errorf("functions (-want +got)\n%s", diff)
		}
		if len(pages) != 18 || pages[17] != 1 || slices.ContainsFunc(pages[:17], func(n int) bool { return n != 7 }) {
			t.Errorf("page sizes = %v, want 17 pages of 7 and one of 1", pages)
		}
	})

	t.Run("MaxItems above 50 serves 50", func(t *testing.T) {
		out, err := h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(10000)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Functions) != 50 || out.NextMarker == nil {
			t.Errorf("got %d items, NextMarker %v; want 50 and a marker", len(out.Functions), out.NextMarker)
		}
	})

	t.Run("Marker", func(t *testing.T) {
		first, err := h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(10)})
		if err != nil {
			t.Fatal(err)
		}
		second, err := h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(10), Marker: first.NextMarker})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(latest[10:20], idsOf(second.Functions)); diff != "" {
			t.Errorf("page after the marker (-want +got)\n%s", diff)
		}
		// A page that ends exactly at the last function has no marker.
		var marker *string
		for range 3 {
			out, err := h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(40), Marker: marker})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Functions) != 40 {
				t.Fatalf("page of %d items, want 40", len(out.Functions))
			}
			marker = out.NextMarker
		}
		if marker != nil {
			t.Errorf("NextMarker %q after the last function", *marker)
		}
	})

	t.Run("FunctionVersion ALL", func(t *testing.T) {
		items, _ := listAll(t, h.client, &lambda.ListFunctionsInput{FunctionVersion: types.FunctionVersionAll}, 13)
		if diff := cmp.Diff(all, idsOf(items)); diff != "" {
			t.Errorf("all versions (-want +got)\n%s", diff)
		}
		for _, it := range items {
			if v := aws.ToString(it.Version); v != "$LATEST" && aws.ToString(it.FunctionArn) != h.arn(aws.ToString(it.FunctionName))+":"+v {
				t.Errorf("version %s has FunctionArn %s", v, aws.ToString(it.FunctionArn))
			}
		}
	})

	t.Run("invalid arguments", func(t *testing.T) {
		_, err := h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(0)})
		wantErr(t, err, validation("1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"))
		_, err = h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(10001)})
		wantErr(t, err, validation("1 validation error detected: Value '10001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000"))
		_, err = h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{FunctionVersion: "LATEST"})
		wantErr(t, err, validation("1 validation error detected: Value 'LATEST' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"))
		_, err = h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: aws.String("not-a-marker")})
		wantErr(t, err, invalidParam("Invalid marker: not-a-marker"))
	})

	t.Run("changes between pages", func(t *testing.T) {
		p := lambda.NewListFunctionsPaginator(h.client, &lambda.ListFunctionsInput{}, func(o *lambda.ListFunctionsPaginatorOptions) { o.Limit = 10 })
		first, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Delete one function already listed and one not reached yet, and
		// add one that sorts last.
		for _, n := range []string{names[5], names[15]} {
			if _, err := h.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(n)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.client.CreateFunction(ctx, createInput(t, "list-zzz")); err != nil {
			t.Fatal(err)
		}
		seen := idsOf(first.Functions)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, idsOf(page.Functions)...)
		}
		want := slices.Concat(latest[:15], latest[16:], []string{"list-zzz:$LATEST"})
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("listing across changes (-want +got)\n%s", diff)
		}
	})
}

func TestListVersionsByFunction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	name := fnName("versions")
	h.createFunction(t, name)
	want := []string{"$LATEST"}
	for i := 1; i <= 12; i++ {
		if _, err := h.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(name), Description: aws.String(fmt.Sprintf("revision %d", i)),
		}); err != nil {
			t.Fatal(err)
		}
		h.waitUpdated(t, name)
		if v := h.publish(t, name); v != fmt.Sprint(i) {
			t.Fatalf("publish %d returned version %s", i, v)
		}
		want = append(want, fmt.Sprint(i))
	}

	var got []string
	var pages []int
	p := lambda.NewListVersionsByFunctionPaginator(h.client, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name)},
		func(o *lambda.ListVersionsByFunctionPaginatorOptions) { o.Limit = 5 })
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(page.Versions))
		for _, v := range page.Versions {
			got = append(got, aws.ToString(v.Version))
			if v.Version != nil && *v.Version != "$LATEST" && aws.ToString(v.Description) != "revision "+*v.Version {
				t.Errorf("version %s has description %q", *v.Version, aws.ToString(v.Description))
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("versions (-want +got)\n%s", diff)
	}
	if !slices.Equal(pages, []int{5, 5, 3}) {
		t.Errorf("page sizes = %v, want [5 5 3]", pages)
	}
	if got := versionsOf(t, h, name); !slices.Equal(got, want) {
		t.Errorf("default page size: %v", got)
	}

	_, err := h.client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name + ":1")})
	wantErr(t, err, invalidParam("Unsupported function name format: "+name+":1."))
	_, err = h.client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("no-such-fn")})
	wantErr(t, err, notFound("Function not found: "+h.arn("no-such-fn")))
	_, err = h.client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name), MaxItems: aws.Int32(0)})
	wantErr(t, err, validation("1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"))
}
