package attestation

// A DataMatrix ECC200 encoder (ISO/IEC 16022), ASCII mode, square symbols up
// to 104×104. github.com/boombuler/barcode draws the same symbols, but its
// Reed-Solomon step allocates a polynomial per division step: about 1.5 ms
// and 1 MB for the Peigne family's code, more than the whole budget of the
// signed code (1 ms). This one computes the error correction with a shift
// register and writes the PNG without compressing it (a few hundred bytes).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"hash/crc32"
)

// dmSize is one square ECC200 symbol: its side in modules, its data regions
// per side and its error correction codewords, in blocks.
type dmSize struct {
	side, regions, ecc, blocks int
}

// dmSizes are the square symbols up to 104×104, smallest first.
var dmSizes = []dmSize{
	{10, 1, 5, 1}, {12, 1, 7, 1}, {14, 1, 10, 1}, {16, 1, 12, 1}, {18, 1, 14, 1}, {20, 1, 18, 1},
	{22, 1, 20, 1}, {24, 1, 24, 1}, {26, 1, 28, 1}, {32, 2, 36, 1}, {36, 2, 42, 1}, {40, 2, 48, 1},
	{44, 2, 56, 1}, {48, 2, 68, 1}, {52, 2, 84, 2}, {64, 4, 112, 2}, {72, 4, 144, 4}, {80, 4, 192, 4},
	{88, 4, 224, 4}, {96, 4, 272, 4}, {104, 4, 336, 6},
}

// region is the side of a data region; mapping that of all of them.
func (s dmSize) region() int  { return (s.side - 2*s.regions) / s.regions }
func (s dmSize) mapping() int { return s.region() * s.regions }
func (s dmSize) data() int    { return s.mapping()*s.mapping()/8 - s.ecc }

// dmEncodeASCII is the ASCII mode codewords of text: two digits make one
// codeword, a byte over 127 takes an upper shift.
func dmEncodeASCII(text string) []byte {
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case isASCIIDigit(c) && i+1 < len(text) && isASCIIDigit(text[i+1]):
			out = append(out, 130+(c-'0')*10+(text[i+1]-'0'))
			i++
		case c > 127:
			out = append(out, 235, c-127)
		default:
			out = append(out, c+1)
		}
	}
	return out
}

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// dmEncode returns the modules of the smallest symbol that holds text, row by
// row, true for dark.
func dmEncode(text string) ([][]bool, error) {
	cw := dmEncodeASCII(text)
	var size dmSize
	for _, s := range dmSizes {
		if s.data() >= len(cw) {
			size = s
			break
		}
	}
	if size.side == 0 {
		return nil, errors.New("datamatrix: the text does not fit in a 104×104 symbol")
	}
	if len(cw) < size.data() {
		cw = append(cw, 129) // the first pad
	}
	for len(cw) < size.data() {
		v := 129 + (149*(len(cw)+1))%253 + 1 // the 253-state randomized pads
		if v > 254 {
			v -= 254
		}
		cw = append(cw, byte(v))
	}
	return size.draw(dmPlace(size.mapping(), withECC(cw, size))), nil
}

// withECC appends the Reed-Solomon codewords of each interleaved block.
func withECC(data []byte, s dmSize) []byte {
	n := s.ecc / s.blocks
	g := dmGenerators[n]
	out := append(data, make([]byte, s.ecc)...)
	r := make([]byte, n)
	for b := 0; b < s.blocks; b++ {
		clear(r)
		for i := b; i < len(data); i += s.blocks {
			fb := data[i] ^ r[0]
			for j := 0; j < n-1; j++ {
				r[j] = r[j+1] ^ gfMul(fb, g[j+1])
			}
			r[n-1] = gfMul(fb, g[n])
		}
		for j := 0; j < n; j++ {
			out[len(data)+b+j*s.blocks] = r[j]
		}
	}
	return out
}

// GF(256) of ECC200: primitive polynomial x⁸+x⁵+x³+x²+1 (301).
var gfExp, gfLog = func() (exp [512]byte, log [256]int) {
	x := 1
	for i := 0; i < 255; i++ {
		exp[i], exp[i+255] = byte(x), byte(x)
		log[x] = i
		if x <<= 1; x > 255 {
			x ^= 301
		}
	}
	return exp, log
}()

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[gfLog[a]+gfLog[b]]
}

// dmGenerators maps a block's ECC count to its generator polynomial
// ∏(x - αⁱ), i from 1, coefficients highest first.
var dmGenerators = func() map[int][]byte {
	m := map[int][]byte{}
	for _, s := range dmSizes {
		n := s.ecc / s.blocks
		g := []byte{1}
		for i := 1; i <= n; i++ {
			next := make([]byte, len(g)+1)
			for j, c := range g {
				next[j] ^= c
				next[j+1] ^= gfMul(c, gfExp[i])
			}
			g = next
		}
		m[n] = g
	}
	return m
}()

// draw puts the mapping matrix in the symbol's data regions, each framed by
// its finder pattern: solid left and bottom, alternating top and right.
func (s dmSize) draw(mapping [][]bool) [][]bool {
	out := make([][]bool, s.side)
	for y := range out {
		out[y] = make([]bool, s.side)
	}
	reg := s.region()
	for y := 0; y < s.side; y++ {
		for x := 0; x < s.side; x++ {
			ry, rx := y%(reg+2), x%(reg+2)
			switch {
			case rx == 0 || ry == reg+1:
				out[y][x] = true
			case ry == 0:
				out[y][x] = rx%2 == 0
			case rx == reg+1:
				out[y][x] = ry%2 == 1
			default:
				out[y][x] = mapping[y/(reg+2)*reg+ry-1][x/(reg+2)*reg+rx-1]
			}
		}
	}
	return out
}

