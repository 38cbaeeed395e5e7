package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS runs a JetStream-enabled NATS server in the test process, on a
// random loopback port, until the test ends.
func startNATS(t *testing.T) *natsserver.Server {
	t.Helper()
	return startNATSAt(t, natsserver.RANDOM_PORT, t.TempDir())
}

// startNATSAt runs a JetStream-enabled NATS server on a given loopback port
// with its files in storeDir.
func startNATSAt(t *testing.T, port int, storeDir string) *natsserver.Server {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "e2e-nats",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   storeDir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		t.Fatal("nats server did not become ready")
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}

// TestExternalNATS runs two Cloister servers against one external JetStream
// server (--nats-url), as a cluster would: the first sets up the account and
// root key, both see the same functions, and nothing is stored in their data
// directories but the credentials and account id.
func TestExternalNATS(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	ns := startNATS(t)
	url := ns.ClientURL()
	first := startServer(t, serverOpts{args: []string{"--nats-url", url}})
	second := startServer(t, serverOpts{args: []string{"--nats-url", url}})
	if second.account != first.account {
		t.Errorf("servers sharing a NATS cluster have accounts %s and %s, want one", first.account, second.account)
	}
	for _, s := range []*server{first, second} {
		if _, err := os.Stat(filepath.Join(s.dataDir, "jetstream")); !os.IsNotExist(err) {
			t.Errorf("%s keeps JetStream files in its data directory although it uses an external server", s.dataDir)
		}
	}
	// Only the server that generated the key writes it out.
	if _, err := os.Stat(filepath.Join(second.dataDir, "credentials")); !os.IsNotExist(err) {
		t.Errorf("the second server wrote a credentials file (stat: %v)", err)
	}

	cli1 := newCLI(t, first)
	// The second server is reached with the first's credentials.
	cli2 := newCLIAt(t, awsV2Path, 2, second.endpoint, "AWS_REGION="+region,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(first.dataDir, "credentials"))
	p := makeZip(t, "over nats")
	const name = "nats-fn"

	var created fnConfig
	cli1.ok(t, &created, createArgs(name, first.account, p, "--tags", "via=nats")...)
	cli2.ok(t, nil, "lambda", "wait", "function-active-v2", "--function-name", name)
	var got getFunctionOut
	cli2.ok(t, &got, "lambda", "get-function", "--function-name", fnARN(second, name))
	if got.Configuration.CodeSha256 != p.sha || got.Configuration.RevisionId == "" || got.Tags["via"] != "nats" {
		t.Errorf("the second server sees %+v", got)
	}
	if b := download(t, got.Code.Location); !slices.Equal(b, p.data) {
		t.Error("the second server serves a different package")
	}
	var list listFunctionsOut
	cli1.ok(t, &list, "lambda", "list-functions")
	if len(list.Functions) != 1 || list.Functions[0].FunctionName != name {
		t.Errorf("list-functions: %+v", list.Functions)
	}
	cli2.ok(t, nil, "lambda", "delete-function", "--function-name", name)
	cli1.failWith(t, "ResourceNotFoundException", "Function not found: "+fnARN(first, name),
		"lambda", "get-function", "--function-name", name)

	first.stop()
	second.stop()

	// The state lives in the external server's key-value buckets.
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var buckets []string
	for name := range js.KeyValueStoreNames(ctx).Name() {
		buckets = append(buckets, name)
	}
	for _, want := range []string{"lambda_functions", "iam_access_keys"} {
		if !slices.Contains(buckets, want) {
			t.Errorf("the external server has buckets %q, want %s among them", buckets, want)
		}
	}
}

// TestExternalNATSUnreachable: with --nats-url pointing at nothing the
// server exits with an error instead of serving.
func TestExternalNATSUnreachable(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	url := ns.ClientURL()
	ns.Shutdown()
	ns.WaitForShutdown()
	s := launchServer(t, serverOpts{args: []string{"--nats-url", url}})
	if code := s.waitExit(failTimeout); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if out := s.output(); !strings.Contains(out, "cloister: store: connect to nats") {
		t.Errorf("output lacks the connection error:\n%s", out)
	}
}

// TestExternalNATSRestart: when the external NATS server goes away and comes
// back (a rolling restart of the cluster), Cloister reconnects on its own and
// serves the same state again.
func TestExternalNATSRestart(t *testing.T) {
	t.Parallel()
	requireCLI(t)
	storeDir := t.TempDir()
	ns := startNATSAt(t, natsserver.RANDOM_PORT, storeDir)
	port := ns.Addr().(*net.TCPAddr).Port
	srv := startServer(t, serverOpts{args: []string{"--nats-url", ns.ClientURL()}})
	cli := newCLI(t, srv)
	p := makeZip(t, "survives a nats restart")
	cli.ok(t, nil, createArgs("before", srv.account, p)...)
	cli.ok(t, nil, "lambda", "wait", "function-active-v2", "--function-name", "before")

	ns.Shutdown()
	ns.WaitForShutdown()
	startNATSAt(t, port, storeDir)

	// Reconnection takes a moment; then everything works as before.
	sdk := newSDK(t, srv, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		_, err := sdk.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("before")})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Cloister did not recover after the NATS server restarted: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var got getFunctionOut
	cli.ok(t, &got, "lambda", "get-function", "--function-name", "before")
	if got.Configuration.CodeSha256 != p.sha {
		t.Errorf("after the restart: %+v", got.Configuration)
	}
	if b := download(t, got.Code.Location); !slices.Equal(b, p.data) {
		t.Error("the package changed across the NATS restart")
	}
	cli.ok(t, nil, createArgs("after", srv.account, p)...)
	var list listFunctionsOut
	cli.ok(t, &list, "lambda", "list-functions")
	if len(list.Functions) != 2 {
		t.Errorf("list-functions after the restart: %+v, want before and after", list.Functions)
	}
}
