package runtimes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Family groups runtimes that start the same way.
type Family string

// The families Cloister can run.
const (
	FamilyProvided Family = "provided"
	FamilyPython   Family = "python"
	FamilyNodejs   Family = "nodejs"
)

// Paths inside the sandbox, where Lambda puts them.
const (
	// TaskRoot is where the function's code is mounted (LAMBDA_TASK_ROOT).
	TaskRoot = "/var/task"
	// RuntimeDir is where the directory Install returns is mounted
	// read-only (LAMBDA_RUNTIME_DIR).
	RuntimeDir = "/var/runtime"
	// OptDir is where layers are mounted.
	OptDir = "/opt"
)

// Entry points of the runtime clients, relative to the directory Install
// returns. They sit where AWS puts its own clients, so stack traces and
// Node.js "Require stack" lines read as they do on Lambda.
const (
	pythonClient = "bootstrap.py"
	nodeClient   = "index.mjs"
)

// Runtime is one runtime this host can run.
type Runtime struct {
	// Name is the Lambda runtime identifier, such as "python3.11".
	Name string
	// Family says how the runtime starts.
	Family Family
	// Command is the argv to execute inside the sandbox.
	Command []string
	// Interpreter is the host path of the interpreter, symlinks resolved
	// ("" for provided); the sandbox sees it at the same path through its
	// read-only /usr. Command[0] is the same path.
	Interpreter string
	// Env holds the runtime-specific variables Lambda sets ("KEY=value"),
	// to add to the function's environment. The general ones (_HANDLER,
	// LAMBDA_TASK_ROOT, AWS_LAMBDA_RUNTIME_API, ...) are the sandbox's.
	Env []string
}

// clone returns a deep copy, so a caller cannot change the catalogue.
func (r Runtime) clone() Runtime {
	r.Command = slices.Clone(r.Command)
	r.Env = slices.Clone(r.Env)
	return r
}

// Catalog is the set of runtimes this host can run. It is immutable and safe
// for concurrent use.
type Catalog struct {
	byName map[string]Runtime
}

// Lookup returns the runtime called name, if this host can run it.
func (c *Catalog) Lookup(name string) (Runtime, bool) {
	r, ok := c.byName[name]
	if !ok {
		return Runtime{}, false
	}
	return r.clone(), true
}

