package relay_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/coder/websocket"

	"github.com/kloakprotocol/kloak/kpp"
	"github.com/kloakprotocol/kloak/relay"
)

// TestPythonTranscript drives the relay with exactly the frames the Python
// wallets send (kloak-v1-python.md §1.4: json.dumps with its default
// separators for the handshakes, E2EE messages as base64 text frames) and
// checks exactly what each wallet receives, as the Python code reads it.
func TestPythonTranscript(t *testing.T) {
	r := startRelay(t, relay.Config{})
	var key kpp.Key
	for i := range key {
		key[i] = byte(i) // the reference's URI vector key, 00..1f
	}
	id := key.SessionID()
	seal := func(plain string) string {
		t.Helper()
		wire, err := kpp.Seal(key, []byte(plain), nil)
		if err != nil {
			t.Fatal(err)
		}
		return wire
	}
	// The E2EE plaintexts of §1.4, as the Python wallets json.dumps them.
	var (
		m2 = seal(`{"utxo": {"address": "kaspa:qr", "outpoint": {"transactionId": "aa", "index": 0}, "utxoEntry": {"amount": "150000000", "scriptPublicKey": {"version": 0, "scriptPublicKey": "20ab"}, "blockDaaScore": "1", "isCoinbase": false}}, "address_1": "kaspa:qa1", "address_2": "kaspa:qa2", "amount": 1.5}`)
		m6 = seal(`{"utxo": {"address": "kaspa:qs"}, "change_address": "kaspa:qc", "amount": 1.5}`)
		m7 = seal(`{"type": "transaction", "tx": {"version": 0}, "your_input_index": 1, "sender_input_index": 0}`)
		m8 = seal(`{"type": "receiver_signature", "tx": {"version": 0}}`)
		m9 = seal(`{"type": "broadcast_success", "transaction_id": "ff"}`)
	)

	// #1, #2: receiver_connect_to_node (L4042-4057).
	recv := dial(t, r.url)
	recv.text(`{"role": "receiver", "session_id": "` + id + `"}`)
	recv.text(m2)
	r.waitPending(t, 1)

	// #3: sender_prepare_kpp_transaction (L3711).
	send := dial(t, r.url)
	send.text(`{"role": "sender", "session_id": "` + id + `"}`)

	// #4: the Python sender does json.loads(recv) and requires
	// type == "dust_address", then reads "address" (L3713-3716).
	typ, got, err := send.ws.Read(ctxTimeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("dust_address in a %s frame", typ)
	}
	var dust map[string]any
	if err := json.Unmarshal(got, &dust); err != nil {
		t.Fatalf("dust_address %q is not JSON: %v", got, err)
	}
	if dust["type"] != "dust_address" || dust["address"] != feeAddress(1).String() || dust["error"] != nil {
		t.Fatalf("dust_address message %s", got)
	}
	// Exactly these bytes; fee_min and fee_unit are kloak's additions.
	if want := `{"type":"dust_address","address":"` + feeAddress(1).String() + `","fee_min":20000000,"fee_unit":10000000,"fee_max":30000000}`; string(got) != want {
		t.Fatalf("dust_address\n got %s\nwant %s", got, want)
	}
	// #5: the blob verbatim; the sender decrypts it.
	send.expect(websocket.MessageText, m2)
	if plain, err := kpp.Open(key, m2); err != nil || !bytes.Contains(plain, []byte(`"address_1": "kaspa:qa1"`)) {
		t.Fatalf("blob does not decrypt: %v", err)
	}

	// #6, #7 sender → receiver; #8 receiver → sender; #9 sender → receiver.
	send.text(m6)
	send.text(m7)
	recv.expect(websocket.MessageText, m6)
	recv.expect(websocket.MessageText, m7)
	recv.text(m8)
	send.expect(websocket.MessageText, m8)
	send.text(m9)
	recv.expect(websocket.MessageText, m9)

	// #10: the sender closes; the relay closes the receiver.
	if err := send.ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	recv.expectClose(websocket.StatusNormalClosure)
}

// TestPythonErrors: the Python wallets read a node error as a JSON object
// with "error" (and, but for Missing session_id, "message").
func TestPythonErrors(t *testing.T) {
	r := startRelay(t, relay.Config{})
	w := dial(t, r.url)
	w.text(`{"role": "sender"}`)
	_, got, err := w.ws.Read(ctxTimeout(t))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil || len(m) != 1 || m["error"] != "Missing session_id" {
		t.Fatalf(`missing session_id: %s, want {"error": "Missing session_id"}`, got)
	}
}
