package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Binaries are a built kaspad and kaspaminer in the build cache.
type Binaries struct {
	// Dir is the cache entry: bin/, src/ and build.json.
	Dir string
	// Kaspad and Kaspaminer are the paths of the two programs.
	Kaspad, Kaspaminer string
	// Source is the (patched) copy of the kaspad module they were built from.
	Source string
	// Patched tells whether Source carries the payload patch (see README.md).
	Patched bool
	// Built is true when this call built them, false when it found them in the cache.
	Built bool
}

// buildInfo is written to build.json, last, in a finished cache entry.
type buildInfo struct {
	Module     string  `json:"module"`
	Version    string  `json:"version"`
	Patched    bool    `json:"patched"`
	PatchID    string  `json:"patch_sha256"`
	GoVersion  string  `json:"go_version"`
	BuiltAt    string  `json:"built_at"`
	BuildSecs  float64 `json:"build_seconds"`
	ModuleSum  string  `json:"module_sum"`
	ModuleFrom string  `json:"module_dir"`
}

// Build returns kaspad and kaspaminer for opts (patched unless opts.Unpatched), building them
// the first time from the Go module proxy and reusing them afterwards. Concurrent calls, from
// this process or from other test binaries, build once: one builds under a lock file while the
// others wait for it. The build is bounded by opts.BuildTimeout and by ctx.
func Build(ctx context.Context, opts Options) (*Binaries, error) {
	root, err := opts.cacheRoot()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.buildTimeout())
	defer cancel()

	key := cacheKey(opts.Unpatched)
	entry := filepath.Join(root, key)
	if b, ok := cachedBinaries(entry, !opts.Unpatched); ok {
		return b, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("devnet: build cache: %w", err)
	}
	unlock, err := lockFile(ctx, entry+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another process may have finished the build while we waited for the lock.
	if b, ok := cachedBinaries(entry, !opts.Unpatched); ok {
		return b, nil
	}

	// Under the lock nobody else builds this key: whatever is left is from a build that died.
	if err := os.RemoveAll(entry); err != nil {
		return nil, fmt.Errorf("devnet: removing incomplete cache entry: %w", err)
	}
	if stale, _ := filepath.Glob(entry + ".build-*"); len(stale) > 0 {
		for _, dir := range stale {
			_ = os.RemoveAll(dir)
		}
	}
	tmp, err := os.MkdirTemp(root, key+".build-")
	if err != nil {
		return nil, fmt.Errorf("devnet: build cache: %w", err)
	}
	defer os.RemoveAll(tmp) // gone already after the rename below

	start := time.Now()
	info, err := buildInto(ctx, tmp, !opts.Unpatched)
	if err != nil {
		return nil, err
	}
	info.BuildSecs = time.Since(start).Seconds()
	info.BuiltAt = time.Now().UTC().Format(time.RFC3339)
	meta, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "build.json"), append(meta, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("devnet: build cache: %w", err)
	}
	if err := os.Rename(tmp, entry); err != nil {
		return nil, fmt.Errorf("devnet: build cache: %w", err)
	}
	b, ok := cachedBinaries(entry, !opts.Unpatched)
	if !ok {
		return nil, fmt.Errorf("%w: %s is incomplete after the build", ErrBuildFailed, entry)
	}
	b.Built = true
	return b, nil
}

// cacheKey names the cache entry: the kaspad version, "unpatched" for the node as released,
// and the first 12 hex digits of the SHA-256 of the build's edits.
func cacheKey(unpatched bool) string {
	id := patchID(buildEdits(unpatched))[:12]
	if unpatched {
		return KaspadVersion + "-unpatched-" + id
	}
	return KaspadVersion + "-" + id
}

func sourceDirName(patched bool) string {
	if patched {
		return "kaspad-patched"
	}
	return "kaspad-unpatched"
}

