package logs

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

func msgs(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Message
	}
	return out
}

func TestStoreKeepsNewestWithinBytes(t *testing.T) {
	s := NewStore(100)
	for i := 0; i < 1000; i++ {
		s.Append("111111111111", "/aws/lambda/f", Event{Time: time.Unix(int64(i), 0), Message: fmt.Sprintf("line-%04d", i)})
		r := s.groups[groupKey("111111111111", "/aws/lambda/f")]
		total := 0
		for _, e := range r.live() {
			total += len(e.Message)
		}
		if total != r.bytes || total > 100 {
			t.Fatalf("after %d appends: %d bytes counted, %d live, cap 100", i+1, r.bytes, total)
		}
	}
	got := msgs(s.Read("111111111111", "/aws/lambda/f", "", 1000))
	// Nine-byte messages: the newest 11 fit in 100 bytes.
	if len(got) != 11 || got[0] != "line-0989" || got[10] != "line-0999" {
		t.Fatalf("kept %v", got)
	}
}

func TestStoreReadLimitFilterAndAccounts(t *testing.T) {
	s := NewStore(1 << 20)
	for i := 0; i < 10; i++ {
		s.Append("111111111111", "/aws/lambda/f", Event{Message: "a" + strconv.Itoa(i)})
		if i%2 == 0 {
			s.Append("111111111111", "/aws/lambda/f", Event{Message: "match" + strconv.Itoa(i)})
		}
	}
	if got := msgs(s.Read("111111111111", "/aws/lambda/f", "", 3)); fmt.Sprint(got) != "[a8 match8 a9]" {
		t.Fatalf("newest 3, oldest first: %v", got)
	}
	if got := msgs(s.Read("111111111111", "/aws/lambda/f", "match", 2)); fmt.Sprint(got) != "[match6 match8]" {
		t.Fatalf("filtered: %v", got)
	}
	if got := s.Read("222222222222", "/aws/lambda/f", "", 10); len(got) != 0 {
		t.Fatalf("another account's group is separate: %v", got)
	}
	s.Delete("111111111111", "/aws/lambda/f")
	if got := s.Read("111111111111", "/aws/lambda/f", "", 10); len(got) != 0 {
		t.Fatalf("deleted group still has %v", got)
	}
}

// BenchmarkAppendFull appends an invocation's worth of lines to a group that
// is already at its byte cap, as every invocation of a busy function does.
func BenchmarkAppendFull(b *testing.B) {
	s := NewStore(5 << 20)
	ev := []Event{{Message: "START RequestId: 0123456789abcdef Version: $LATEST"}, {Message: "some output line of the function"},
		{Message: "END RequestId: 0123456789abcdef"}, {Message: "REPORT RequestId: 0123456789abcdef\tDuration: 0.41 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 12 MB\t"}}
	for i := 0; i < 2*(5<<20)/150; i++ { // twice what fits: the ring is full
		s.Append("111111111111", "g", ev...)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Append("111111111111", "g", ev...)
	}
}
