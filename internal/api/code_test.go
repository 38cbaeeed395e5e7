package api_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// zipEntry is one entry of a hand-built archive.
type zipEntry struct {
	name, body string
	mode       fs.FileMode
}

// rawZip builds an archive whose entries are written exactly as given
// (archive/zip does not police names or link targets).
func rawZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		hdr.SetMode(e.mode)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// incompressibleZip is a stored (uncompressed) archive of about size bytes.
func incompressibleZip(t testing.TB, size int) []byte {
	t.Helper()
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(data)
	var buf bytes.Buffer
	buf.Grow(size + 1024)
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "blob", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// largeUnzippedZip is an honest archive that inflates to more than 250 MB:
// one compressible 4 MiB payload, deflated once and stored as 63 entries.
func largeUnzippedZip(t testing.TB) []byte {
	t.Helper()
	const size = 4 << 20
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < size; i += 1024 {
		data[i] = byte(rng.Uint32())
	}
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := crc32.ChecksumIEEE(data)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 63 {
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: fmt.Sprintf("part%02d", i), Method: zip.Deflate,
			CRC32: sum, CompressedSize64: uint64(comp.Len()), UncompressedSize64: size,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(comp.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDeploymentPackages(t *testing.T) {
	// Not parallel: this test is CPU-heavy and, run alongside the others
	// on a small machine, would starve their store requests.
	h := newHarness(t, harnessConfig{})
	ctx := context.Background()
	existing := fnName("pkg")
	h.createFunction(t, existing)
	// AWS's message; Cloister appends what is wrong in parentheses.
	unzip := "Could not unzip uploaded file. Please check your file, then try to upload again...."

	cases := []struct {
		what string
		zip  func(t testing.TB) []byte
		want apiErr
	}{
		{what: "not a zip", zip: func(testing.TB) []byte { return []byte("this is not a zip file") }, want: invalidParam(unzip)},
		{what: "empty", zip: func(testing.TB) []byte { return []byte{} }, want: invalidParam(unzip)},
		{what: "truncated zip", zip: func(t testing.TB) []byte { z := codeZip(t, "cut"); return z[:len(z)-10] }, want: invalidParam(unzip)},
		{what: "zip slip", zip: func(t testing.TB) []byte {
			return rawZip(t, zipEntry{"bootstrap", "#!/bin/sh\n", 0o755}, zipEntry{"../../etc/cron.d/evil", "* * * * * root sh\n", 0o644})
		}, want: invalidParam("The deployment package has an entry with an unsafe path. ...")},
		{what: "absolute path", zip: func(t testing.TB) []byte {
			return rawZip(t, zipEntry{"/etc/passwd", "root::0:0::/:/bin/sh\n", 0o644})
		}, want: invalidParam("The deployment package has an entry with an unsafe path. ...")},
		{what: "escaping symlink", zip: func(t testing.TB) []byte {
			return rawZip(t, zipEntry{"bootstrap", "#!/bin/sh\n", 0o755}, zipEntry{"passwd", "../../../etc/passwd", fs.ModeSymlink | 0o777})
		}, want: invalidParam("The deployment package has an unsafe symbolic link. ...")},
		{what: "absolute symlink", zip: func(t testing.TB) []byte {
			return rawZip(t, zipEntry{"root", "/", fs.ModeSymlink | 0o777})
		}, want: invalidParam("The deployment package has an unsafe symbolic link. ...")},
		{what: "unzipped over 250 MB", zip: largeUnzippedZip, want: invalidParam("Unzipped size must be smaller than 262144000 bytes")},
	}
	for _, c := range cases {
		t.Run(c.what, func(t *testing.T) {
			zip := c.zip(t)
			in := createInput(t, fnName("pkg-bad"))
			in.Code.ZipFile = zip
			_, err := h.client.CreateFunction(ctx, in)
			t.Run("CreateFunction", func(t *testing.T) { wantErr(t, err, c.want) })
			_, err = h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(existing), ZipFile: zip})
			t.Run("UpdateFunctionCode", func(t *testing.T) { wantErr(t, err, c.want) })
		})
	}

	t.Run("safe links and nested paths accepted", func(t *testing.T) {
		zip := rawZip(t,
			zipEntry{"bootstrap", "#!/bin/sh\n", 0o755},
			zipEntry{"lib/v1/mod.so", "binary", 0o644},
			zipEntry{"lib/current", "v1", fs.ModeSymlink | 0o777},
			zipEntry{"handler", "lib/current/mod.so", fs.ModeSymlink | 0o777},
		)
		out, err := h.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(existing), ZipFile: zip})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.CodeSha256) != codeSha256(zip) {
			t.Errorf("CodeSha256 = %q", aws.ToString(out.CodeSha256))
		}
		h.waitUpdated(t, existing)
	})

	t.Run("zipped over 50 MB", func(t *testing.T) {
		// Sent once, as the SDK would encode it but without the SDK's own
		// copies: a 70 MB body costs seconds of CPU under the race
		// detector. UpdateFunctionCode shares the check.
		zip := incompressibleZip(t, 52428800)
		if len(zip) <= 52428800 {
			t.Fatalf("package of %d bytes is not over the limit", len(zip))
		}
		var body bytes.Buffer
		body.WriteString(`{"FunctionName":"too-big","Runtime":"provided.al2023","Role":"` + testRole + `","Handler":"bootstrap","Code":{"ZipFile":"`)
		enc := base64.NewEncoder(base64.StdEncoding, &body)
		_, _ = enc.Write(zip)
		_ = enc.Close()
		body.WriteString(`"}}`)
		r := h.do(t, h.rootSigner(), http.MethodPost, "/2015-03-31/functions", body.Bytes())
		wantRawErr(t, r, apiErr{413, "RequestEntityTooLargeException", "Zipped size must be smaller than 52428800 bytes"})
	})

	t.Run("request over 70167211 bytes", func(t *testing.T) {
		// The server refuses by Content-Length before reading the body, so
		// the body need not exist: an endless reader stands in for it.
		const size = 70167212
		req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/2015-03-31/functions", io.LimitReader(zeroReader{}, size))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		creds := aws.Credentials{AccessKeyID: h.key.AccessKeyID, SecretAccessKey: h.key.Secret.Reveal()}
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "lambda", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		wantRawErr(t, send(t, h, req), apiErr{413, "RequestEntityTooLargeException", "Request must be smaller than 70167211 bytes for the CreateFunction operation"})
	})

	t.Run("function unchanged", func(t *testing.T) {
		out, err := h.client.ListFunctions(ctx, &lambda.ListFunctionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Functions) != 1 {
			t.Errorf("%d functions exist after refused packages, want 1", len(out.Functions))
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
