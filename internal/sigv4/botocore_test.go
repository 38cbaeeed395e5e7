package sigv4

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliV2 is the Debian awscli package's AWS CLI v2. An `aws` found on PATH
// may be a pyenv-installed v1 instead.
const cliV2 = "/usr/bin/aws"

const testARN = "arn:aws:lambda:us-east-1:123456789012:function:my-fn"

// requireCLIv2 skips only when the CLI is absent on a developer machine; CI
// installs awscli, so there a missing CLI is a failure.
func requireCLIv2(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(cliV2); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s not found and CI is unset: install the awscli package to run the botocore tests", cliV2)
		}
		t.Fatalf("CI is set but %s is missing (%v): CI must install the awscli package", cliV2, err)
	}
}

// interpreter reads the Python interpreter from the CLI's #! line: the
// one that can import its vendored botocore.
func interpreter(t *testing.T, script string) string {
	t.Helper()
	f, err := os.Open(script)
	if err != nil {
		t.Fatalf("open %s: %v", script, err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "#!") {
		t.Fatalf("%s has no #! line (%q, %v)", script, line, err)
	}
	return strings.Fields(strings.TrimPrefix(line, "#!"))[0]
}

type botoSpec struct {
	ID       string      `json:"id"`
	Method   string      `json:"method"`
	Segments []string    `json:"segments,omitempty"`
	RawPath  string      `json:"raw_path,omitempty"`
	Query    [][2]string `json:"query,omitempty"`
	Headers  [][2]string `json:"headers,omitempty"`
	BodyB64  string      `json:"body_b64,omitempty"`
	Presign  bool        `json:"presign,omitempty"`
	Expires  int         `json:"expires,omitempty"`
}

type botoJob struct {
	Endpoint  string     `json:"endpoint"`
	AccessKey string     `json:"access_key"`
	SecretKey string     `json:"secret_key"`
	Token     string     `json:"token"`
	Region    string     `json:"region"`
	ARN       string     `json:"arn"`
	Requests  []botoSpec `json:"requests"`
	Normalize []string   `json:"normalize"`
}

type botoReport struct {
	Flavor     string   `json:"flavor"`
	Normalized []string `json:"normalized"`
	Results    []struct {
		ID     string `json:"id"`
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"results"`
	Calls []struct {
		Name  string  `json:"name"`
		Error *string `json:"error"`
	} `json:"calls"`
}

// botoSpecs are fixed cases plus random ones: ARNs, unicode, spaces, '+',
// repeated query keys, repeated headers, bodies, the Date header, presigned.
func botoSpecs(rng *rand.Rand, n int) []botoSpec {
	specs := []botoSpec{
		{ID: "invoke ARN", Method: "POST", Segments: []string{"2015-03-31", "functions", testARN, "invocations"},
			Query: [][2]string{{"Qualifier", "$LATEST"}}, BodyB64: base64.StdEncoding.EncodeToString([]byte(`{"a":1}`))},
		{ID: "untag", Method: "DELETE", Segments: []string{"2017-03-31", "tags", testARN},
			Query: [][2]string{{"tagKeys", "b"}, {"tagKeys", "a"}, {"tagKeys", "a b"}, {"tagKeys", "é"}}},
		{ID: "dot segments", Method: "GET", RawPath: "/a/./b//c/../d/"},
		{ID: "date header", Method: "GET", Segments: []string{"x"}, Headers: [][2]string{{"Date", "placeholder"}}},
		{ID: "runs of spaces", Method: "PUT", Segments: []string{"x"}, Headers: [][2]string{{"X-Spaces", "a   b  c"}}},
		{ID: "presigned", Method: "GET", Segments: []string{"2015-03-31", "functions", testARN}, Presign: true, Expires: 300},
	}
	alphabet := []rune("abcXYZ019-_.~:/+=&%?#@$'()[] é✓日")
	str := func(max int) string {
		r := make([]rune, rng.IntN(max+1))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(r)
	}
	for i := range n {
		s := botoSpec{ID: "random " + strconv.Itoa(i), Method: []string{"GET", "POST", "PUT", "DELETE"}[rng.IntN(4)]}
		for range 1 + rng.IntN(3) {
			s.Segments = append(s.Segments, "s"+str(6))
		}
		for range rng.IntN(4) {
			s.Query = append(s.Query, [2]string{[]string{"k", "tagKeys", "a b", "é"}[rng.IntN(4)], str(5)})
		}
		for j := range rng.IntN(3) {
			s.Headers = append(s.Headers, [2]string{"X-Custom-" + strconv.Itoa(j), "v" + strings.Repeat(" ", rng.IntN(3)) + "w"})
		}
		if rng.IntN(2) == 0 {
			body := make([]byte, rng.IntN(200))
			for j := range body {
				body[j] = byte(rng.IntN(256))
			}
			s.BodyB64 = base64.StdEncoding.EncodeToString(body)
		}
		if rng.IntN(4) == 0 {
			// botocore's query signer moves a body into the query string,
			// which only works for form and JSON bodies.
			s.Presign, s.Expires, s.BodyB64 = true, 1+rng.IntN(3600), ""
		}
		specs = append(specs, s)
	}
	return specs
}

// runBotocore has python sign and send requests with botocore to a
// verifying server, and reports botocore's path normalisation.
func runBotocore(t *testing.T, python, wantFlavor string) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	token := ""
	if rng.IntN(2) == 0 {
		token = "IQoJb3JpZ2luX2VjE+/token=="
	}
	srv, requests := verifyingServer(t, map[string]string{testAKID: testSecret})
	job := botoJob{Endpoint: srv.URL, AccessKey: testAKID, SecretKey: testSecret, Token: token, Region: testRegion,
		ARN: testARN, Requests: botoSpecs(rng, 40),
		Normalize: []string{"", "/", "//", "/a/./b", "/a/../b", "/..", "/a/b/..", "/a/b/../", "/a//b/", "/x%3Ay/./z", "/é ✓"}}
	in, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "botocore_client.py"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() == 3 {
		t.Fatalf("%s cannot import botocore: %s", python, stderr.String())
	}
	if err != nil {
		t.Fatalf("%s testdata/botocore_client.py: %v\n%s", python, err, stderr.String())
	}
	var rep botoReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if wantFlavor != "" && rep.Flavor != wantFlavor {
		t.Fatalf("python used %s, want %s", rep.Flavor, wantFlavor)
	}

	for i, p := range job.Normalize {
		if got := string(appendEscapedPath(nil, appendNormalizedPath(nil, p))); got != rep.Normalized[i] {
			t.Errorf("canonical URI of %q: botocore %q, sigv4 %q", p, rep.Normalized[i], got)
		}
	}
	for _, r := range rep.Results {
		if r.Status != 200 {
			t.Errorf("%s: status %d: %s", r.ID, r.Status, r.Body)
		}
	}
	for _, c := range rep.Calls {
		if c.Error != nil {
			t.Errorf("botocore client %s: %s", c.Name, *c.Error)
		}
	}
	log := requests()
	if want := len(job.Requests) + len(rep.Calls); len(log) != want {
		t.Errorf("server saw %d requests, want %d", len(log), want)
	}
	arnOnWire := false
	for _, s := range log {
		if s.err != nil {
			t.Errorf("%s: %v", s.requestURI, s.err)
		}
		arnOnWire = arnOnWire || strings.Contains(s.requestURI, "arn%3Aaws%3Alambda%3Aus-east-1")
	}
	if !arnOnWire {
		t.Errorf("no request carried the ARN as %%3A on the wire")
	}
}

func TestBotocore(t *testing.T) {
	requireCLIv2(t)
	t.Run("AWS CLI v2 botocore", func(t *testing.T) {
		runBotocore(t, interpreter(t, cliV2), "awscli-v2")
	})
	t.Run("standalone botocore (AWS CLI v1)", func(t *testing.T) {
		// Only where one is installed (a pyenv AWS CLI v1, say); CI has the
		// Debian CLI v2 alone.
		python, err := exec.LookPath("python3")
		if err != nil || exec.Command(python, "-c", "import botocore").Run() != nil {
			t.Skip("no python3 on PATH with a standalone botocore")
		}
		runBotocore(t, python, "")
	})
}

// TestAWSCLI runs the real AWS CLI v2 against a verifying server.
func TestAWSCLI(t *testing.T) {
	requireCLIv2(t)
	srv, requests := verifyingServer(t, map[string]string{testAKID: testSecret})
	dir := t.TempDir()
	env := []string{
		"HOME=" + dir, "LANG=C.UTF-8", "AWS_ACCESS_KEY_ID=" + testAKID, "AWS_SECRET_ACCESS_KEY=" + testSecret,
		"AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjE+/token==", "AWS_CONFIG_FILE=" + filepath.Join(dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"), "AWS_MAX_ATTEMPTS=1", "AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	for _, args := range [][]string{
		{"lambda", "invoke", "--function-name", testARN, "--qualifier", "$LATEST", "--payload", `{"a": 1}`,
			"--cli-binary-format", "raw-in-base64-out", filepath.Join(dir, "out.json")},
		{"lambda", "untag-resource", "--resource", testARN, "--tag-keys", "b", "a b", "é"},
	} {
		t.Run(args[1], func(t *testing.T) {
			cmd := exec.Command(cliV2, append(args, "--endpoint-url", srv.URL, "--region", testRegion)...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
	log := requests()
	if len(log) != 2 {
		t.Fatalf("server saw %d requests, want 2", len(log))
	}
	for _, s := range log {
		if s.err != nil || !strings.Contains(s.requestURI, "arn%3Aaws%3Alambda") {
			t.Errorf("%s: %v", s.requestURI, s.err)
		}
	}
}
