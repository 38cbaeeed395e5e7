package invoke

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloister/cloister/internal/functions"
)

// PrepareLayers readies the /opt directory of a function of account naming
// these layers ahead of its first invocation (the functions service calls
// it before the function turns Active or its update Successful).
func (s *Service) PrepareLayers(ctx context.Context, account string, layers []functions.Layer) error {
	_, err := s.ensureOpt(ctx, account, layers)
	return err
}

// ensureOpt returns the directory to mount at /opt for a function's layers
// ("" when it has none): a layer's unpacked package as it is, or for several
// a merged tree in the code cache, built once per ordered list of packages.
// As in Lambda, later layers' files replace earlier ones'. Layer versions
// deleted since the function named them still resolve. A layer version's
// content never changes, so the answer for a list is kept in memory: a cold
// start after PrepareLayers costs one map lookup and one stat.
func (s *Service) ensureOpt(ctx context.Context, account string, layers []functions.Layer) (string, error) {
	if len(layers) == 0 {
		return "", nil
	}
	arns := make([]string, len(layers))
	for i, l := range layers {
		arns[i] = l.Arn
	}
	memo := account + "\n" + strings.Join(arns, "\n")
	if v, ok := s.optDirs.Load(memo); ok {
		if _, err := os.Stat(v.(string)); err == nil {
			return v.(string), nil
		}
	}
	resolved, err := s.cfg.Functions.ResolveLayers(ctx, account, arns, true)
	if err != nil {
		return "", fmt.Errorf("invoke: layers: %w", err)
	}
	dirs := make([]string, len(resolved))
	h := sha256.New()
	for i, l := range resolved {
		if dirs[i], err = s.ensureCode(ctx, l.CodeHash, nil); err != nil {
			return "", err
		}
		io.WriteString(h, l.CodeHash+"\n")
	}
	dir := dirs[0]
	if len(dirs) > 1 {
		dir, err = s.cached("opt-"+hex.EncodeToString(h.Sum(nil)), func(dir string) error {
			return mergeLayers(dirs, dir)
		})
		if err != nil {
			return "", err
		}
	}
	s.optDirs.Store(memo, dir)
	return dir, nil
}

// mergeLayers builds dir from the trees in dirs, in order, beside it and
// renamed into place once complete.
func mergeLayers(dirs []string, dir string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".opt-")
	if err != nil {
		return fmt.Errorf("invoke: merge layers: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing is left there after the rename
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("invoke: merge layers: %w", err)
	}
	for _, d := range dirs {
		if err := mergeTree(d, tmp); err != nil {
			return fmt.Errorf("invoke: merge layers: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("invoke: merge layers: %w", err)
	}
	return nil
}

// mergeTree copies the tree at src over dst: directories merge, anything
// else replaces what dst has at that path. Files are hard links into the
// read-only package cache (same file system), symbolic links are recreated.
func mergeTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == src {
			return err
		}
		target := filepath.Join(dst, strings.TrimPrefix(p, src))
		if d.IsDir() {
			if fi, err := os.Lstat(target); err == nil && fi.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if err := os.RemoveAll(target); err != nil {
				return err
			}
			return os.Mkdir(target, info.Mode().Perm())
		}
		if err := os.RemoveAll(target); err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return os.Link(p, target)
		}
		return fmt.Errorf("%s is neither a file, a directory nor a link", p)
	})
}