// dmPlacer places codewords in the mapping matrix (ISO/IEC 16022 annex F).
type dmPlacer struct {
	n        int
	cw       []byte
	bits     [][]bool
	set      [][]bool
	row, col int
}

// dmPlace lays the codewords cw out in an n×n mapping matrix.
func dmPlace(n int, cw []byte) [][]bool {
	p := &dmPlacer{n: n, cw: cw, row: 4}
	p.bits, p.set = make([][]bool, n), make([][]bool, n)
	for i := range n {
		p.bits[i], p.set[i] = make([]bool, n), make([]bool, n)
	}
	pos := 0
	for p.row < n || p.col < n {
		pos = p.corners(pos)
		for ; p.row >= 0 && p.col < n; p.row, p.col = p.row-2, p.col+2 { // up and right
			if p.row < n && p.col >= 0 && !p.set[p.row][p.col] {
				p.utah(p.row, p.col, pos)
				pos++
			}
		}
		p.row, p.col = p.row+1, p.col+3
		for ; p.row < n && p.col >= 0; p.row, p.col = p.row+2, p.col-2 { // down and left
			if p.row >= 0 && p.col < n && !p.set[p.row][p.col] {
				p.utah(p.row, p.col, pos)
				pos++
			}
		}
		p.row, p.col = p.row+3, p.col+1
	}
	if !p.set[n-1][n-1] {
		p.bits[n-1][n-1], p.bits[n-2][n-2] = true, true
	}
	return p.bits
}

// corners places the codeword pos in a corner shape where one starts.
func (p *dmPlacer) corners(pos int) int {
	n, r, c := p.n, p.row, p.col
	var shape [8][2]int
	switch {
	case r == n && c == 0:
		shape = [8][2]int{{n - 1, 0}, {n - 1, 1}, {n - 1, 2}, {0, n - 2}, {0, n - 1}, {1, n - 1}, {2, n - 1}, {3, n - 1}}
	case r == n-2 && c == 0 && n%4 != 0:
		shape = [8][2]int{{n - 3, 0}, {n - 2, 0}, {n - 1, 0}, {0, n - 4}, {0, n - 3}, {0, n - 2}, {0, n - 1}, {1, n - 1}}
	case r == n-2 && c == 0 && n%8 == 4:
		shape = [8][2]int{{n - 3, 0}, {n - 2, 0}, {n - 1, 0}, {0, n - 2}, {0, n - 1}, {1, n - 1}, {2, n - 1}, {3, n - 1}}
	case r == n+4 && c == 2 && n%8 == 0:
		shape = [8][2]int{{n - 1, 0}, {n - 1, n - 1}, {0, n - 3}, {0, n - 2}, {0, n - 1}, {1, n - 3}, {1, n - 2}, {1, n - 1}}
	default:
		return pos
	}
	for bit, rc := range shape {
		p.module(rc[0], rc[1], pos, bit)
	}
	return pos + 1
}

// utah places codeword pos in the standard shape whose last module is at
// row, col.
func (p *dmPlacer) utah(row, col, pos int) {
	shape := [8][2]int{{-2, -2}, {-2, -1}, {-1, -2}, {-1, -1}, {-1, 0}, {0, -2}, {0, -1}, {0, 0}}
	for bit, d := range shape {
		p.module(row+d[0], col+d[1], pos, bit)
	}
}

// module sets bit (0 the most significant) of codeword pos at row, col,
// wrapping around the matrix's edges.
func (p *dmPlacer) module(row, col, pos, bit int) {
	if row < 0 {
		row += p.n
		col += 4 - (p.n+4)%8
	}
	if col < 0 {
		col += p.n
		row += 4 - (p.n+4)%8
	}
	p.bits[row][col] = pos < len(p.cw) && p.cw[pos]>>(7-bit)&1 == 1
	p.set[row][col] = true
}

// dmPNG writes modules as a 1-bit grey PNG, one pixel a module, with quiet
// white modules around, its image data stored without compression.
func dmPNG(modules [][]bool, quiet int) []byte {
	w := len(modules) + 2*quiet
	stride := 1 + (w+7)/8
	raw := make([]byte, stride*w)
	for y := range w {
		line := raw[y*stride+1 : (y+1)*stride]
		for x := range w {
			my, mx := y-quiet, x-quiet
			dark := my >= 0 && my < len(modules) && mx >= 0 && mx < len(modules) && modules[my][mx]
			if !dark {
				line[x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	sum := adler32.Checksum(raw)
	var z bytes.Buffer
	z.Write([]byte{0x78, 0x01})
	for len(raw) > 0 || z.Len() == 2 {
		n := min(len(raw), 0xffff)
		final := byte(0)
		if n == len(raw) {
			final = 1
		}
		z.WriteByte(final)
		z.Write(binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, uint16(n)), ^uint16(n)))
		z.Write(raw[:n])
		raw = raw[n:]
	}
	z.Write(binary.BigEndian.AppendUint32(nil, sum))
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(w)), uint32(w))
	pngChunk(&out, "IHDR", append(ihdr, 1, 0, 0, 0, 0)) // 1 bit, grey, deflate, no filter, no interlace
	pngChunk(&out, "IDAT", z.Bytes())
	pngChunk(&out, "IEND", nil)
	return out.Bytes()
}

func pngChunk(out *bytes.Buffer, kind string, data []byte) {
	out.Write(binary.BigEndian.AppendUint32(nil, uint32(len(data))))
	c := crc32.NewIEEE()
	c.Write([]byte(kind))
	c.Write(data)
	out.WriteString(kind)
	out.Write(data)
	out.Write(binary.BigEndian.AppendUint32(nil, c.Sum32()))
}
