//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package main

// inBackground reports false: on Windows a console program is never
// stopped for reading its console.
func inBackground(int) bool { return false }
