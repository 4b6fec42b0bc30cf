package devnet

import (
	"bytes"
	"fmt"
	"os"
)

// pidRunning tells whether pid is a live process: a zombie, dead but not yet reaped by whoever
// inherited it, counts as gone.
func pidRunning(pid int) (bool, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// The state follows the command name, which is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return false, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, stat)
	}
	return stat[i+2] != 'Z' && stat[i+2] != 'X', nil
}
