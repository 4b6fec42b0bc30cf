//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kloakprotocol/kloak/analysis"
	"github.com/kloakprotocol/kloak/internal/privacy"
)

type privacyOptions struct {
	n            int
	seed         uint64
	utxo         string
	construction string
	jsonOut      bool
	dump         string
	learn        int
}

func newPrivacyCmd() *cobra.Command {
	var o privacyOptions
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "Build payjoins and measure what a chain analyst who knows KPP reads from them",
		Long: `privacy builds --n payjoins with the construction kloak's wallets use (coin
choice, node fee, split: package internal/privacy) or, for comparison, kloak's
first builder or the Python original's, from wallets of eight coins drawn
from --utxo large (1–10,000 KAS, payments 1–1,000 KAS) or small (1–50 KAS,
payments 1–25 KAS), half of the payments whole or half KAS, half arbitrary
sompi; and runs the analyst of package analysis on each: every reading
that fits the rules an observer knows, weighted by its prior. It checks
that the analyst never misses the true reading, and prints:

  P certain          one payment fits (every reading names the same P)
  top guess right    the analyst's likeliest payment is the true one
                     (shared evenly among tied top guesses)
  sender certain     every reading names the same input as the sender's
  fee out. certain   every reading names the same node fee output
  readings           mean number of readings (and mean log2)
  network fee        mean network fee, sompi (mainnet rules, 1 sompi/gram)
  max storage mass   largest KIP-9 storage mass, grams (budget 100,000)
  refused            payjoins the builder refused

--learn N also trains a second analyst on N payjoins of another seed (it
learns, from the truth, which readings' coin sizes, splits and amounts are
likely: internal/privacy.Learner) and prints how often its top guess is
right. --dump FILE writes each payjoin as a JSON line with the truth.
Everything is seeded: the same flags print the same figures.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPrivacy(cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.n, "n", 10_000, "payjoins to build")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the simulation")
	f.StringVar(&o.utxo, "utxo", "large", "coin and payment sizes: large or small")
	f.StringVar(&o.construction, "construction", "kloak", "kloak (default: a kloak node, F free of P), kloak-tied (a node that announces nothing, F tied to P), first (kloak's first builder), original (the Python original), or all")
	f.BoolVar(&o.jsonOut, "json", false, "print the figures as one JSON object (one construction)")
	f.StringVar(&o.dump, "dump", "", "write every payjoin built, with its truth, as a JSON line to this file")
	f.IntVar(&o.learn, "learn", 0, "also train a learning analyst on this many payjoins of another seed and report its top guess")
	return cmd
}

type privacyRow struct {
	privacy.Figures
	LearnedTopCorrect *float64 `json:"learned_top_correct,omitempty"`
	Construction      string   `json:"construction"`
	Distribution      string   `json:"utxo"`
	Seed              uint64   `json:"seed"`
	Seconds           float64  `json:"seconds"`
}

func runPrivacy(out io.Writer, o privacyOptions) error {
	var dist privacy.Distribution
	switch o.utxo {
	case "large":
		dist = privacy.Large
	case "small":
		dist = privacy.Small
	default:
		return fmt.Errorf("--utxo %q: want large or small", o.utxo)
	}
	if o.n <= 0 || o.n > 10_000_000 || o.learn < 0 {
		return fmt.Errorf("--n %d / --learn %d: want 1 to 10,000,000 payjoins", o.n, o.learn)
	}
	constructions := []privacy.Construction{privacy.Construction(o.construction)}
	if o.construction == "all" {
		constructions = privacy.Constructions
	}
	for _, c := range constructions {
		if _, err := privacy.Rules(c); err != nil {
			return fmt.Errorf("--construction: %w", err)
		}
	}
	if o.jsonOut && len(constructions) > 1 {
		return fmt.Errorf("--json prints one construction: name one, not %q", o.construction)
	}
	var dump *bufio.Writer
	if o.dump != "" {
		f, err := os.Create(o.dump)
		if err != nil {
			return err
		}
		defer f.Close()
		dump = bufio.NewWriter(f)
	}
	var rows []privacyRow
	for _, c := range constructions {
		start := time.Now()
		row := privacyRow{Construction: string(c), Distribution: dist.Name, Seed: o.seed}
		var lr *privacy.Learner
		if o.learn > 0 {
			rules, _ := privacy.Rules(c)
			lr = privacy.NewLearner(rules, analysis.DefaultPrior)
			if _, err := privacy.Run(privacy.Config{N: o.learn, Seed: o.seed + 1_000_003, Distribution: dist, Construction: c}, lr.Train); err != nil {
				return err
			}
		}
		var learned, n float64
		figs, err := privacy.Run(privacy.Config{N: o.n, Seed: o.seed, Distribution: dist, Construction: c}, func(r privacy.Record) error {
			if lr != nil {
				rep, err := lr.Report(r)
				if err != nil {
					return err
				}
				learned += rep.TopCredit(r.Truth.Payment)
				n++
			}
			if dump != nil {
				b, err := json.Marshal(r)
				if err != nil {
					return err
				}
				dump.Write(b)
				dump.WriteByte('\n')
			}
			return nil
		})
		if err != nil {
			return err
		}
		row.Figures = figs
		if lr != nil && n > 0 {
			v := 100 * learned / n
			row.LearnedTopCorrect = &v
		}
		row.Seconds = time.Since(start).Seconds()
		rows = append(rows, row)
	}
	if dump != nil {
		if err := dump.Flush(); err != nil {
			return err
		}
	}
	if o.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		return enc.Encode(rows[0])
	}
	printPrivacyTable(out, rows, o)
	return nil
}

func printPrivacyTable(out io.Writer, rows []privacyRow, o privacyOptions) {
	fmt.Fprintf(out, "kloakbench privacy --utxo %s --n %d --seed %d", o.utxo, o.n, o.seed)
	if o.learn > 0 {
		fmt.Fprintf(out, " --learn %d", o.learn)
	}
	fmt.Fprintln(out)
	head := []string{"construction", "P certain", "top guess right", "sender certain", "fee out. certain", "readings (log2)", "network fee", "max storage mass", "refused"}
	if o.learn > 0 {
		head = append(head, "learner top right")
	}
	fmt.Fprintln(out, "| "+strings.Join(head, " | ")+" |")
	fmt.Fprintln(out, "|"+strings.Repeat("---|", len(head)))
	for _, r := range rows {
		cells := []string{
			r.Construction,
			fmt.Sprintf("%.1f %%", r.PCertain),
			fmt.Sprintf("%.1f %%", r.TopCorrect),
			fmt.Sprintf("%.1f %%", r.SenderInputCertain),
			fmt.Sprintf("%.1f %%", r.FeeOutputCertain),
			fmt.Sprintf("%.2f (%.2f)", r.MeanReadings, r.MeanLog2Readings),
			fmt.Sprintf("%.0f", r.MeanNetworkFee),
			fmt.Sprintf("%d", r.MaxStorageMass),
			fmt.Sprintf("%d", r.Refused),
		}
		if r.LearnedTopCorrect != nil {
			cells = append(cells, fmt.Sprintf("%.1f %%", *r.LearnedTopCorrect))
		}
		fmt.Fprintln(out, "| "+strings.Join(cells, " | ")+" |")
	}
}
