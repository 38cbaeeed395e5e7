package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
)

func TestTags(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	listTags := func(t *testing.T, arn string) map[string]string {
		t.Helper()
		out, err := h.client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Tags
	}

	t.Run("tag and untag", func(t *testing.T) {
		t.Parallel()
		name := fnName("tags")
		h.createFunction(t, name, func(in *lambda.CreateFunctionInput) { in.Tags = map[string]string{"created": "yes"} })
		arn := h.arn(name)
		if _, err := h.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"a": "1", "b": "2", "created": "again"}}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"a": "1", "b": "2", "created": "again"}, listTags(t, arn)); diff != "" {
			t.Errorf("after TagResource (-want +got)\n%s", diff)
		}
		r := h.do(t, h.rootSigner(), http.MethodDelete, "/2017-03-31/tags/"+url.PathEscape(arn)+"?tagKeys=a&tagKeys=created&tagKeys=absent", nil)
		if r.status != http.StatusNoContent {
			t.Errorf("UntagResource: %d %s, want 204", r.status, r.body)
		}
		if diff := cmp.Diff(map[string]string{"b": "2"}, listTags(t, arn)); diff != "" {
			t.Errorf("after UntagResource (-want +got)\n%s", diff)
		}
		fn, err := h.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"b": "2"}, fn.Tags); diff != "" {
			t.Errorf("GetFunction.Tags (-want +got)\n%s", diff)
		}
		if _, err := h.client.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"b"}}); err != nil {
			t.Fatal(err)
		}
		r = h.do(t, h.rootSigner(), http.MethodGet, "/2017-03-31/tags/"+url.PathEscape(arn), nil)
		if r.status != http.StatusOK || string(r.body) != `{"Tags":{}}` {
			t.Errorf("ListTags without tags: %d %s", r.status, r.body)
		}
	})

	t.Run("limits", func(t *testing.T) {
		t.Parallel()
		name := fnName("tags-limits")
		h.createFunction(t, name)
		arn := h.arn(name)
		tag := func(tags map[string]string) error {
			_, err := h.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: tags})
			return err
		}
		many := func(prefix string, n int) map[string]string {
			m := map[string]string{}
			for i := range n {
				m[fmt.Sprintf("%s%02d", prefix, i)] = "v"
			}
			return m
		}
		wantErr(t, tag(many("k", 51)), invalidParam("Number of tags exceeds resource tag limit."))
		if err := tag(many("k", 50)); err != nil {
			t.Fatalf("50 tags: %v", err)
		}
		// The limit applies to the merged set.
		wantErr(t, tag(map[string]string{"one-more": "v"}), invalidParam("Number of tags exceeds resource tag limit."))
		if err := tag(map[string]string{"k00": "replaced"}); err != nil {
			t.Errorf("replacing a tag at the limit: %v", err)
		}
		longKey, longValue := strings.Repeat("k", 129), strings.Repeat("v", 257)
		wantErr(t, tag(map[string]string{longKey: "v"}), validation("1 validation error detected: Value '"+longKey+"' at 'tags' failed to satisfy constraint: Member must have length between 1 and 128"))
		wantErr(t, tag(map[string]string{"k": longValue}), validation("1 validation error detected: Value '"+longValue+"' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 256"))
		wantErr(t, tag(map[string]string{"aws:owner": "me"}), invalidParam("Tag keys starting with 'aws:' are reserved for AWS use: aws:owner"))
		wantErr(t, tag(map[string]string{"AWS:Owner": "me"}), invalidParam("Tag keys starting with 'aws:' are reserved for AWS use: AWS:Owner"))
		if got := len(listTags(t, arn)); got != 50 {
			t.Errorf("%d tags after refused changes, want 50", got)
		}
		// CreateFunction applies the same rules.
		in := createInput(t, fnName("tags-create"))
		in.Tags = many("c", 51)
		_, err := h.client.CreateFunction(ctx, in)
		wantErr(t, err, invalidParam("Number of tags exceeds resource tag limit."))
		in.Tags = map[string]string{"aws:x": "y"}
		_, err = h.client.CreateFunction(ctx, in)
		wantErr(t, err, invalidParam("Tag keys starting with 'aws:' are reserved for AWS use: aws:x"))
	})

	t.Run("resource", func(t *testing.T) {
		t.Parallel()
		name := withVersions(t, h, "tags-res", 1)
		mustAlias(t, h, name, "live", "1", nil)
		refused := invalidParam("Tags on function aliases and versions are not supported. Please specify a function ARN.")
		for _, q := range []string{":1", ":live", ":$LATEST"} {
			_, err := h.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(h.arn(name) + q), Tags: map[string]string{"a": "b"}})
			wantErr(t, err, refused)
			_, err = h.client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(h.arn(name) + q)})
			wantErr(t, err, refused)
			_, err = h.client.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(h.arn(name) + q), TagKeys: []string{"a"}})
			wantErr(t, err, refused)
		}
		_, err := h.client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(h.arn("no-such-fn"))})
		wantErr(t, err, notFound("Function not found: "+h.arn("no-such-fn")))
		_, err = h.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(name), Tags: map[string]string{"a": "b"}})
		wantErr(t, err, validation(`1 validation error detected: Value '`+name+`' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?`))
		r := h.do(t, h.rootSigner(), http.MethodDelete, "/2017-03-31/tags/"+url.PathEscape(h.arn(name)), nil)
		wantRawErr(t, r, validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null"))
		r = h.do(t, h.rootSigner(), http.MethodPost, "/2017-03-31/tags/"+url.PathEscape(h.arn(name)), []byte(`{}`))
		wantRawErr(t, r, validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null"))
	})
}
