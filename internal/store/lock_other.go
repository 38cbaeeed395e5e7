//go:build !unix

package store

import (
	"errors"
	"os"
)

func lockDir(string) (*os.File, error) {
	return nil, errors.New("store: the embedded server needs a unix host")
}

func unlockDir(*os.File) {}

func splitHostPort(string) (string, int, error) {
	return "", 0, errors.New("store: the embedded server needs a unix host")
}
