package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// iamQueryError is the Query protocol's error document.
type iamQueryError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

// TestQueryProtocol checks the wire format of IAM and STS responses and
// errors, and how / is routed by the credential scope's service.
func TestQueryProtocol(t *testing.T) {
	t.Parallel()
	e := newIAMEnv(t, "eu-west-1")
	root := e.rootCreds()
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}

	t.Run("success document", func(t *testing.T) {
		status, hdr, body := e.raw(root, "iam", "us-east-1", iamFormType, form("Action", "CreateUser", "Version", "2010-05-08", "UserName", "wire"), nil)
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/xml") {
			t.Fatalf("status %d, content type %q: %s", status, hdr.Get("Content-Type"), body)
		}
		var doc struct {
			XMLName xml.Name
			Result  struct {
				User struct{ UserName, Arn string }
			} `xml:"CreateUserResult"`
			RequestID string `xml:"ResponseMetadata>RequestId"`
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if doc.XMLName.Local != "CreateUserResponse" || doc.XMLName.Space != "https://iam.amazonaws.com/doc/2010-05-08/" ||
			doc.Result.User.UserName != "wire" || doc.RequestID != hdr.Get("X-Amzn-RequestId") {
			t.Fatalf("document %+v\n%s", doc, body)
		}
		ev, ok := e.audit.find(doc.RequestID)
		if !ok || ev.Action != "iam:CreateUser" || ev.Resource != "arn:aws:iam::"+e.mgmt+":user/wire" || ev.Status != 200 || ev.Caller.ARN != "arn:aws:iam::"+e.mgmt+":root" {
			t.Fatalf("audit event %+v (found %v)", ev, ok)
		}
	})

	t.Run("STS document", func(t *testing.T) {
		status, _, body := e.raw(root, "sts", "eu-west-1", iamFormType, form("Action", "GetCallerIdentity", "Version", "2011-06-15"), nil)
		if status != 200 || !strings.Contains(body, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`) ||
			!strings.Contains(body, "<Account>"+e.mgmt+"</Account>") {
			t.Fatalf("status %d: %s", status, body)
		}
	})

	cases := []struct {
		what            string
		creds           iamCreds
		service, region string
		contentType     string
		body            string
		status          int
		code, msg       string
		fault           string
	}{
		{"no such entity", root, "iam", "us-east-1", iamFormType, form("Action", "GetUser", "UserName", "ghost"), 404, "NoSuchEntity", "The user with name ghost cannot be found.", "Sender"},
		{"server's own region", root, "iam", "eu-west-1", iamFormType, form("Action", "GetUser", "UserName", "ghost"), 404, "NoSuchEntity", "The user with name ghost cannot be found.", "Sender"},
		{"other region", root, "iam", "ap-south-1", iamFormType, form("Action", "ListUsers"), 403, "SignatureDoesNotMatch", "Credential should be scoped to a valid region. ", "Sender"},
		{"missing action", root, "iam", "us-east-1", iamFormType, form("Version", "2010-05-08"), 400, "MissingAction", "Missing Action", "Sender"},
		{"unknown action", root, "iam", "us-east-1", iamFormType, form("Action", "CreateLoginProfile"), 400, "InvalidAction", "Could not find operation CreateLoginProfile for version 2010-05-08", "Sender"},
		{"unknown STS action", root, "sts", "us-east-1", iamFormType, form("Action", "AssumeRoleWithSAML"), 400, "InvalidAction", "Could not find operation AssumeRoleWithSAML for version 2011-06-15", "Sender"},
		{"bad escape", root, "iam", "us-east-1", iamFormType, "Action=ListUsers&x=%zz", 400, "MalformedQueryString", "The request's parameters could not be decoded.", "Sender"},
		{"repeated parameter", root, "iam", "us-east-1", iamFormType, "Action=ListUsers&Action=ListRoles", 400, "MalformedQueryString", "The request's parameters could not be decoded.", "Sender"},
		{"JSON body", root, "iam", "us-east-1", "application/json", `{"Action":"ListUsers"}`, 400, "MalformedQueryString", "...", "Sender"},
		{"unsigned", iamCreds{}, "iam", "us-east-1", iamFormType, form("Action", "ListUsers"), 403, "MissingAuthenticationToken", "Missing Authentication Token", "Sender"},
		{"unknown key", iamCreds{"AKIAAAAAAAAAAAAAAAAA", "secretsecretsecretsecretsecretsecret0000", ""}, "iam", "us-east-1", iamFormType, form("Action", "ListUsers"),
			403, "InvalidClientTokenId", "The security token included in the request is invalid.", "Sender"},
		{"wrong secret", iamCreds{root.id, "secretsecretsecretsecretsecretsecret0000", ""}, "sts", "us-east-1", iamFormType, form("Action", "GetCallerIdentity"),
			403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided...", "Sender"},
		{"list gap", root, "iam", "us-east-1", iamFormType, form("Action", "UntagUser", "UserName", "wire", "TagKeys.member.2", "a"), 400, "ValidationError", "...", "Sender"},
		{"bad MaxItems", root, "iam", "us-east-1", iamFormType, form("Action", "ListUsers", "MaxItems", "lots"), 400, "ValidationError", "...", "Sender"},
		{"role without trust policy", root, "iam", "us-east-1", iamFormType, form("Action", "CreateRole", "RoleName", "r"), 400, "ValidationError",
			"1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null", "Sender"},
		{"user without name", root, "iam", "us-east-1", iamFormType, form("Action", "CreateUser"), 400, "ValidationError",
			"1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null", "Sender"},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			status, hdr, body := e.raw(c.creds, c.service, c.region, c.contentType, c.body, nil)
			if status != c.status {
				t.Errorf("status %d, want %d: %s", status, c.status, body)
			}
			var qe iamQueryError
			if err := xml.Unmarshal([]byte(body), &qe); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if qe.Error.Code != c.code || qe.Error.Type != c.fault || qe.RequestID != hdr.Get("X-Amzn-RequestId") {
				t.Errorf("error %+v, want %s/%s", qe, c.code, c.fault)
			}
			if prefix, ok := strings.CutSuffix(c.msg, "..."); ok {
				if !strings.HasPrefix(qe.Error.Message, prefix) {
					t.Errorf("message %q, want prefix %q", qe.Error.Message, prefix)
				}
			} else if qe.Error.Message != c.msg {
				t.Errorf("message %q, want %q", qe.Error.Message, c.msg)
			}
		})
	}

	t.Run("POST / for another service", func(t *testing.T) {
		status, hdr, body := e.raw(root, "lambda", "eu-west-1", "", "", nil)
		if status != 404 || hdr.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
			t.Fatalf("status %d %q: %s", status, hdr.Get("X-Amzn-ErrorType"), body)
		}
	})
	t.Run("Lambda keeps to the server's region", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/2015-03-31/functions/", nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(iamCtx, aws.Credentials{AccessKeyID: root.id, SecretAccessKey: root.secret}, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidSignatureException" {
			t.Fatalf("status %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})
	t.Run("Organizations errors are JSON", func(t *testing.T) {
		status, hdr, body := e.raw(root, "organizations", "us-east-1", "application/x-amz-json-1.1", "{}", map[string]string{"X-Amz-Target": "AWSOrganizationsV20161128.LeaveOrganization"})
		if status != 404 || hdr.Get("X-Amzn-ErrorType") != "UnknownOperationException" || !strings.Contains(body, `"__type":"UnknownOperationException"`) {
			t.Fatalf("status %d %q: %s", status, hdr.Get("X-Amzn-ErrorType"), body)
		}
	})
}
