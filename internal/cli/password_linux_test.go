//go:build linux

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// console is a pseudo-terminal: the program reads tty, a person types on
// ptmx and sees what the program echoes.
type console struct {
	tty, ptmx *os.File
	mu        sync.Mutex
	screen    strings.Builder
}

func newConsole(t *testing.T) *console {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	c := &console{tty: tty, ptmx: ptmx}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 256)
		for {
			n, err := ptmx.Read(buf)
			c.mu.Lock()
			c.screen.Write(buf[:n])
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second): // a read of ptmx that Close did not end
		}
	})
	return c
}

func (c *console) shown() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.screen.String()
}

func (c *console) echoOn() (bool, error) {
	tio, err := unix.IoctlGetTermios(int(c.tty.Fd()), unix.TCGETS)
	if err != nil {
		return false, err
	}
	return tio.Lflag&unix.ECHO != 0, nil
}

// prompts is a writer for prompts that hands each write to a reader.
type prompts chan string

func (p prompts) Write(b []byte) (int, error) {
	p <- string(b)
	return len(b), nil
}

// typeWhenAsked types each line once its prompt, ending in ": ", is
// written to asked and echo is off, as a person types at a password
// prompt. It returns all that was written to asked once the last line is
// typed and the next prompt's end of line written.
func (c *console) typeWhenAsked(asked prompts, lines ...string) (string, error) {
	var all strings.Builder
	for _, line := range lines {
		for !strings.HasSuffix(all.String(), ": ") {
			select {
			case s := <-asked:
				all.WriteString(s)
			case <-time.After(5 * time.Second):
				return all.String(), errors.New("no prompt")
			}
		}
		if err := c.waitEcho(false); err != nil {
			return all.String(), err
		}
		if _, err := c.ptmx.Write([]byte(line + "\r")); err != nil {
			return all.String(), err
		}
		select {
		case s := <-asked:
			all.WriteString(s)
		case <-time.After(5 * time.Second):
			return all.String(), errors.New("no end of line after the typed line")
		}
	}
	return all.String(), nil
}

func (c *console) waitEcho(on bool) error {
	for range 500 {
		now, err := c.echoOn()
		if err != nil || now == on {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("echo never turned %v", on)
}

func TestPromptOnTerminal(t *testing.T) {
	t.Setenv("KLOAK_CLI_TEST_PASSWORD", "")
	os.Unsetenv("KLOAK_CLI_TEST_PASSWORD")
	for _, tc := range []struct {
		name    string
		prompt  Prompt
		typed   []string
		want    string
		wantErr error
	}{
		{"once", Prompt{Env: "KLOAK_CLI_TEST_PASSWORD", Text: "Wallet password: "}, []string{"hunter2"}, "hunter2", nil},
		{"new, twice", Prompt{Text: "New wallet password: ", New: true}, []string{"hunter2", "hunter2"}, "hunter2", nil},
		{"new, mismatch", Prompt{Text: "New wallet password: ", New: true}, []string{"hunter2", "hunter3"}, "", ErrPasswordMismatch},
		{"new, empty", Prompt{Text: "New wallet password: ", New: true}, []string{"", ""}, "", ErrEmptyPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConsole(t)
			asked := make(prompts, 8)
			type typing struct {
				prompts string
				err     error
			}
			typed := make(chan typing, 1)
			go func() {
				p, err := c.typeWhenAsked(asked, tc.typed...)
				typed <- typing{p, err}
			}()
			// The prompt reads in its own goroutine: if typing fails, it
			// would wait for a line forever; ending ctx lets it go.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type reading struct {
				got []byte
				err error
			}
			read := make(chan reading, 1)
			go func() {
				got, err := tc.prompt.read(ctx, int(c.tty.Fd()), asked)
				read <- reading{got, err}
			}()
			done := <-typed
			if done.err != nil {
				cancel()
				c.ptmx.Write([]byte("\r")) // term.ReadPassword still waits for a line
				t.Fatalf("typing: %v; the terminal showed %q", done.err, c.shown())
			}
			var r reading
			select {
			case r = <-read:
			case <-time.After(10 * time.Second):
				t.Fatal("the prompt did not return after the last line")
			}
			got, err := r.got, r.err
			if !errors.Is(err, tc.wantErr) || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
			wantPrompts := tc.prompt.Text + "\n"
			if len(tc.typed) == 2 {
				wantPrompts += "Repeat password: \n"
			}
			if done.prompts != wantPrompts {
				t.Errorf("prompts %q, want %q", done.prompts, wantPrompts)
			}
			if on, err := c.echoOn(); !on || err != nil {
				t.Errorf("echo left off (%v)", err)
			}
			if s := c.shown(); strings.Contains(s, "hunter") {
				t.Errorf("the terminal echoed the password: %q", s)
			}
		})
	}
}

// TestPromptInterrupted: when ctx ends at the prompt, echo is back on and
// the error says why.
func TestPromptInterrupted(t *testing.T) {
	c := newConsole(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	asked := make(chan error, 1)
	go func() {
		asked <- c.waitEcho(false)
		cancel(errors.New("interrupt"))
	}()
	_, err := Prompt{Text: "Wallet password: "}.read(ctx, int(c.tty.Fd()), new(strings.Builder))
	if err := <-asked; err != nil {
		t.Fatal(err)
	}
	if err == nil || err.Error() != "password prompt: interrupt" {
		t.Fatalf("error %v, want password prompt: interrupt", err)
	}
	if on, err := c.echoOn(); !on || err != nil {
		t.Fatalf("echo left off after the interrupt (%v)", err)
	}
	// term.ReadPassword still waits for a line; give it one, so that it
	// lets go of the terminal.
	c.ptmx.Write([]byte("\r"))
}
