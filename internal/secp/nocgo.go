//go:build !cgo

package secp

// impl is pure Go when cgo is not available.
var impl backend = pureGo{}

// backends lists the implementations compiled in, the one in use first.
var backends = []backend{pureGo{}}
