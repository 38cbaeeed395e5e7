package invoke

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A function that makes a new SDK client per invocation leaves an idle
// keep-alive connection behind each time: the in-sandbox API must keep
// serving it past the connection cap, closing the longest-idle connections.
func TestInSandboxAPIEvictsIdleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el := &evictingListener{Listener: ln, max: 3, open: map[*trackedConn]bool{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}), ConnState: el.connState}
	go func() { _ = srv.Serve(el) }()
	defer srv.Close()

	url := "http://" + ln.Addr().String() + "/"
	var clients []*http.Client
	for i := 0; i < 3*maxAPIConns; i++ {
		// A new client each time, as such a function does; none is ever
		// closed.
		c := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
		clients = append(clients, c)
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("request %d: %q", i, b)
		}
		el.mu.Lock()
		n := len(el.open)
		el.mu.Unlock()
		if n > 3 {
			t.Fatalf("%d connections open, cap 3", n)
		}
	}
	// The newest client's connection is still usable.
	resp, err := clients[len(clients)-1].Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// At the cap with every connection busy, a new connection is refused at
// once rather than left hanging.
func TestInSandboxAPIRefusesWhenAllBusy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el := &evictingListener{Listener: ln, max: 2, open: map[*trackedConn]bool{}}
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}), ConnState: el.connState}
	go func() { _ = srv.Serve(el) }()
	defer srv.Close()
	defer close(release)

	url := "http://" + ln.Addr().String() + "/"
	for i := 0; i < 2; i++ {
		go func() {
			if resp, err := (&http.Client{Transport: &http.Transport{}}).Get(url); err == nil {
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		el.mu.Lock()
		n := len(el.open)
		el.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("busy connections never opened")
		}
		time.Sleep(time.Millisecond)
	}
	c := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	start := time.Now()
	if resp, err := c.Get(url); err == nil {
		resp.Body.Close()
		t.Fatal("a third connection was served while two requests were in flight at a cap of 2")
	}
	if time.Since(start) >= 5*time.Second {
		t.Fatal("the third connection hung instead of being refused")
	}
}
