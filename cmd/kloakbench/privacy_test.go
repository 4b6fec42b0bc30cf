//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrivacyJSONAndDump(t *testing.T) {
	dump := filepath.Join(t.TempDir(), "dump.jsonl")
	out := run(t, "privacy", "--n", "300", "--utxo", "small", "--seed", "5", "--json", "--dump", dump)
	var figs map[string]any
	if err := json.Unmarshal(out, &figs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, k := range []string{"p_certain", "top_correct", "sender_input_certain", "fee_output_certain", "mean_readings", "mean_network_fee", "max_storage_mass", "refused", "n"} {
		if _, ok := figs[k]; !ok {
			t.Errorf("--json lacks %q: %s", k, out)
		}
	}
	if figs["n"].(float64) != 300 || figs["top_correct"].(float64) > 60 {
		t.Errorf("figures %s", out)
	}
	f, err := os.Open(dump)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		var rec struct {
			Inputs  []uint64 `json:"inputs"`
			Outputs []uint64 `json:"outputs"`
			Fee     uint64   `json:"fee"`
			Policy  struct {
				FeeMin  uint64 `json:"fee_min"`
				FeeUnit uint64 `json:"fee_unit"`
				FeeMax  uint64 `json:"fee_max"`
			} `json:"policy"`
			Truth struct {
				SenderInput     int    `json:"sender_input"`
				ReceiverInput   int    `json:"receiver_input"`
				NodeFeeOutput   int    `json:"node_fee_output"`
				ChangeOutput    int    `json:"change_output"`
				ReceiverOutputs [2]int `json:"receiver_outputs"`
				Payment         uint64 `json:"payment"`
			} `json:"truth"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || len(rec.Inputs) != 2 || len(rec.Outputs) != 4 || rec.Truth.Payment == 0 || rec.Policy.FeeMax == 0 {
			t.Fatalf("line %d: %v: %s", lines, err, sc.Bytes())
		}
		var in, o uint64
		for _, a := range rec.Inputs {
			in += a
		}
		for _, a := range rec.Outputs {
			o += a
		}
		tr := rec.Truth
		if in != o+rec.Fee || tr.SenderInput == tr.ReceiverInput ||
			rec.Outputs[tr.ReceiverOutputs[0]]+rec.Outputs[tr.ReceiverOutputs[1]] != rec.Inputs[tr.ReceiverInput]+tr.Payment {
			t.Fatalf("line %d does not add up: %s", lines, sc.Bytes())
		}
	}
	if lines != 300 {
		t.Errorf("%d lines, want 300", lines)
	}
	// The same seed prints the same figures.
	var again map[string]any
	if err := json.Unmarshal(run(t, "privacy", "--n", "300", "--utxo", "small", "--seed", "5", "--json"), &again); err != nil {
		t.Fatal(err)
	}
	delete(figs, "seconds")
	delete(again, "seconds")
	if a, b := fmt.Sprint(figs), fmt.Sprint(again); a != b {
		t.Errorf("not reproducible:\n%s\n%s", a, b)
	}
}

func TestPrivacyTable(t *testing.T) {
	out := string(run(t, "privacy", "--n", "200", "--construction", "all", "--learn", "400"))
	for _, row := range []string{"| kloak |", "| kloak-tied |", "| first | 100.0 % | 100.0 % | 100.0 %", "| original |", "learner top right"} {
		if !strings.Contains(out, row) {
			t.Errorf("table lacks %q:\n%s", row, out)
		}
	}
}

func TestPrivacyBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"privacy", "--utxo", "huge"},
		{"privacy", "--construction", "magic"},
		{"privacy", "--construction", "all", "--json"},
		{"privacy", "--n", "0"},
	} {
		cmd := newRootCmd()
		cmd.SetArgs(args)
		cmd.SetOut(new(strings.Builder))
		cmd.SetErr(new(strings.Builder))
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
