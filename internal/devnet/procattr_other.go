//go:build !linux

package devnet

import "os/exec"

// setProcAttr does nothing where there is no parent-death signal: a test binary that dies
// without running its cleanups leaves its node running there.
func setProcAttr(*exec.Cmd) {}
