// Package fnbuild builds the Go functions the data plane's tests run: a
// package compiled statically for provided.al2023 and zipped as bootstrap,
// as a Lambda deployment package is. Only tests import it.
package fnbuild

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Zip compiles the Go package at pkgDir (relative to the working directory,
// for example "./testdata/probe") without cgo and returns a zip holding
// the binary as an executable "bootstrap".
func Zip(pkgDir string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "fnbuild-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, pkgDir)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %v\n%s", pkgDir, err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return ZipBootstrap(data)
}

// ZipBootstrap returns a zip holding data as an executable "bootstrap".
func ZipBootstrap(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
