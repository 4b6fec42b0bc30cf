package main

import (
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// qrBorder is the quiet zone around a terminal QR code, in modules: the
// original's 2 (the standard asks for 4; phone scanners read 2 on a
// screen).
const qrBorder = 2

// drawQR draws text as a QR code (error correction level M, as the
// original) with block characters, two modules per character cell (▀ ▄ █),
// so that it is square in a terminal whose cells are about twice as high
// as wide. Light modules are drawn as blocks: on the usual dark terminal
// background they show light, and the code reads dark on light as
// printed. Every line ends with a newline.
func drawQR(text string) (string, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", err
	}
	q.DisableBorder = true
	dark := q.Bitmap()
	n := len(dark) + 2*qrBorder
	light := func(x, y int) bool {
		x, y = x-qrBorder, y-qrBorder
		if x < 0 || y < 0 || y >= len(dark) || x >= len(dark[y]) {
			return true // quiet zone
		}
		return !dark[y][x]
	}
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		for x := range n {
			// Past the last row is the terminal's background.
			top, bottom := light(x, y), y+1 < n && light(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}
