//go:build !linux

package devnet

import "errors"

func pidRunning(int) (bool, error) {
	return false, errors.New("no /proc here to look up a pid in")
}
