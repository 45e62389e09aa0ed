// Package version reports which Go toolchain built the binary.
package version

import "runtime"

// Go is the Go release that compiled this binary, e.g. "go1.24.4".
func Go() string { return runtime.Version() }

// Platform is GOOS/GOARCH of the running binary.
func Platform() string { return runtime.GOOS + "/" + runtime.GOARCH }
