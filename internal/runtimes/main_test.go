package runtimes

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if installedDir != "" {
		os.RemoveAll(filepath.Dir(installedDir))
	}
	os.Exit(code)
}