func cachedBinaries(entry string, patched bool) (*Binaries, bool) {
	b := &Binaries{
		Dir:        entry,
		Kaspad:     filepath.Join(entry, "bin", "kaspad"+exeSuffix()),
		Kaspaminer: filepath.Join(entry, "bin", "kaspaminer"+exeSuffix()),
		Source:     filepath.Join(entry, "src", sourceDirName(patched)),
		Patched:    patched,
	}
	for _, p := range []string{filepath.Join(entry, "build.json"), b.Kaspad, b.Kaspaminer} {
		if _, err := os.Stat(p); err != nil {
			return nil, false
		}
	}
	return b, true
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// buildInto builds both programs in dir: a throw-away module in dir/src that requires kaspad and
// replaces it with a (patched) copy of the module, and the programs in dir/bin.
func buildInto(ctx context.Context, dir string, patched bool) (*buildInfo, error) {
	goBin, err := goCommand()
	if err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return nil, err
	}
	const modHead = "// Throw-away module made by kloak's internal/devnet to build kaspad.\n" +
		"module kloak.invalid/devnet/kaspadbuild\n\ngo 1.23\n\nrequire " + KaspadModule + " " + KaspadVersion + "\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(modHead), 0o644); err != nil {
		return nil, err
	}
	out, err := runGo(ctx, goBin, src, "mod", "download", "-json", KaspadModule+"@"+KaspadVersion)
	if err != nil {
		return nil, err
	}
	var mod struct{ Dir, Sum, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return nil, fmt.Errorf("%w: go mod download gave no module directory (%v):\n%s",
			ErrBuildFailed, err, tail(out, 40))
	}

	copyDir := filepath.Join(src, sourceDirName(patched))
	if err := copyTree(mod.Dir, copyDir); err != nil {
		return nil, fmt.Errorf("devnet: copying %s: %w", mod.Dir, err)
	}
	if err := applyEdits(copyDir, buildEdits(!patched)); err != nil {
		return nil, err
	}
	// kaspad's own go.sum holds the hashes of everything it needs, so the build checks its
	// dependencies exactly as kaspad's release did.
	sum, err := os.ReadFile(filepath.Join(copyDir, "go.sum"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(src, "go.sum"), sum, 0o644); err != nil {
		return nil, err
	}
	gomod := modHead + "\nreplace " + KaspadModule + " => ./" + sourceDirName(patched) + "\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		return nil, err
	}

	var log bytes.Buffer
	for _, target := range []struct{ out, pkg string }{
		{"kaspad", KaspadModule},
		{"kaspaminer", KaspadModule + "/cmd/kaspaminer"},
	} {
		bin := filepath.Join(dir, "bin", target.out+exeSuffix())
		out, err := runGo(ctx, goBin, src, "build", "-trimpath", "-o", bin, target.pkg)
		log.Write(out)
		if err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "build.log"), log.Bytes(), 0o644); err != nil {
		return nil, err
	}

	goVersion, _ := runGo(ctx, goBin, src, "env", "GOVERSION")
	info := &buildInfo{
		Module:     KaspadModule,
		Version:    KaspadVersion,
		Patched:    patched,
		GoVersion:  strings.TrimSpace(string(goVersion)),
		ModuleSum:  mod.Sum,
		ModuleFrom: mod.Dir,
	}
	info.PatchID = patchID(buildEdits(!patched))
	return info, nil
}

// goCommand finds the go command of the toolchain running the tests: go test puts its
// GOROOT/bin first on the PATH of the test binary.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	//lint:ignore SA1019 only a fallback when go is not on PATH
	p := filepath.Join(runtime.GOROOT(), "bin", "go"+exeSuffix())
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: no go command on PATH or in GOROOT", ErrBuildFailed)
	}
	return p, nil
}

// runGo runs the go command in dir and returns its combined output. The environment pins what
// could otherwise change the build: no workspace, the local toolchain, go.mod updates allowed
// in the throw-away module only.
func runGo(ctx context.Context, goBin, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	// kaspad needs cgo (go-secp256k1), whatever the caller's CGO_ENABLED.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "CGO_ENABLED=1")
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err == nil {
		return out.Bytes(), nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%v (%w)", err, context.Cause(ctx))
	}
	return out.Bytes(), fmt.Errorf("%w: go %s: %v\n%s", ErrBuildFailed, strings.Join(args, " "), err, tail(out.Bytes(), 40))
}

// copyTree copies the regular files of a module tree, made writable (the module cache is
// read-only).
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil // module zips hold regular files only
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return copyFile(path, target, 0o644|(info.Mode().Perm()&0o111))
	})
}

func copyFile(from, to string, mode fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// tail returns the last lines of out, at most maxLines of them and 8 KiB.
func tail(out []byte, maxLines int) string {
	const maxBytes = 8 << 10
	if len(out) > maxBytes {
		out = out[len(out)-maxBytes:]
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			out = out[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}
