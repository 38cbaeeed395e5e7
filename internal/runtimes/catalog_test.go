package runtimes

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"
)

func TestKnownMatchesSDK(t *testing.T) {
	var want []string
	for _, r := range types.Runtime("").Values() {
		want = append(want, string(r))
	}
	if diff := cmp.Diff(want, Known()); diff != "" {
		t.Errorf("Known() differs from aws-sdk-go-v2's Runtime enum (-sdk +ours):\n%s", diff)
	}
	k := Known()
	k[0] = "changed"
	if Known()[0] == "changed" {
		t.Error("Known returned its internal slice")
	}
}

func TestLifecycleTableNamesAreKnown(t *testing.T) {
	for name, l := range lifecycles {
		if !isKnown(name) {
			t.Errorf("lifecycle entry %q is not in the Runtime enum", name)
		}
		if l.updateBlock.Before(l.createBlock) {
			t.Errorf("%s: update block %v precedes create block %v", name, l.updateBlock, l.createBlock)
		}
	}
}

func TestDeprecation(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name          string
		runtime       string
		now           time.Time
		createBlocked bool
		updateBlocked bool
	}{
		{"go1.x after its create block", "go1.x", at("2026-11-20T00:00:00Z"), true, false},
		{"go1.x after its update block", "go1.x", at("2027-03-04T00:00:00Z"), true, true},
		{"python2.7 long gone", "python2.7", at("2026-01-01T00:00:00Z"), true, true},
		{"nodejs12.x long gone", "nodejs12.x", at("2026-01-01T00:00:00Z"), true, true},
		{"nodejs20.x before its create block", "nodejs20.x", at("2027-01-31T12:00:00Z"), false, false},
		// Phases start at midnight Pacific, 08:00 UTC in winter.
		{"nodejs20.x a minute before midnight Pacific", "nodejs20.x", at("2027-02-01T07:59:00Z"), false, false},
		{"nodejs20.x at midnight Pacific", "nodejs20.x", at("2027-02-01T08:00:00Z"), true, false},
		{"python3.11 has no block dates", "python3.11", at("2030-01-01T00:00:00Z"), false, false},
		{"provided.al2023 has no block dates", "provided.al2023", at("2030-01-01T00:00:00Z"), false, false},
		{"unknown runtime", "cobol85", at("2030-01-01T00:00:00Z"), false, false},
		{"empty name", "", at("2030-01-01T00:00:00Z"), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := createBlockedAt(tc.runtime, tc.now); got != tc.createBlocked {
				t.Errorf("createBlockedAt(%q, %v) = %v, want %v", tc.runtime, tc.now, got, tc.createBlocked)
			}
			if got := updateBlockedAt(tc.runtime, tc.now); got != tc.updateBlocked {
				t.Errorf("updateBlockedAt(%q, %v) = %v, want %v", tc.runtime, tc.now, got, tc.updateBlocked)
			}
		})
	}
	// The exported functions read the clock; these answers cannot change.
	for _, name := range []string{"go1.x", "python2.7", "nodejs12.x", "python3.6", "dotnetcore3.1"} {
		if !Deprecated(name) {
			t.Errorf("Deprecated(%q) = false", name)
		}
	}
	for _, name := range []string{"python2.7", "nodejs12.x"} {
		if !UpdateBlocked(name) {
			t.Errorf("UpdateBlocked(%q) = false", name)
		}
	}
	for _, name := range []string{"python3.13", "nodejs24.x", "provided.al2023", "nope"} {
		if Deprecated(name) || UpdateBlocked(name) {
			t.Errorf("%q reported as blocked", name)
		}
	}
}

