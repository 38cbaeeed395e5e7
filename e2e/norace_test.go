//go:build !race

package e2e

// raceEnabled reports whether the tests run with -race; the server binary is
// then built with it too.
const raceEnabled = false
