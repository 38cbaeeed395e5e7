package cgroup

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []mount
		wantErr bool
	}{
		{
			name: "hybrid host",
			in: "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
				"32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n" +
				"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n",
			want: []mount{
				{point: "/sys/fs/cgroup/memory", fsType: "cgroup", superOpts: []string{"rw", "memory"}},
				{point: "/sys/fs/cgroup/cpu,cpuacct", fsType: "cgroup", superOpts: []string{"rw", "cpu", "cpuacct"}},
				{point: "/sys/fs/cgroup/unified", fsType: "cgroup2", superOpts: []string{"rw", "nsdelegate"}},
			},
		},
		{
			name: "several optional fields and escapes",
			in:   `36 35 98:0 /mnt1 /mnt\040two\134x rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue`,
			want: []mount{{point: `/mnt two\x`, fsType: "ext3", superOpts: []string{"rw", "errors=continue"}}},
		},
		{name: "blank lines skipped", in: "\n\n", want: nil},
		{name: "no separator", in: "36 35 98:0 / /mnt rw shared:1 ext3 /dev/root rw", wantErr: true},
		{name: "too short", in: "36 35 98:0 / /mnt rw -", wantErr: true},
		{name: "truncated escape", in: `36 35 98:0 / /mnt\04 rw - ext3 /dev/root rw`, wantErr: true},
		{name: "bad escape digit", in: `36 35 98:0 / /mnt\089 rw - ext3 /dev/root rw`, wantErr: true},
		{name: "escape out of range", in: `36 35 98:0 / /mnt\777 rw - ext3 /dev/root rw`, wantErr: true},
		{name: "relative point", in: "36 35 98:0 / mnt rw - ext3 /dev/root rw", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMountinfo(strings.NewReader(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(mount{})); diff != "" && !tc.wantErr {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n")
	f.Add(`36 35 98:0 /mnt1 /mnt\040two rw,noatime master:1 - ext3 /dev/root rw,errors=continue`)
	f.Fuzz(func(t *testing.T, in string) {
		mounts, err := parseMountinfo(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, m := range mounts {
			if !strings.HasPrefix(m.point, "/") || m.fsType == "" && len(m.superOpts) == 0 {
				t.Fatalf("parsed invalid mount %+v", m)
			}
		}
	})
}