// fakeBin writes executable shell scripts into a fresh directory.
func fakeBin(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDiscoverProbes(t *testing.T) {
	outside := fakeBin(t, map[string]string{"python3.10": "printf 3.10"})
	tests := []struct {
		name    string
		scripts map[string]string
		link    map[string]string // name -> target outside the roots
		want    []string
	}{
		{
			name: "working interpreters",
			scripts: map[string]string{
				"python3.12": "printf 3.12",
				"python3.13": "echo 3.13",
				"node":       "printf 20.11.1",
			},
			want: []string{"nodejs20.x", "provided.al2", "provided.al2023", "python3.12", "python3.13"},
		},
		{
			name: "broken, lying, too old and unknown interpreters are left out",
			scripts: map[string]string{
				"python3.11":        "exit 1",
				"python3.12":        "printf 3.11",
				"python3.8":         "printf 3.8",
				"python3.99":        "printf 3.99",
				"python3.11-config": "printf 3.11",
				"python3.":          "printf 3.",
				"node":              "printf 21.0.0",
			},
			want: []string{"provided.al2", "provided.al2023"},
		},
		{
			name:    "node too old",
			scripts: map[string]string{"node": "printf 16.20.2"},
			want:    []string{"provided.al2", "provided.al2023"},
		},
		{
			name:    "garbage version output",
			scripts: map[string]string{"python3.12": "printf 'Python 3.12.1'", "node": "printf v20"},
			want:    []string{"provided.al2", "provided.al2023"},
		},
		{
			name: "interpreter outside the mounted trees",
			link: map[string]string{"python3.10": filepath.Join(outside, "python3.10")},
			want: []string{"provided.al2", "provided.al2023"},
		},
		{
			name: "dangling symlink",
			link: map[string]string{"node": filepath.Join(outside, "missing")},
			want: []string{"provided.al2", "provided.al2023"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := fakeBin(t, tc.scripts)
			for name, target := range tc.link {
				if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
					t.Fatal(err)
				}
			}
			c, err := discover(context.Background(), bin, []string{bin})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.Names()); diff != "" {
				t.Errorf("Names() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscoverRuntimeShapes(t *testing.T) {
	bin := fakeBin(t, map[string]string{"python3.12": "printf 3.12", "node-22": "printf 22.3.0"})
	// node is a link, as with alternatives; the runtime names its target.
	if err := os.Symlink("node-22", filepath.Join(bin, "node")); err != nil {
		t.Fatal(err)
	}
	c, err := discover(context.Background(), bin, []string{bin})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Runtime{
		"provided.al2023": {Name: "provided.al2023", Family: FamilyProvided, Command: []string{"/var/task/bootstrap"}},
		"python3.12": {
			Name: "python3.12", Family: FamilyPython,
			Command:     []string{filepath.Join(bin, "python3.12"), "/var/runtime/bootstrap.py"},
			Interpreter: filepath.Join(bin, "python3.12"),
			Env:         []string{"AWS_EXECUTION_ENV=AWS_Lambda_python3.12"},
		},
		"nodejs22.x": {
			Name: "nodejs22.x", Family: FamilyNodejs,
			Command:     []string{filepath.Join(bin, "node-22"), "--expose-gc", "--max-http-header-size=81920", "/var/runtime/index.mjs"},
			Interpreter: filepath.Join(bin, "node-22"),
			Env: []string{
				"AWS_EXECUTION_ENV=AWS_Lambda_nodejs22.x",
				"NODE_PATH=/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task",
			},
		},
	}
	for name, w := range want {
		got, ok := c.Lookup(name)
		if !ok {
			t.Errorf("Lookup(%q) found nothing", name)
			continue
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("Lookup(%q) (-want +got):\n%s", name, diff)
		}
	}
	if _, ok := c.Lookup("python3.11"); ok {
		t.Error("Lookup(python3.11) found a runtime the host lacks")
	}

	// Lookup hands out copies.
	r, _ := c.Lookup("python3.12")
	r.Command[0] = "/tmp/evil"
	r.Env[0] = "X=1"
	again, _ := c.Lookup("python3.12")
	if again.Command[0] == "/tmp/evil" || again.Env[0] == "X=1" {
		t.Error("changing a looked-up Runtime changed the catalogue")
	}
	// The argv a runtime names must exist in the installed tree.
	inst := installForTests(t)
	for _, name := range c.Names() {
		rt, _ := c.Lookup(name)
		for _, a := range rt.Command {
			if rest, ok := cutPrefixPath(a, RuntimeDir); ok {
				if _, err := os.Stat(filepath.Join(inst, rest)); err != nil {
					t.Errorf("%s: command names %s, missing from the installed clients: %v", name, a, err)
				}
			}
		}
	}
}

func cutPrefixPath(p, dir string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || !filepath.IsLocal(rel) {
		return "", false
	}
	return rel, true
}

// TestDiscoverHost checks discovery on this machine's real interpreters.
func TestDiscoverHost(t *testing.T) {
	c, err := Discover()
	if err != nil {
		t.Fatal(err)
	}
	names := c.Names()
	for _, want := range []string{"provided.al2", "provided.al2023"} {
		if !slices.Contains(names, want) {
			t.Errorf("Discover() lacks %s: %v", want, names)
		}
	}
	if _, err := os.Stat("/usr/bin/python3.11"); err == nil && !slices.Contains(names, "python3.11") {
		t.Errorf("/usr/bin/python3.11 exists but Discover() = %v", names)
	}
	for _, name := range names {
		if !isKnown(name) {
			t.Errorf("Discover() offers %q, which is not in the Runtime enum", name)
		}
	}
	t.Logf("runtimes on this host: %v", names)
}

func TestParseVersions(t *testing.T) {
	py := []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"3.11", 3, 11, true},
		{"3.9\n", 3, 9, true},
		{"3", 0, 0, false},
		{"3.x", 0, 0, false},
		{"Python 3.11.2", 0, 0, false},
		{"3.11.2", 0, 0, false},
		{"", 0, 0, false},
		{"99999.1", 0, 0, false},
	}
	for _, tc := range py {
		t.Run("python "+tc.in, func(t *testing.T) {
			major, minor, err := parsePythonVersion([]byte(tc.in))
			if (err == nil) != tc.ok || major != tc.major || minor != tc.minor {
				t.Errorf("parsePythonVersion(%q) = %d, %d, %v", tc.in, major, minor, err)
			}
		})
	}
	node := []struct {
		in    string
		major int
		ok    bool
	}{
		{"20.20.2", 20, true},
		{"v22.1.0\n", 22, true},
		{"20.1", 0, false},
		{"20.1.0-pre", 0, false},
		{"v", 0, false},
		{"20..1", 0, false},
	}
	for _, tc := range node {
		t.Run("node "+tc.in, func(t *testing.T) {
			major, err := parseNodeVersion([]byte(tc.in))
			if (err == nil) != tc.ok || major != tc.major {
				t.Errorf("parseNodeVersion(%q) = %d, %v", tc.in, major, err)
			}
		})
	}
}
