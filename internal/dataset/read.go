package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Encodings a file is read as.
const (
	EncodingUTF8    = "utf-8"
	EncodingUTF8BOM = "utf-8-bom"
	EncodingCP1252  = "windows-1252"
)

// sniffSize is how much of the file decides the encoding and delimiter.
const sniffSize = 64 << 10

// Format is how a file was read.
type Format struct {
	Encoding  string
	Delimiter rune
	Warnings  []string
}

// Reader streams a CSV file's records after its header.
type Reader struct {
	Format
	Header []string
	csv    *csv.Reader
	// invalid is set when a UTF-8 file held bytes that are not UTF-8.
	invalid *bool
	// nul is set when NUL characters were removed from cells.
	nul bool
}

// Record is one data record and the line it started on.
type Record struct {
	Cells []string
	Line  int64
	// Err is a quoting error: the record could not be read as CSV.
	Err error
}

// Open detects the encoding and the delimiter from the start of r and
// reads the header row. The records are read as they are asked for: the
// file is never held whole.
func Open(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, sniffSize)
	sample, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("reading the file: %w", err)
	}
	if len(bytes.TrimSpace(sample)) == 0 {
		return nil, errors.New("the file is empty")
	}
	var f Format
	var src io.Reader = br
	invalid := new(bool)
	switch {
	case bytes.HasPrefix(sample, []byte("\xef\xbb\xbf")):
		f.Encoding = EncodingUTF8BOM
		_, _ = br.Discard(3)
		sample = sample[3:]
		src = &utf8Guard{r: br, invalid: invalid}
	case validUTF8Prefix(sample, len(sample) < sniffSize):
		f.Encoding = EncodingUTF8
		src = &utf8Guard{r: br, invalid: invalid}
	default:
		f.Encoding = EncodingCP1252
		f.Warnings = append(f.Warnings, "the file is not UTF-8; it was read as Windows-1252 (Latin-1) and converted")
		src = charmap.Windows1252.NewDecoder().Reader(br)
		sample, _ = charmap.Windows1252.NewDecoder().Bytes(sample)
	}
	f.Delimiter = sniffDelimiter(sample)
	c := csv.NewReader(src)
	c.Comma = f.Delimiter
	c.FieldsPerRecord = -1
	c.LazyQuotes = true
	c.ReuseRecord = false
	header, err := c.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header row: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	return &Reader{Format: f, Header: header, csv: c, invalid: invalid}, nil
}

// Next returns the next record, or io.EOF.
func (r *Reader) Next() (Record, error) {
	for {
		cells, err := r.csv.Read()
		line, _ := r.csv.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return Record{Line: int64(pe.StartLine), Err: pe.Err}, nil
		}
		if err != nil {
			return Record{}, err
		}
		if len(cells) == 1 && strings.TrimSpace(cells[0]) == "" {
			continue // a blank line
		}
		for i, c := range cells {
			if strings.IndexByte(c, 0) >= 0 {
				// Neither database stores NUL; drop it and say so.
				cells[i], r.nul = strings.ReplaceAll(c, "\x00", ""), true
			}
		}
		return Record{Cells: cells, Line: int64(line)}, nil
	}
}

// RemovedNUL reports whether NUL characters were removed from cells.
func (r *Reader) RemovedNUL() bool { return r.nul }

// InvalidUTF8 reports whether a UTF-8 file held bytes that are not UTF-8
// (read as U+FFFD).
func (r *Reader) InvalidUTF8() bool { return *r.invalid }

// validUTF8Prefix is utf8.Valid, allowing a rune cut at the end of a
// sample that is not the whole file.
func validUTF8Prefix(b []byte, whole bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if whole {
		return false
	}
	for cut := 1; cut <= 3 && cut < len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) {
			return true
		}
	}
	return false
}

// sniffDelimiter picks, of , ; tab |, the one found most consistently on
// the sample's first lines (outside quotes).
func sniffDelimiter(sample []byte) rune {
	cands := []rune{',', ';', '\t', '|'}
	lines := splitLines(sample, 20)
	best, bestScore := ',', -1.0
	for _, d := range cands {
		counts := make([]int, 0, len(lines))
		for _, l := range lines {
			counts = append(counts, countOutsideQuotes(l, d))
		}
		if len(counts) == 0 || counts[0] == 0 {
			continue
		}
		same := 0
		for _, c := range counts {
			if c == counts[0] {
				same++
			}
		}
		// Consistency first, then how many columns it makes.
		score := float64(same)/float64(len(counts))*100 + float64(min(counts[0], 99))/100
		if score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

// splitLines returns up to n logical lines (newlines inside quotes kept).
func splitLines(b []byte, n int) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for _, c := range string(b) {
		switch {
		case c == '"':
			inQ = !inQ
		case (c == '\n') && !inQ:
			if s := strings.TrimRight(cur.String(), "\r"); strings.TrimSpace(s) != "" {
				out = append(out, s)
			}
			cur.Reset()
			if len(out) == n {
				return out
			}
			continue
		}
		cur.WriteRune(c)
	}
	// The last line may be cut by the sample's end: use it only if it is all.
	if s := cur.String(); strings.TrimSpace(s) != "" && len(out) == 0 {
		out = append(out, s)
	}
	return out
}

func countOutsideQuotes(line string, d rune) int {
	n, inQ := 0, false
	for _, c := range line {
		switch {
		case c == '"':
			inQ = !inQ
		case c == d && !inQ:
			n++
		}
	}
	return n
}

// utf8Guard passes UTF-8 through, noting bytes that are not UTF-8 (the
// CSV reader turns them into U+FFFD when it builds strings).
type utf8Guard struct {
	r       io.Reader
	invalid *bool
	tail    []byte
}

func (g *utf8Guard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if n > 0 && !*g.invalid {
		chunk := append(g.tail, p[:n]...)
		// Keep an incomplete rune at the end for the next read.
		cut := len(chunk)
		for i := 1; i <= 3 && i <= len(chunk); i++ {
			if utf8.RuneStart(chunk[len(chunk)-i]) {
				if !utf8.FullRune(chunk[len(chunk)-i:]) {
					cut = len(chunk) - i
				}
				break
			}
		}
		if !utf8.Valid(chunk[:cut]) {
			*g.invalid = true
		}
		g.tail = append(g.tail[:0], chunk[cut:]...)
	}
	return n, err
}

// Escape neutralises a cell a spreadsheet would run as a formula (=, +,
// -, @, tab or carriage return first) by prefixing a quote.
func Escape(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}
