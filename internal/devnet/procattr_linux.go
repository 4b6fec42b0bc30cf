package devnet

import (
	"os/exec"
	"syscall"
)

// setProcAttr asks the kernel to kill the child when the test binary dies without running its
// cleanups (a test timeout's panic, a SIGKILL), so no node outlives the tests.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
