package codezip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// benchPackage is a package of about 30 MB zipped: 6000 files in 100
// directories, a third incompressible (binaries, wheels) and the rest source
// text, like a Python or Node.js package with its dependencies.
var benchPackage = sync.OnceValue(func() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("def return import self class if else for in while async await const let function require module exports lambda handler event context true false none null")
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	w.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	body := make([]byte, 0, 16<<10)
	for i := range 6000 {
		body = body[:0]
		name := fmt.Sprintf("site-packages/pkg%02d/mod%04d.py", i%100, i)
		if i%3 == 0 {
			name = fmt.Sprintf("site-packages/pkg%02d/lib%04d.so", i%100, i)
			body = body[:12<<10]
			for j := range body {
				body[j] = byte(rng.Uint32())
			}
		} else {
			for len(body) < 8<<10 {
				body = append(body, words[rng.IntN(len(words))]...)
				body = append(body, " \n"[rng.IntN(2)])
			}
		}
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: fixedTime}
		h.SetMode(0o644)
		f, err := w.CreateHeader(h)
		if err != nil {
			panic(err)
		}
		f.Write(body)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

func BenchmarkValidate(b *testing.B) {
	data := benchPackage()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Validate(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	data := benchPackage()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		dest := filepath.Join(dir, fmt.Sprint(i))
		i++
		if err := Extract(data, dest, Limits{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dest); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
