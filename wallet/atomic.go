package wallet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// writeFileAtomic writes data to path so that path holds either its old
// contents or all of data, never a mix, even after a crash: a temporary
// file in the same directory (mode 0600), written, fsynced and closed, then
// renamed over path (or, without replace, hard-linked to path, which fails
// if path exists), then the directory fsynced so the new name is durable.
// data must already be encrypted: the temporary file is on disk too.
func writeFileAtomic(path string, data []byte, replace bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if tmp != "" {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if replace {
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		tmp = ""
	} else if err := linkNew(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// linkNew gives the file tmp the new name path, failing with ErrExist if
// path exists. A hard link does that atomically; on a file system without
// hard links it falls back to a check and a rename, which a concurrent
// creator of path could race.
func linkNew(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil {
		return nil // the caller removes the name tmp
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrExist, path)
	}
	if _, statErr := os.Lstat(path); statErr == nil {
		return fmt.Errorf("%w: %s", ErrExist, path)
	}
	return os.Rename(tmp, path)
}

// syncDir fsyncs a directory so that a rename in it survives a crash.
// Windows cannot sync a directory handle; NTFS journals the rename.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// tempPrefix is how the names of path's temporary files begin; os.CreateTemp
// ends them with a random decimal number.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// removeStaleTemps removes the temporary files of path that a process
// killed during a save left behind (at most one per kill; the wallet file
// itself is intact). Open calls it, once the password proved that the
// wallet is the caller's; it is best effort.
func removeStaleTemps(path string) {
	dir, prefix := filepath.Dir(path), tempPrefix(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || rest == "" || !e.Type().IsRegular() || strings.Trim(rest, "0123456789") != "" {
			continue
		}
		_ = os.Remove(filepath.Join(dir, name))
	}
}
