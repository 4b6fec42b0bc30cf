package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kaspanet/kaspad/app/appmessage"

	"github.com/kloakprotocol/kloak/amount"
	"github.com/kloakprotocol/kloak/txbuild"
)

// The node's answers are decoded by gRPC into kaspad's appmessage types;
// what this package then takes on trust is their strings (hex ids,
// scripts, payloads, addresses), which a node, or whoever answers in its
// place, chooses. gRPC caps a message at Options.MaxMessageSize (64 MiB)
// before any of it is decoded. The fuzz targets feed arbitrary messages,
// written as JSON for the corpus (testdata/fuzz/FuzzX), to the converters.

// FuzzFromRPCTransaction: FromRPCTransaction never panics, fails only with
// ErrProtocol, and what it accepts converts back (ToRPCTransaction) to a
// message it accepts again as the same transaction.
func FuzzFromRPCTransaction(f *testing.F) {
	f.Add([]byte(`{"Version":0,"Inputs":[{"PreviousOutpoint":{"TransactionID":"` + strings.Repeat("11", 32) + `","Index":1},` +
		`"SignatureScript":"41` + strings.Repeat("ab", 65) + `","Sequence":0,"SigOpCount":1}],` +
		`"Outputs":[{"Amount":100000000,"ScriptPublicKey":{"Version":0,"Script":"20` + strings.Repeat("cd", 32) + `ac"}}],` +
		`"LockTime":0,"SubnetworkID":"` + strings.Repeat("00", 20) + `","Gas":0,"Payload":"7b7d","Mass":2036}`))
	f.Add([]byte(`{"SubnetworkID":"` + strings.Repeat("00", 20) + `","Inputs":[null]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r *appmessage.RPCTransaction
		if err := json.Unmarshal(b, &r); err != nil {
			return
		}
		tx, err := FromRPCTransaction(r)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		back, err := FromRPCTransaction(ToRPCTransaction(tx))
		if err != nil {
			t.Fatalf("accepted transaction converted back is refused: %v", err)
		}
		j1, _ := json.Marshal(tx)
		j2, _ := json.Marshal(back)
		if !bytes.Equal(j1, j2) || tx.ID() != back.ID() || tx.Hash() != back.Hash() || tx.Mass != back.Mass {
			t.Fatalf("round trip changed\n%s\ninto\n%s", j1, j2)
		}
	})
}

// FuzzFromRPCUTXO: the converter of GetUTXOsByAddresses entries, what a
// payjoin's UTXO lookups rest on. It never panics, fails only with
// ErrProtocol, and accepts only amounts up to the maximum supply.
func FuzzFromRPCUTXO(f *testing.F) {
	f.Add([]byte(`{"Address":"kaspa:qqudhfpwvk30t2a9szlu9p9p3n9ja7xrrjg0thlvpwl772gamgaj5ka7kveea",` +
		`"Outpoint":{"TransactionID":"` + strings.Repeat("11", 32) + `","Index":0},` +
		`"UTXOEntry":{"Amount":5000,"ScriptPublicKey":{"Version":0,"Script":"20389bab3a7bfcec9db42d3eb1bf08cb4c9a8797a5a9bbe7ad4ed8ec6d5ed2a5e0ac"},"BlockDAAScore":7,"IsCoinbase":true}}`))
	f.Add([]byte(`{"Address":"kaspa:x","Outpoint":{},"UTXOEntry":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e *appmessage.UTXOsByAddressesEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return
		}
		u, err := fromRPCUTXO(e)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		if u.Entry.Amount > amount.MaxSompi {
			t.Fatalf("UTXO of %d sompi accepted", u.Entry.Amount)
		}
	})
}

// FuzzFromRPCBlock: the converter of GetBlock and GetBlocks answers, what
// discovery's scan rests on. It never panics, fails only with
// ErrProtocol, and keeps the header's parents level by level, level 0 as
// Parents.
func FuzzFromRPCBlock(f *testing.F) {
	h := strings.Repeat("22", 32)
	f.Add([]byte(`{"Header":{"Parents":[{"ParentHashes":["` + strings.Repeat("11", 32) + `","` + strings.Repeat("33", 32) + `"]},` +
		`{"ParentHashes":["` + strings.Repeat("44", 32) + `"]}],"Timestamp":1760000000000,"DAAScore":7,"BlueScore":6},` +
		`"Transactions":[{"SubnetworkID":"` + strings.Repeat("00", 20) + `","Payload":"7b7d"}],` +
		`"VerboseData":{"Hash":"` + h + `","IsChainBlock":true}}`))
	f.Add([]byte(`{"Header":{"Parents":[null]}}`))
	f.Add([]byte(`{"Header":{},"VerboseData":{"Hash":"` + strings.Repeat("55", 32) + `"}}`))
	hash, err := txbuild.ParseHash(h)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r *appmessage.RPCBlock
		if err := json.Unmarshal(b, &r); err != nil {
			return
		}
		blk, err := fromRPCBlock(hash, r)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		if blk.Hash != hash || len(blk.ParentsByLevel) != len(r.Header.Parents) || len(r.Transactions) != len(blk.Transactions) {
			t.Fatalf("block %+v from %+v", blk, r)
		}
		if len(blk.ParentsByLevel) > 0 && !slices.Equal(blk.Parents, blk.ParentsByLevel[0]) {
			t.Fatalf("parents %v, level 0 %v", blk.Parents, blk.ParentsByLevel[0])
		}
	})
}
