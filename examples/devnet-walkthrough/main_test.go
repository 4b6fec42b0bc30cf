package main

import "testing"

// TestWalkthrough runs the README's first command, so CI proves it works.
func TestWalkthrough(t *testing.T) {
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
