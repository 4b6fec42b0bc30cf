package devnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// The node the harness builds.
const (
	// KaspadModule is the Go module of the node and of kaspaminer.
	KaspadModule = "github.com/kaspanet/kaspad"
	// KaspadVersion is the release the harness builds: the last Go release of kaspad.
	KaspadVersion = "v0.12.23"
)

// An edit replaces one exact piece of text in one file of the kaspad module. The old text must
// occur exactly once, so that a different kaspad can never be patched silently, or half.
type edit struct {
	file string // slash-separated, relative to the module root
	old  string
	new  string
}

// payloadPatch is Crescendo's payload rule (KIP-14) applied to kaspad v0.12.23: a transaction
// on the native subnetwork may carry a payload. README.md explains each edit and why it is the
// only one needed; keep the two in step. The mempool has no payload check of its own: it calls
// the same ValidateTransactionInIsolation (through ValidateTransactionAndPopulateWithConsensusData),
// so this one edit opens RPC submission, relay and block validation alike.
func payloadPatch() []edit {
	return []edit{{
		file: "domain/consensus/processes/transactionvalidator/transaction_in_isolation.go",
		old: `func (v *transactionValidator) checkNativeTransactionPayload(tx *externalapi.DomainTransaction) error {
	if tx.SubnetworkID == subnetworks.SubnetworkIDNative && len(tx.Payload) > 0 {
		return errors.Wrapf(ruleerrors.ErrInvalidPayload, "transaction in the native subnetwork "+
			"includes a payload")
	}
	return nil
}`,
		new: `// checkNativeTransactionPayload is patched by kloak's devnet harness (internal/devnet):
// since Crescendo (KIP-14) a transaction on the native subnetwork may carry a payload.
// Its transaction id and signature hash already cover the payload, as rusty-kaspa's do.
func (v *transactionValidator) checkNativeTransactionPayload(tx *externalapi.DomainTransaction) error {
	return nil
}`,
	}}
}

// minerLogPatch lets kaspaminer write its log files where the harness says, through the
// environment variable KASPAMINER_APPDIR, instead of ~/.kaspaminer: kaspaminer has no flag for
// it, and it finds the home directory through the user database, so HOME does not move it.
// It is not consensus; both the patched and the unpatched builds carry it.
func minerLogPatch() []edit {
	return []edit{{
		file: "cmd/kaspaminer/config.go",
		old:  `	defaultAppDir     = util.AppDir("kaspaminer", false)`,
		new: `	// Patched by kloak's devnet harness (internal/devnet): KASPAMINER_APPDIR moves the logs.
	defaultAppDir = func() string {
		if dir := os.Getenv("KASPAMINER_APPDIR"); dir != "" {
			return dir
		}
		return util.AppDir("kaspaminer", false)
	}()`,
	}}
}

// buildEdits are the edits of a build: the miner's log directory always, the payload rule
// unless unpatched.
func buildEdits(unpatched bool) []edit {
	if unpatched {
		return minerLogPatch()
	}
	return append(payloadPatch(), minerLogPatch()...)
}

// patchID is the hex SHA-256 of the edits, so that a changed patch gets a new cache entry.
func patchID(edits []edit) string {
	h := sha256.New()
	fmt.Fprintf(h, "kloak devnet patch of %s %s\x00", KaspadModule, KaspadVersion)
	for _, e := range edits {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", e.file, e.old, e.new)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// applyEdits applies edits to the module tree at root. It fails with ErrPatchDoesNotApply,
// naming the file, unless each edit's old text occurs exactly once.
func applyEdits(root string, edits []edit) error {
	for _, e := range edits {
		path := filepath.Join(root, filepath.FromSlash(e.file))
		src, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPatchDoesNotApply, err)
		}
		if n := bytes.Count(src, []byte(e.old)); n != 1 {
			return fmt.Errorf("%w: %s: the text to replace occurs %d times, want exactly 1 "+
				"(is this kaspad %s?)", ErrPatchDoesNotApply, e.file, n, KaspadVersion)
		}
		out := bytes.Replace(src, []byte(e.old), []byte(e.new), 1)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			return fmt.Errorf("writing patched %s: %w", e.file, err)
		}
	}
	return nil
}