// Names returns the names of the runtimes this host can run, sorted.
func (c *Catalog) Names() []string {
	names := make([]string, 0, len(c.byName))
	for name := range c.byName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Minimum interpreter versions the runtime clients are written for.
const (
	minPythonMinor = 9
	minNodeMajor   = 18
)

// probeTimeout bounds each interpreter probe, so a wedged binary cannot
// stall start-up.
const probeTimeout = 10 * time.Second

// hostRoots are the host trees the sandbox binds read-only. An interpreter
// that resolves outside them would not exist inside the sandbox.
var hostRoots = []string{"/usr", "/lib", "/lib64", "/bin"}

// Discover finds the runtimes this host can really run: provided.al2023 and
// provided.al2 always; python3.X for each /usr/bin/python3.X that starts and
// imports what the client needs; nodejsNN.x for /usr/bin/node's major
// version. Only names in Known are offered, and only interpreters that
// resolve inside the trees the sandbox mounts. An interpreter that fails its
// probe is left out, not reported as an error.
func Discover() (*Catalog, error) {
	return discover(context.Background(), "/usr/bin", hostRoots)
}

func discover(ctx context.Context, binDir string, roots []string) (*Catalog, error) {
	c := &Catalog{byName: make(map[string]Runtime)}
	for _, name := range []string{"provided.al2023", "provided.al2"} {
		c.byName[name] = Runtime{
			Name:    name,
			Family:  FamilyProvided,
			Command: []string{TaskRoot + "/bootstrap"},
		}
	}

	entries, err := os.ReadDir(binDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("discover runtimes: %w", err)
	}
	for _, e := range entries {
		minor, ok := pythonMinorFromName(e.Name())
		if !ok || minor < minPythonMinor {
			continue
		}
		interp, ok := resolveInside(filepath.Join(binDir, e.Name()), roots)
		if !ok {
			continue
		}
		out, err := probe(ctx, interp, "-I", "-S", "-c",
			"import sys, json, http.client, logging, importlib, decimal, traceback;"+
				"sys.stdout.write('%d.%d' % sys.version_info[:2])")
		if err != nil {
			continue
		}
		major, gotMinor, err := parsePythonVersion(out)
		if err != nil || major != 3 || gotMinor != minor {
			continue
		}
		name := fmt.Sprintf("python3.%d", minor)
		if !isKnown(name) {
			continue
		}
		c.byName[name] = Runtime{
			Name:        name,
			Family:      FamilyPython,
			Command:     []string{interp, RuntimeDir + "/" + pythonClient},
			Interpreter: interp,
			Env:         []string{"AWS_EXECUTION_ENV=AWS_Lambda_" + name},
		}
	}

	if node, ok := resolveInside(filepath.Join(binDir, "node"), roots); ok {
		out, err := probe(ctx, node, "-e", "process.stdout.write(process.versions.node)")
		if err == nil {
			if major, err := parseNodeVersion(out); err == nil && major >= minNodeMajor {
				name := fmt.Sprintf("nodejs%d.x", major)
				if isKnown(name) {
					c.byName[name] = nodeRuntime(name, node, major)
				}
			}
		}
	}
	return c, nil
}

// nodeRuntime describes nodejsNN.x as Lambda starts it: the flags AWS's
// bootstrap passes that do not depend on the memory size, and NODE_PATH as
// Lambda sets it.
func nodeRuntime(name, interp string, major int) Runtime {
	nodePath := strings.Join([]string{
		fmt.Sprintf("%s/nodejs/node%d/node_modules", OptDir, major),
		OptDir + "/nodejs/node_modules",
		RuntimeDir + "/node_modules",
		RuntimeDir,
		TaskRoot,
	}, ":")
	return Runtime{
		Name:   name,
		Family: FamilyNodejs,
		Command: []string{interp, "--expose-gc", "--max-http-header-size=81920",
			RuntimeDir + "/" + nodeClient},
		Interpreter: interp,
		Env: []string{
			"AWS_EXECUTION_ENV=AWS_Lambda_" + name,
			"NODE_PATH=" + nodePath,
		},
	}
}

// pythonMinorFromName recognises "python3.N" file names.
func pythonMinorFromName(file string) (int, bool) {
	rest, ok := strings.CutPrefix(file, "python3.")
	if !ok || rest == "" || len(rest) > 3 {
		return 0, false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

// resolveInside resolves every symlink in path and reports the real path if
// it is a regular file under one of roots. Runtimes name the real path, so
// the sandbox needs none of the links, which may live outside its mounts
// (as /etc/alternatives does).
func resolveInside(path string, roots []string) (string, bool) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", false
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	for _, root := range roots {
		if rel, err := filepath.Rel(root, real); err == nil && filepath.IsLocal(rel) {
			return real, true
		}
	}
	return "", false
}

// maxProbeOutput bounds what a probe may print.
const maxProbeOutput = 4096

// probe runs an interpreter with a bounded time, an empty environment and
// bounded output, and returns its standard output.
func probe(ctx context.Context, interp string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, interp, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	cmd.Dir = "/"
	var out limitedBuffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("probe %s: %w", interp, err)
	}
	return out.Bytes(), nil
}

// limitedBuffer keeps the first maxProbeOutput bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxProbeOutput - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// parsePythonVersion parses the "MAJOR.MINOR" the Python probe prints.
func parsePythonVersion(out []byte) (major, minor int, err error) {
	s := strings.TrimSpace(string(out))
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, fmt.Errorf("parse python version %q: no dot", s)
	}
	if major, err = parseSmallUint(a); err != nil {
		return 0, 0, fmt.Errorf("parse python version %q: %w", s, err)
	}
	if minor, err = parseSmallUint(b); err != nil {
		return 0, 0, fmt.Errorf("parse python version %q: %w", s, err)
	}
	return major, minor, nil
}

// parseNodeVersion parses the "MAJOR.MINOR.PATCH" of process.versions.node
// (a leading "v", as `node --version` prints, is accepted) and returns the
// major version.
func parseNodeVersion(out []byte) (int, error) {
	s := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return 0, fmt.Errorf("parse node version %q: want MAJOR.MINOR.PATCH", s)
	}
	var major int
	for i, p := range parts {
		n, err := parseSmallUint(p)
		if err != nil {
			return 0, fmt.Errorf("parse node version %q: %w", s, err)
		}
		if i == 0 {
			major = n
		}
	}
	return major, nil
}

// parseSmallUint parses a decimal of 1 to 4 digits.
func parseSmallUint(s string) (int, error) {
	if s == "" || len(s) > 4 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("bad number %q", s)
		}
		n = n*10 + int(r-'0')
	}
	return n, nil
}
