package sandbox_test

import "testing"

func TestSmoke(t *testing.T) {
	m := manager(t, "nopool")
	r := runSpec(t, m, probeSpec("info"))
	t.Logf("exit %+v\nstdout %s\nstderr %s", r.exit, r.stdout, r.stderr)
}
