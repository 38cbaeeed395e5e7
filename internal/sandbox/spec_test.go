package sandbox

import (
	"errors"
	"strings"
	"testing"
)

func validSpec() Spec {
	return Spec{
		ID:       "fn-1_a",
		Args:     []string{"/var/task/bootstrap", "--x"},
		Env:      []string{"AWS_REGION=eu-west-1", "EMPTY="},
		TaskDir:  "/data/fn/code",
		MemoryMB: 128,
		TmpMB:    512,
		Listen:   []string{"127.0.0.1:9001"},
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Spec)
		ok     bool
	}{
		{"valid", func(*Spec) {}, true},
		{"all options", func(s *Spec) {
			s.RuntimeDir, s.OptDir, s.Hostname = "/rt", "/opt/layers", "fn.example"
			s.Listen = append(s.Listen, "[::1]:9001", "127.9.9.9:80")
			s.MemoryMB, s.TmpMB = 10240, 10240
		}, true},
		{"no listeners", func(s *Spec) { s.Listen = nil }, true},
		{"empty id", func(s *Spec) { s.ID = "" }, false},
		{"id with slash", func(s *Spec) { s.ID = "a/b" }, false},
		{"id with dot", func(s *Spec) { s.ID = "a.b" }, false},
		{"id too long", func(s *Spec) { s.ID = strings.Repeat("a", 65) }, false},
		{"no args", func(s *Spec) { s.Args = nil }, false},
		{"relative argv0", func(s *Spec) { s.Args = []string{"bootstrap"} }, false},
		{"unclean argv0", func(s *Spec) { s.Args = []string{"/var/task/../../bin/sh"} }, false},
		{"nul in arg", func(s *Spec) { s.Args = append(s.Args, "a\x00b") }, false},
		{"too many args", func(s *Spec) { s.Args = append(s.Args, make([]string, maxArgs)...) }, false},
		{"env without equals", func(s *Spec) { s.Env = []string{"NOVALUE"} }, false},
		{"env empty key", func(s *Spec) { s.Env = []string{"=x"} }, false},
		{"env nul", func(s *Spec) { s.Env = []string{"A=b\x00c"} }, false},
		{"env too large", func(s *Spec) { s.Env = []string{"A=" + strings.Repeat("x", maxStrBytes)} }, false},
		{"no task dir", func(s *Spec) { s.TaskDir = "" }, false},
		{"relative task dir", func(s *Spec) { s.TaskDir = "code" }, false},
		{"relative runtime dir", func(s *Spec) { s.RuntimeDir = "rt" }, false},
		{"memory too small", func(s *Spec) { s.MemoryMB = 127 }, false},
		{"memory too large", func(s *Spec) { s.MemoryMB = 10241 }, false},
		{"tmp too small", func(s *Spec) { s.TmpMB = 511 }, false},
		{"tmp too large", func(s *Spec) { s.TmpMB = 10241 }, false},
		{"listen any", func(s *Spec) { s.Listen = []string{"0.0.0.0:9001"} }, false},
		{"listen external", func(s *Spec) { s.Listen = []string{"10.0.0.1:9001"} }, false},
		{"listen v6 any", func(s *Spec) { s.Listen = []string{"[::]:9001"} }, false},
		{"listen mapped", func(s *Spec) { s.Listen = []string{"[::ffff:127.0.0.1]:9001"} }, false},
		{"listen zone", func(s *Spec) { s.Listen = []string{"[::1%lo]:9001"} }, false},
		{"listen port zero", func(s *Spec) { s.Listen = []string{"127.0.0.1:0"} }, false},
		{"listen no port", func(s *Spec) { s.Listen = []string{"127.0.0.1"} }, false},
		{"listen name", func(s *Spec) { s.Listen = []string{"localhost:9001"} }, false},
		{"listen twice", func(s *Spec) { s.Listen = []string{"127.0.0.1:9001", "127.0.0.1:9001"} }, false},
		{"listen too many", func(s *Spec) {
			s.Listen = nil
			for i := range maxListeners + 1 {
				s.Listen = append(s.Listen, "127.0.0.1:"+string(rune('1'+i))+"000")
			}
		}, false},
		{"hostname with space", func(s *Spec) { s.Hostname = "a b" }, false},
		{"hostname leading dash", func(s *Spec) { s.Hostname = "-a" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.modify(&s)
			err := s.validate()
			if tc.ok && err != nil {
				t.Fatalf("validate: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("validate = %v, want ErrInvalidSpec", err)
			}
		})
	}
}

// TestSpecErrorsHideEnvironment: environment values are secrets and must
// never appear in an error (which may be logged).
func TestSpecErrorsHideEnvironment(t *testing.T) {
	for _, env := range [][]string{{"SUPERSECRETVALUE"}, {"K=SUPERSECRETVALUE\x00"}} {
		s := validSpec()
		s.Env = env
		err := s.validate()
		if err == nil || strings.Contains(err.Error(), "SUPERSECRET") {
			t.Errorf("validate(%q) = %v", env, err)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	var c Config
	if err := c.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if c.InitPath == "" || c.CgroupParent != "cloister" || c.PidsMax != 1024 || c.HostIDBase != 0 || c.MaxSandboxes != 4096 || c.Logger == nil {
		t.Errorf("defaults: %+v", c)
	}
	bad := []Config{
		{InitPath: "relative"},
		{PoolSize: -1},
		{PoolSize: 65},
		{PidsMax: 8},
		{HostIDBase: 1000},
		{HostIDBase: 0xffff0000},
		{MaxSandboxes: -1},
		{MaxSandboxes: 1<<15 + 1},
	}
	for _, c := range bad {
		if err := c.setDefaults(); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("setDefaults(%+v) = %v, want ErrInvalidSpec", c, err)
		}
	}
}

func TestCPUMillis(t *testing.T) {
	for mb, want := range map[int]int64{128: 72, 1769: 1000, 3538: 2000, 10240: 5788} {
		if got := cpuMillis(mb); got != want {
			t.Errorf("cpuMillis(%d) = %d, want %d", mb, got, want)
		}
	}
}

func TestIDRange(t *testing.T) {
	r := newIDRange(0x70000000, 3)
	seen := map[uint32]bool{}
	var slots []int
	for range 3 {
		s, ok := r.alloc()
		if !ok {
			t.Fatal("range exhausted early")
		}
		slots = append(slots, s)
		root, fn := r.hostIDs(s)
		if root < 0x70000000 || fn != root+1 || seen[root] || seen[fn] {
			t.Fatalf("slot %d maps to %d/%d", s, root, fn)
		}
		seen[root], seen[fn] = true, true
	}
	if _, ok := r.alloc(); ok {
		t.Fatal("allocated past the end of the range")
	}
	r.free(slots[1])
	if s, ok := r.alloc(); !ok || s != slots[1] {
		t.Fatalf("after free: %d %v, want %d", s, ok, slots[1])
	}
}
