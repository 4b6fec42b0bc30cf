//go:build !cgo

package secp

const cgoEnabled = false
