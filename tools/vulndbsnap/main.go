// Command vulndbsnap writes the snapshot of the Go vulnerability database
// that scripts/test.sh gives govulncheck (-db file://…) where vuln.go.dev
// cannot be reached: the OSV entries of a golang/vulndb checkout
// (data/osv) that name the standard library, the Go toolchain or a module
// in the build list of kloak or of its tools module, with the database's
// LICENSE and NOTICES (CC BY 4.0), and modules.txt, the module paths the
// snapshot covers. scripts/test.sh refuses to run govulncheck on the
// snapshot for a module it does not cover.
//
// From the repository's root, with a checkout of github.com/golang/vulndb:
//
//	cd tools && go run ./vulndbsnap -vulndb /path/to/vulndb -out vulndb
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	src := flag.String("vulndb", "", "a checkout of github.com/golang/vulndb")
	out := flag.String("out", "vulndb", "the directory to write (its .json files are replaced)")
	label := flag.String("label", "", `the checkout's commit and date, "HASH YYYY-MM-DD"; default: read with git`)
	flag.Parse()
	if err := run(*src, *out, *label); err != nil {
		fmt.Fprintln(os.Stderr, "vulndbsnap:", err)
		os.Exit(1)
	}
}

// osvEntry is the part of an OSV entry vulndbsnap reads.
type osvEntry struct {
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

func run(src, out, label string) error {
	if src == "" {
		return errors.New("-vulndb is required")
	}
	if label == "" {
		b, err := exec.Command("git", "-C", src, "log", "-1", "--format=%H %cs").Output()
		if err != nil {
			return fmt.Errorf("reading the checkout's commit (or give -label): %w", err)
		}
		label = strings.TrimSpace(string(b))
	}
	mods, err := buildList()
	if err != nil {
		return err
	}
	cover := map[string]bool{"stdlib": true, "toolchain": true}
	for _, m := range mods {
		cover[m] = true
	}
	osvDir := filepath.Join(src, "data", "osv")
	entries, err := os.ReadDir(osvDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(out, "*.json"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	kept := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(osvDir, e.Name()))
		if err != nil {
			return err
		}
		var entry osvEntry
		if err := json.Unmarshal(b, &entry); err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
		covered := false
		for _, a := range entry.Affected {
			covered = covered || cover[a.Package.Name]
		}
		if !covered {
			continue
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
			return err
		}
		kept++
	}
	for _, f := range []string{"LICENSE", "NOTICES"} {
		b, err := os.ReadFile(filepath.Join(src, "data", f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, f), b, 0o644); err != nil {
			return err
		}
	}
	list := "# Module paths this snapshot covers (kloak's and tools' build lists, " +
		"golang/vulndb " + label + ").\n" + strings.Join(mods, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(out, "modules.txt"), []byte(list), 0o644); err != nil {
		return err
	}
	fmt.Printf("%d of %d entries, %d modules, golang/vulndb %s\n", kept, len(entries), len(mods), label)
	return nil
}

// buildList returns the module paths of kloak's and the tools module's
// build lists, sorted, without duplicates. It runs in the tools module.
func buildList() ([]string, error) {
	var mods []string
	for _, dir := range []string{"..", "."} {
		cmd := exec.Command("go", "list", "-m", "-f", "{{.Path}}", "all")
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("go list -m all in %s: %w: %s", dir, err, stderr.String())
		}
		mods = append(mods, strings.Fields(string(b))...)
	}
	slices.Sort(mods)
	return slices.Compact(mods), nil
}
