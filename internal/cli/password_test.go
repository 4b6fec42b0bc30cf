package cli

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// notTerminal returns the reading end of a pipe: a file descriptor that
// is not a terminal.
func notTerminal(t *testing.T) int {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return int(r.Fd())
}

func TestPromptFromEnv(t *testing.T) {
	const env = "KLOAK_CLI_TEST_PASSWORD"
	for _, tc := range []struct {
		name    string
		value   *string // nil: unset
		prompt  Prompt
		want    string
		wantErr string
		is      error
	}{
		{"set", ptr("s3cret"), Prompt{Env: env}, "s3cret", "", nil},
		{"set, new", ptr("s3cret"), Prompt{Env: env, New: true}, "s3cret", "", nil},
		{"set but empty", ptr(""), Prompt{Env: env}, "", "", nil},
		{"set but empty, new", ptr(""), Prompt{Env: env, New: true}, "", "the wallet password must not be empty", ErrEmptyPassword},
		{"unset", nil, Prompt{Env: env, Purpose: "ask for the wallet password"}, "",
			"standard input is not a terminal to ask for the wallet password: set KLOAK_CLI_TEST_PASSWORD", ErrNotTerminal},
		{"no variable, own remedy", nil, Prompt{Purpose: "type the mnemonic", Remedy: "use --words-file"}, "",
			"standard input is not a terminal to type the mnemonic: use --words-file", ErrNotTerminal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.value != nil {
				t.Setenv(env, *tc.value)
			} else {
				t.Setenv(env, "")
				os.Unsetenv(env)
			}
			var prompts strings.Builder
			got, err := tc.prompt.read(context.Background(), notTerminal(t), &prompts)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errors.Is(err, tc.is) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			if prompts.Len() != 0 {
				t.Errorf("prompted %q for a password in the environment", prompts.String())
			}
		})
	}
}

func ptr(s string) *string { return &s }
