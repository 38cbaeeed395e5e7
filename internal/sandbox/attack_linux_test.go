package sandbox_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cloister/cloister/internal/sandbox"
)

// bystander is a sandbox that plays a Lambda runtime (fetch an event,
// post the response) while attacks run next to it.
type bystander struct {
	s         *sandbox.Sandbox
	events    chan string
	responses chan string
}

func startBystander(t *testing.T, m *sandbox.Manager) *bystander {
	t.Helper()
	spec := probeSpec("heartbeat", "http://127.0.0.1:9001")
	spec.Listen = []string{"127.0.0.1:9001"}
	s, _, _ := startSpec(t, m, spec)
	b := &bystander{s: s, events: make(chan string), responses: make(chan string)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case ev := <-b.events:
			io.WriteString(w, ev)
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /response", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case b.responses <- string(body):
		case <-time.After(30 * time.Second):
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(s.Listeners()[0])
	t.Cleanup(func() { srv.Close() })
	return b
}

// invoke sends one event through the bystander and checks the echo.
func (b *bystander) invoke(t *testing.T, payload string) {
	t.Helper()
	select {
	case b.events <- payload:
	case <-b.s.Done():
		t.Fatalf("bystander died: %+v", b.s.Wait())
	case <-time.After(30 * time.Second):
		t.Fatal("bystander did not ask for an event")
	}
	select {
	case got := <-b.responses:
		if got != payload {
			t.Fatalf("bystander answered %q, want %q", got, payload)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("bystander did not answer")
	}
}

// hostWitness is host state that no attack may disturb: a TCP listener on
// the host's loopback, an abstract unix socket, a secret data directory and
// an unrelated host process.
type hostWitness struct {
	tcp      net.Listener
	unixAddr string
	dataDir  string
	sleeper  *exec.Cmd
	accepted [2]atomic.Int64 // connections accepted on tcp, unix
	checks   int64           // of which check made this many, on tcp
}

func newHostWitness(t *testing.T) *hostWitness {
	t.Helper()
	w := &hostWitness{}
	var err error
	if w.tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	w.unixAddr = fmt.Sprintf("@cloister-test-%d", os.Getpid())
	ul, err := net.Listen("unix", w.unixAddr)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range []net.Listener{w.tcp, ul} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				w.accepted[i].Add(1)
				c.Close()
			}
		}()
	}
	w.dataDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(w.dataDir, "secret"), []byte("s3cr3t"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.sleeper = exec.Command("sleep", "3600")
	if err := w.sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.tcp.Close()
		ul.Close()
		w.sleeper.Process.Kill()
		w.sleeper.Wait()
	})
	return w
}

// check asserts the host is unharmed.
func (w *hostWitness) check(t *testing.T) {
	t.Helper()
	if err := w.sleeper.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("host process died: %v", err)
	}
	w.checks++
	c, err := net.Dial("tcp", w.tcp.Addr().String())
	if err != nil {
		t.Errorf("host listener unusable: %v", err)
	} else {
		c.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); w.accepted[0].Load() < w.checks && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if b, err := os.ReadFile(filepath.Join(w.dataDir, "secret")); err != nil || string(b) != "s3cr3t" {
		t.Errorf("host data changed: %q %v", b, err)
	}
	f, err := os.CreateTemp("", "cloister-witness-")
	if err != nil {
		t.Errorf("host cannot create files: %v", err)
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	if n := w.accepted[0].Load() - w.checks + w.accepted[1].Load(); n != 0 {
		t.Errorf("%d connections reached host sockets from elsewhere", n)
	}
}

type attackResult struct {
	Contained bool
	Detail    string
}

