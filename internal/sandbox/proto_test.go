package sandbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sampleMessages() []message {
	return []message{
		{Kind: kindReady},
		{Kind: kindStart, Start: &startMsg{
			Args: []string{"/var/task/bootstrap"}, Env: []string{"A=b"}, Hostname: "localhost",
			TmpMB: 512, Listen: []string{"127.0.0.1:9001"}, Runtime: true, Opt: true, NProc: 1024,
		}},
		{Kind: kindListening, Listening: &listeningMsg{Listeners: 2}},
		{Kind: kindStarted, Started: &startedMsg{Pid: 9}},
		{Kind: kindExit, Exit: &exitMsg{Code: 3}},
		{Kind: kindExit, Exit: &exitMsg{Code: -1, Signal: 9}},
		{Kind: kindError, Error: "mount /tmp: EPERM"},
	}
}

func TestProtoRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		t.Run(m.Kind, func(t *testing.T) {
			b, err := encode(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode(b, m.fds())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(m, got, cmp.AllowUnexported(message{})); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProtoRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		fds  int
	}{
		{"not json", `hello`, 0},
		{"unknown kind", `{"kind":"root-me"}`, 0},
		{"unknown field", `{"kind":"ready","x":1}`, 0},
		{"trailing data", `{"kind":"ready"}{"kind":"ready"}`, 0},
		{"ready with payload", `{"kind":"ready","error":"x"}`, 0},
		{"ready with fds", `{"kind":"ready"}`, 1},
		{"start without payload", `{"kind":"start"}`, 3},
		{"start missing fds", `{"kind":"start","start":{"args":["/x"],"env":[],"hostname":"h","tmpMB":512,"listen":[],"runtime":false,"opt":false,"nproc":64}}`, 2},
		{"start relative argv0", `{"kind":"start","start":{"args":["x"],"env":[],"hostname":"h","tmpMB":512,"listen":[],"runtime":false,"opt":false,"nproc":64}}`, 3},
		{"start tmp too big", `{"kind":"start","start":{"args":["/x"],"env":[],"hostname":"h","tmpMB":99999,"listen":[],"runtime":false,"opt":false,"nproc":64}}`, 3},
		{"start external listen", `{"kind":"start","start":{"args":["/x"],"env":[],"hostname":"h","tmpMB":512,"listen":["0.0.0.0:1"],"runtime":false,"opt":false,"nproc":64}}`, 3},
		{"start nproc zero", `{"kind":"start","start":{"args":["/x"],"env":[],"hostname":"h","tmpMB":512,"listen":[],"runtime":false,"opt":false,"nproc":0}}`, 3},
		{"two payloads", `{"kind":"exit","exit":{"code":0,"signal":0},"error":"x"}`, 0},
		{"listening too many", `{"kind":"listening","listening":{"listeners":99}}`, 99},
		{"listening fd mismatch", `{"kind":"listening","listening":{"listeners":1}}`, 0},
		{"started pid zero", `{"kind":"started","started":{"pid":0}}`, 0},
		{"exit code and signal", `{"kind":"exit","exit":{"code":1,"signal":9}}`, 0},
		{"exit no code no signal", `{"kind":"exit","exit":{"code":-1,"signal":0}}`, 0},
		{"exit code out of range", `{"kind":"exit","exit":{"code":300,"signal":0}}`, 0},
		{"empty error", `{"kind":"error","error":""}`, 0},
		{"huge error", `{"kind":"error","error":"` + strings.Repeat("x", maxErrorText+1) + `"}`, 0},
		{"too large", `{"kind":"error","error":"` + strings.Repeat("x", maxMessage) + `"}`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decode([]byte(tc.in), tc.fds); !errors.Is(err, errProtocol) {
				t.Errorf("decode = %v, want a protocol error", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages() {
		b, err := encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(m.fds()))
	}
	f.Fuzz(func(t *testing.T, b []byte, nfds uint8) {
		m, err := decode(b, int(nfds))
		if err != nil {
			return
		}
		// Whatever decode accepts must be a message encode would produce.
		again, err := encode(m)
		if err != nil {
			t.Fatalf("accepted %q but cannot re-encode it: %v", b, err)
		}
		m2, err := decode(again, m.fds())
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", again, err)
		}
		if diff := cmp.Diff(m, m2, cmp.AllowUnexported(message{})); diff != "" {
			t.Fatalf("unstable round trip (-first +second):\n%s", diff)
		}
		if m.fds() != int(nfds) {
			t.Fatalf("accepted %d descriptors for a message that carries %d", nfds, m.fds())
		}
	})
}
