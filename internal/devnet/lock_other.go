//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package devnet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// lockFile creates path exclusively, polling until ctx ends. Unlike flock, a lock left by a
// build that crashed stays until someone removes path.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	path += ".excl"
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_ = f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("devnet: build lock: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("devnet: waiting for another build that holds %s (remove it if no build runs): %w",
				path, context.Cause(ctx))
		case <-ticker.C:
		}
	}
}
