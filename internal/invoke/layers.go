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
	"sync"

	"github.com/cloister/cloister/internal/arn"
	"github.com/cloister/cloister/internal/functions"
)

// ensureOpt returns the directory to mount at /opt for a function's layers
// ("" when it has none): a layer's unpacked package as it is, or for several
// a merged tree in the code cache, built once per ordered list of packages.
// As in Lambda, later layers' files replace earlier ones'. Layer versions
// deleted since the function named them still resolve.
func (s *Service) ensureOpt(ctx context.Context, fn *functions.Function) (string, error) {
	if len(fn.Config.Layers) == 0 {
		return "", nil
	}
	arns := make([]string, len(fn.Config.Layers))
	for i, l := range fn.Config.Layers {
		arns[i] = l.Arn
	}
	layers, err := s.cfg.Functions.ResolveLayers(ctx, arn.Account(fn.Config.FunctionArn), arns, true)
	if err != nil {
		return "", fmt.Errorf("invoke: layers of %s: %w", fn.Config.FunctionName, err)
	}
	dirs := make([]string, len(layers))
	h := sha256.New()
	for i, l := range layers {
		if dirs[i], err = s.ensureCode(ctx, l.CodeHash, nil); err != nil {
			return "", err
		}
		io.WriteString(h, l.CodeHash+"\n")
	}
	if len(dirs) == 1 {
		return dirs[0], nil
	}
	key := "opt-" + hex.EncodeToString(h.Sum(nil))
	dir := filepath.Join(s.cfg.CodeDir, key)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	l, _ := s.codeLock.LoadOrStore(key, &sync.Mutex{})
	mu := l.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(s.cfg.CodeDir, ".opt-")
	if err != nil {
		return "", fmt.Errorf("invoke: merge layers: %w", err)
	}
	defer os.RemoveAll(tmp) // after the rename, nothing is left there
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("invoke: merge layers: %w", err)
	}
	for _, d := range dirs {
		if err := mergeTree(d, tmp); err != nil {
			return "", fmt.Errorf("invoke: merge layers: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("invoke: merge layers: %w", err)
	}
	return dir, nil
}

// mergeTree copies the tree at src over dst: directories merge, anything
// else replaces what dst has at that path. Files are hard links into the
// read-only package cache (same file system), symbolic links are recreated.
func mergeTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		if strings.HasPrefix(rel, "..") {
			return fmt.Errorf("%s is outside %s", p, src)
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if fi, err := os.Lstat(target); err == nil && fi.IsDir() {
				return nil
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
