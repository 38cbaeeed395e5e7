package sandbox

import (
	"errors"
	"os"
	"testing"
)

func TestClaimIDRange(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("host id locks live in /run/cloister, which needs root; CI runs as root")
	}
	// Far from the default so that concurrently running managers do not
	// interfere.
	const base = 0x7f000000
	a, la, err := claimIDRange(base, true)
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	b, lb, err := claimIDRange(base, true)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	if a == b || (a < b && a+idUnit > b) || (b < a && b+idUnit > a) {
		t.Fatalf("overlapping ranges %#x and %#x", a, b)
	}
	if _, _, err := claimIDRange(a, false); !errors.Is(err, ErrCapacity) {
		t.Fatalf("claiming a held range: %v, want ErrCapacity", err)
	}
	la.Close()
	c, lc, err := claimIDRange(a, false)
	if err != nil || c != a {
		t.Fatalf("reclaiming a released range: %#x %v", c, err)
	}
	lc.Close()
}