// TestAttacks runs each attack in its own sandbox, next to a bystander
// sandbox, and checks after each that the attack was contained, the
// bystander still serves events and the host is unharmed.
func TestAttacks(t *testing.T) {
	m := manager(t, "pool")
	by := startBystander(t, m)
	host := newHostWitness(t)
	by.invoke(t, "warm-up")

	// A System V shared memory segment on the host: IPC namespaces hide it.
	const shmKey = 0x434c5354
	shm, err := unix.SysvShmGet(shmKey, 4096, unix.IPC_CREAT|0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.SysvShmCtl(shm, unix.IPC_RMID, nil)

	// A neighbour with a file in its /tmp, for the cross-sandbox check.
	marker := fmt.Sprintf("marker-%d", os.Getpid())
	nb, nbOut, _ := startSpec(t, m, probeSpec("touchtmp", marker))
	if line := readLine(t, nbOut); line != "ok\n" {
		t.Fatalf("neighbour said %q", line)
	}

	tests := []struct {
		name string
		args []string
	}{
		{"setuid and capabilities", []string{"setuid"}},
		{"capset and status", []string{"capset"}},
		{"mount", []string{"mount"}},
		{"namespaces and chroot", []string{"namespaces"}},
		{"clone3", []string{"clone3"}},
		{"kernel interfaces", []string{"kernel"}},
		{"raw and exotic sockets", []string{"sockets"}},
		{"writes", []string{"writes"}},
		{"reads", []string{"reads"}},
		{"host paths", []string{"hostpaths", host.dataDir, probeDir, os.TempDir() + "/cloister-probe-x"}},
		{"host network", []string{"network", host.tcp.Addr().String(), host.unixAddr}},
		{"kill every pid", []string{"killall"}},
		{"leaked fds", []string{"fds"}},
		{"only own pids", []string{"pids"}},
		{"neighbour tmp", []string{"tmpabsent", marker}},
		{"host ipc", []string{"ipc", fmt.Sprint(shmKey)}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runSpec(t, m, probeSpec(append([]string{"attack"}, tc.args...)...))
			var res attackResult
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("probe output %q (stderr %q, exit %+v): %v", r.stdout, r.stderr, r.exit, err)
			}
			if !res.Contained {
				t.Errorf("NOT CONTAINED: %s", res.Detail)
			} else {
				t.Logf("contained: %s", res.Detail)
			}
			if r.exit != (sandbox.Exit{}) {
				t.Errorf("attacker exit %+v", r.exit)
			}
			by.invoke(t, fmt.Sprintf("event-%d", i))
			host.check(t)
		})
	}
	select {
	case <-nb.Done():
		t.Errorf("neighbour died: %+v", nb.Wait())
	default:
	}

	t.Run("fork bomb", func(t *testing.T) {
		pm := manager(t, "pids") // PidsMax 48
		r := runSpec(t, pm, probeSpec("forkbomb"))
		var res struct {
			Started int
			Error   string
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("probe output %q (stderr %q, exit %+v): %v", r.stdout, r.stderr, r.exit, err)
		}
		if res.Started >= 48 || !strings.Contains(res.Error, "resource temporarily unavailable") {
			t.Errorf("started %d processes (%s) under pids.max 48", res.Started, res.Error)
		}
		t.Logf("fork bomb stopped after %d processes: %s", res.Started, res.Error)
		by.invoke(t, "after fork bomb")
		host.check(t)
	})
	t.Run("memory exhaustion", func(t *testing.T) {
		spec := probeSpec("alloc", "2048")
		spec.MemoryMB = 128
		r := runSpec(t, m, spec)
		if !r.exit.OOMKilled || strings.Contains(r.stdout, "allocated") {
			t.Errorf("exit %+v stdout %q: want an OOM kill inside 128 MiB", r.exit, r.stdout)
		}
		by.invoke(t, "after memory exhaustion")
		host.check(t)
	})
	t.Run("tmp exhaustion", func(t *testing.T) {
		spec := probeSpec("filltmp")
		spec.MemoryMB = 1024 // /tmp pages count against memory: leave room
		r := runSpec(t, m, spec)
		var res struct {
			Bytes int64
			Errno string
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("probe output %q (stderr %q, exit %+v): %v", r.stdout, r.stderr, r.exit, err)
		}
		if res.Errno != "ENOSPC" || res.Bytes != 512<<20 {
			t.Errorf("filled %d bytes, stopped with %s; want ENOSPC at %d", res.Bytes, res.Errno, 512<<20)
		}
		by.invoke(t, "after tmp exhaustion")
		host.check(t)
	})
	t.Run("foreign architecture syscall", func(t *testing.T) {
		r := runSpec(t, m, probeSpec("int80"))
		if strings.Contains(r.stdout, "no int80") {
			t.Skip("int 0x80 exists only on amd64")
		}
		if r.exit.Signal != syscall.SIGSYS || strings.Contains(r.stdout, "returned") {
			t.Errorf("exit %+v stdout %q: want SIGSYS before int 0x80 returns", r.exit, r.stdout)
		}
		by.invoke(t, "after int80")
		host.check(t)
	})
}
