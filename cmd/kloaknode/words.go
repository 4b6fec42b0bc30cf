package main

import (
	"errors"
	"strings"
)

// errUnclosedQuote is splitWords' error for a quote with no end.
var errUnclosedQuote = errors.New("unclosed quote")

// splitWords splits a console line into words as a POSIX shell does
// (Python's shlex.split, which the original used): words are separated by
// spaces and tabs; 'single quotes' keep everything literally; "double
// quotes" keep everything but a backslash before " \ $ or `; a backslash
// outside quotes keeps the next character.
func splitWords(line string) ([]string, error) {
	var (
		words []string
		word  strings.Builder
		in    bool // inside a word (an empty quoted word counts)
	)
	end := func() {
		if in {
			words = append(words, word.String())
			word.Reset()
			in = false
		}
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			end()
		case r == '\\':
			in = true
			if i+1 < len(rs) {
				i++
				word.WriteRune(rs[i])
			}
		case r == '\'':
			in = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, errUnclosedQuote
			}
			word.WriteString(string(rs[i+1 : j]))
			i = j
		case r == '"':
			in = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[j+1]) {
					j++
				}
				word.WriteRune(rs[j])
			}
			if j == len(rs) {
				return nil, errUnclosedQuote
			}
			i = j
		default:
			in = true
			word.WriteRune(r)
		}
	}
	end()
	return words, nil
}
