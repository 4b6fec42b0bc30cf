//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package main

import "golang.org/x/sys/unix"

// inBackground reports whether the process runs in a background process
// group of the terminal fd (`kloaknode run &`): reading the terminal there
// would stop the whole process (SIGTTIN), relay included.
func inBackground(fd int) bool {
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && fg != unix.Getpgrp()
}
