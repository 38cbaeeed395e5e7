package runtimes

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParsePythonVersion(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		major, minor, err := parsePythonVersion(data)
		if err != nil {
			return
		}
		a, b, ok := strings.Cut(strings.TrimSpace(string(data)), ".")
		if !ok || !allDigits(a) || !allDigits(b) {
			t.Fatalf("parsePythonVersion(%q) accepted a non MAJOR.MINOR input", data)
		}
		if n, _ := strconv.Atoi(a); n != major {
			t.Fatalf("major = %d, input %q", major, data)
		}
		if n, _ := strconv.Atoi(b); n != minor {
			t.Fatalf("minor = %d, input %q", minor, data)
		}
	})
}

func FuzzParseNodeVersion(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		major, err := parseNodeVersion(data)
		if err != nil {
			return
		}
		parts := strings.Split(strings.TrimPrefix(strings.TrimSpace(string(data)), "v"), ".")
		if len(parts) != 3 {
			t.Fatalf("parseNodeVersion(%q) accepted %d parts", data, len(parts))
		}
		for _, p := range parts {
			if !allDigits(p) || len(p) > 4 {
				t.Fatalf("parseNodeVersion(%q) accepted part %q", data, p)
			}
		}
		if n, _ := strconv.Atoi(parts[0]); n != major {
			t.Fatalf("major = %d, input %q", major, data)
		}
	})
}

func FuzzPythonMinorFromName(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		minor, ok := pythonMinorFromName(name)
		if !ok {
			return
		}
		rest, found := strings.CutPrefix(name, "python3.")
		if !found || !allDigits(rest) || len(rest) > 3 {
			t.Fatalf("pythonMinorFromName(%q) accepted it", name)
		}
		if n, _ := strconv.Atoi(rest); n != minor {
			t.Fatalf("minor = %d for %q", minor, name)
		}
	})
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// The runtime clients parse bytes from outside: the Runtime API's headers
// and the event payload. These fuzzers feed them through one long-lived
// client per fuzzing process and require that every invocation gets exactly
// one well-formed report, addressed to the right request, and that the
// client survives.

func FuzzPythonInvoke(f *testing.F) {
	fuzzClient(f, FamilyPython, map[string]string{"app.py": `def handler(event, context):
    return {"id": context.aws_request_id, "rem": context.get_remaining_time_in_millis(),
            "cc": type(context.client_context).__name__,
            "who": context.identity.cognito_identity_id, "ev": type(event).__name__}
`})
}

func FuzzNodeInvoke(f *testing.F) {
	fuzzClient(f, FamilyNodejs, map[string]string{"app.js": `exports.handler = async (event, context) => ({
  id: context.awsRequestId, rem: context.getRemainingTimeInMillis(),
  cc: context.clientContext ?? null, who: context.identity ?? null, ev: typeof event,
});
`})
}

func fuzzClient(f *testing.F, fam Family, files map[string]string) {
	rt := runtimeFor(f, fam)
	h := start(f, rt, clientSpec{files: files, handler: "app.handler"})
	f.Fuzz(func(t *testing.T, id string, payload []byte, clientContext, cognito string, deadlineMs int64) {
		if id == "" || !headerSafe(id) {
			t.Skip("the Runtime API only sends printable ASCII request IDs")
		}
		if !headerSafe(clientContext) {
			clientContext = ""
		}
		if !headerSafe(cognito) {
			cognito = ""
		}
		h.send(invocation{
			ID:            id,
			Payload:       string(payload),
			ClientContext: clientContext,
			Cognito:       cognito,
			Deadline:      time.UnixMilli(deadlineMs),
		})
		ev := h.eventFor(t)
		if ev.ID != id {
			t.Fatalf("report %s %q is for request %q, want %q", ev.Kind, ev.Body, ev.ID, id)
		}
		var body map[string]any
		if err := json.Unmarshal(ev.Body, &body); err != nil {
			t.Fatalf("%s body %q is not a JSON object: %v", ev.Kind, ev.Body, err)
		}
		switch ev.Kind {
		case "response":
			if body["id"] != id {
				t.Fatalf("handler saw request ID %v, want %q", body["id"], id)
			}
		case "error":
			typ, _ := body["errorType"].(string)
			if typ == "" || ev.ErrorType == "" {
				t.Fatalf("error report without a type: %q (header %q)", ev.Body, ev.ErrorType)
			}
		default:
			t.Fatalf("unexpected %s report %q", ev.Kind, ev.Body)
		}
	})
}

// headerSafe reports whether s can travel unchanged as a header value.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return strings.TrimSpace(s) == s
}
