package runtimes

import (
	"strings"
	"testing"
)

// BenchmarkPythonInvoke measures a warm invocation round trip through the
// Python client: /next, the handler, and the POSTed response.
func BenchmarkPythonInvoke(b *testing.B) {
	benchInvoke(b, FamilyPython, map[string]string{"app.py": "def handler(event, context):\n    return event\n"})
}

// BenchmarkNodeInvoke is BenchmarkPythonInvoke for the Node.js client.
func BenchmarkNodeInvoke(b *testing.B) {
	benchInvoke(b, FamilyNodejs, map[string]string{"app.js": "exports.handler = async (event) => event;\n"})
}

func benchInvoke(b *testing.B, fam Family, files map[string]string) {
	rt := runtimeFor(b, fam)
	for _, bc := range []struct {
		name    string
		payload string
	}{
		{"small", `"` + strings.Repeat("x", 64) + `"`},
		{"1MiB", `"` + strings.Repeat("x", 1<<20) + `"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := start(b, rt, clientSpec{files: files, handler: "app.handler"})
			h.response(bc.payload) // warm up: load the handler
			b.SetBytes(int64(2 * len(bc.payload)))
			b.ResetTimer()
			for b.Loop() {
				ev := h.invoke(invocation{Payload: bc.payload})
				if ev.Kind != "response" || len(ev.Body) != len(bc.payload) {
					b.Fatalf("got %s of %d bytes, want a %d-byte response", ev.Kind, len(ev.Body), len(bc.payload))
				}
			}
		})
	}
}
