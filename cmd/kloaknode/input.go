package main

import (
	"bufio"
	"context"
	"io"
	"sync"
)

// maxLine bounds one line typed to the console.
const maxLine = 64 << 10

// lineInput hands out the lines of standard input to whoever waits for
// one: the "Press Enter" after a new wallet's mnemonic, the console, and a
// sweep's confirmation. One goroutine reads, started by the first call to
// next, so that nothing reads the terminal while a password is asked with
// echo off. A line-mode reader leaves the terminal as the operator's shell
// set it: Ctrl+C stays the terminal's, and there is nothing to restore.
type lineInput struct {
	r     io.Reader
	once  sync.Once
	lines chan string // closed at end of input
}

func newLineInput(r io.Reader) *lineInput {
	return &lineInput{r: r, lines: make(chan string)}
}

func (in *lineInput) start() {
	in.once.Do(func() {
		go func() {
			defer close(in.lines)
			sc := bufio.NewScanner(in.r)
			sc.Buffer(make([]byte, 4096), maxLine)
			for sc.Scan() { // drops the "\r" of a Windows console's "\r\n"
				in.lines <- sc.Text()
			}
		}()
	})
}

// next returns the next line, without its end of line. ok is false at
// the end of input (or on a read error, or a line longer than 64 KiB),
// and err is ctx's error when ctx ends first.
func (in *lineInput) next(ctx context.Context) (line string, ok bool, err error) {
	in.start()
	select {
	case line, ok = <-in.lines:
		return line, ok, nil
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
}
