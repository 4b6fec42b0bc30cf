package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Log formats of --log-format.
const (
	logText = "text" // slog's key=value lines
	logJSON = "json" // one JSON object per line
)

// newLogger returns run's logger, writing to w in format at level.
//
// What is logged, by whom: run logs the wallet file's path, the kaspad
// address and its state, and the relay's URL; package relay logs session
// events with the first 8 hex digits of the session id and the remote IP
// address only at debug; the console logs the transactions it submits. No
// mnemonic, key, password, session key or blob reaches a logger.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case logText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case logJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want %s or %s", format, logText, logJSON)
}

// errReported is an error run has already logged: main exits with status
// 1 without printing it again (in JSON mode, standard error holds only
// JSON lines).
var errReported = errors.New("reported")

// reportedError wraps an error that was logged.
type reportedError struct{ err error }

func (e reportedError) Error() string   { return e.err.Error() }
func (e reportedError) Unwrap() []error { return []error{e.err, errReported} }
