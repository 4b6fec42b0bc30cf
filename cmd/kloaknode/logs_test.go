package main

import (
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/kloakprotocol/kloak/internal/devnet"
	"github.com/kloakprotocol/kloak/kpp"
)

// jsonRecords parses every line of stderr as a JSON object.
func jsonRecords(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line %d is not JSON (%v): %s", i+1, err, line)
		}
		recs = append(recs, rec)
	}
	return recs
}

func hasRecord(recs []map[string]any, msg string, check func(map[string]any) bool) bool {
	for _, r := range recs {
		if r["msg"] == msg && (check == nil || check(r)) {
			return true
		}
	}
	return false
}

var mnemonicWord = regexp.MustCompile(`\d+\. ([a-z]+)`)

// testJSONLogs runs a node with --log-format json --log-level debug
// through a whole session (a receiver and a sender paired and bridged),
// and checks that standard error is JSON lines, none holding the wallet's
// mnemonic or password, the session's id or key, or the receiver's blob.
func testJSONLogs(t *testing.T, kaspad *devnet.Node) {
	const password = "json-logs password 9f2c"
	walletPath := filepath.Join(t.TempDir(), "node.kloak")
	args := []string{"run", "--kaspad", kaspad.RPCAddress(), "--network", "devnet", "--ws-bind", "127.0.0.1", "--ws-port", "0",
		"--wallet-file", walletPath, "--log-format", "json", "--log-level", "debug"}
	p := start(t, []string{"KLOAK_WALLET_PASSWORD=" + password}, args...)
	url := p.waitListening()
	key, err := kpp.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	dust, blob := pairWith(t, url, key)
	p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit status %d after SIGINT, want 0", code)
	}

	stderr := p.errors()
	recs := jsonRecords(t, stderr)
	// The run logged what it should, at debug too, so the checks below
	// looked at a real session's logs.
	for _, msg := range []string{"kloaknode: no wallet file; creating a new wallet", "kloaknode: relay listening",
		"relay: session paired", "relay: connection opened", "kloaknode: operator console disabled (stdin not a terminal)", "kloaknode: stopped"} {
		if !hasRecord(recs, msg, nil) {
			t.Errorf("no %q record in the logs:\n%s", msg, stderr)
		}
	}
	id := key.SessionID()
	if !hasRecord(recs, "relay: session paired", func(r map[string]any) bool { return r["session"] == id[:8] }) {
		t.Errorf("the pairing is not logged with the session id's first 8 hex digits:\n%s", stderr)
	}

	var words []string
	for _, m := range mnemonicWord.FindAllStringSubmatch(p.stdout.String(), -1) {
		words = append(words, m[1])
	}
	if len(words) != 24 {
		t.Fatalf("%d mnemonic words on stdout, want 24:\n%s", len(words), p.stdout.String())
	}
	secrets := map[string]string{
		"password":    password,
		"session id":  id,
		"session key": hex.EncodeToString(key[:]),
		"blob":        blob,
		"mnemonic":    strings.Join(words, " "),
	}
	// Any three words of the mnemonic in a row would be a leak too.
	for i := 0; i+3 <= len(words); i++ {
		secrets["mnemonic words "+words[i]] = strings.Join(words[i:i+3], " ")
	}
	for what, s := range secrets {
		if strings.Contains(stderr, s) {
			t.Errorf("the logs hold the %s %q", what, s)
		}
	}
	// Nothing in this run has a transaction id to log: any 64 hex
	// digits would be a session id or a key.
	if m := regexp.MustCompile(`[0-9a-fA-F]{64}`).FindString(stderr); m != "" {
		t.Errorf("the logs hold 64 hex digits %s", m)
	}
	if !strings.Contains(stderr, dust.Address) {
		t.Errorf("the fee address is not logged at debug:\n%s", stderr)
	}

	// A failure is a JSON record too.
	p = start(t, []string{"KLOAK_WALLET_PASSWORD=wrong"}, args...)
	if code := p.wait(); code != 1 {
		t.Fatalf("exit status %d with a wrong password, want 1", code)
	}
	recs = jsonRecords(t, p.errors())
	failed := false
	for _, r := range recs {
		msg, _ := r["msg"].(string)
		failed = failed || r["level"] == "ERROR" && strings.Contains(msg, "wrong password")
	}
	if !failed {
		t.Errorf("the wrong password is not an ERROR record:\n%s", p.errors())
	}
}
