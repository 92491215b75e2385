package dataset

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/testdb"
)

func readAll(t *testing.T, in string) (*Reader, []Record) {
	t.Helper()
	r, err := Open(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return r, recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	latin, _ := charmap.Windows1252.NewEncoder().String("nome;telefone\nJoão;912345678\nZoë;913000000\n")
	tests := []struct {
		name      string
		in        string
		delim     rune
		encoding  string
		header    []string
		rows      int
		firstCell string
		warn      bool
	}{
		{"comma", "phone,name\n+351912345678,Ana\n+351912345679,Rui\n", ',', EncodingUTF8, []string{"phone", "name"}, 2, "+351912345678", false},
		{"semicolon", "phone;name;city\n1;2;3\n4;5;6\n", ';', EncodingUTF8, []string{"phone", "name", "city"}, 2, "1", false},
		{"tab", "phone\tname\n1\tA, B\n", '\t', EncodingUTF8, []string{"phone", "name"}, 1, "1", false},
		{"pipe", "phone|name\n1|a\n", '|', EncodingUTF8, []string{"phone", "name"}, 1, "1", false},
		{"bom", "\xef\xbb\xbfphone,name\n1,a\n", ',', EncodingUTF8BOM, []string{"phone", "name"}, 1, "1", false},
		{"latin-1", latin, ';', EncodingCP1252, []string{"nome", "telefone"}, 2, "João", true},
		{"quoted newline", "phone,note\n1,\"two\nlines, and a comma\"\n2,plain\n", ',', EncodingUTF8, []string{"phone", "note"}, 2, "1", false},
		{"blank lines and CRLF", "phone,name\r\n\r\n1,a\r\n2,b\r\n", ',', EncodingUTF8, []string{"phone", "name"}, 2, "1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, recs := readAll(t, tc.in)
			if r.Delimiter != tc.delim || r.Encoding != tc.encoding || fmt.Sprint(r.Header) != fmt.Sprint(tc.header) {
				t.Fatalf("read as %q %s %q", r.Delimiter, r.Encoding, r.Header)
			}
			if len(recs) != tc.rows || recs[0].Cells[0] != tc.firstCell {
				t.Fatalf("records %+v", recs)
			}
			if (len(r.Warnings) > 0) != tc.warn {
				t.Fatalf("warnings %v", r.Warnings)
			}
		})
	}
	_, recs := readAll(t, "phone,note\n1,\"two\nlines\"\n2,x\n")
	if recs[0].Cells[1] != "two\nlines" || recs[1].Line != 4 {
		t.Fatalf("quoted newline: %+v", recs)
	}
	if _, err := Open(strings.NewReader("  \n")); err == nil {
		t.Fatal("an empty file was read")
	}
}

func TestVariableNames(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"First Name": "first_name", "E-mail": "e_mail", "Número": "numero", "2nd": "c_2nd", "  ": "column", "Plan (€)": "plan"} {
		if got := VariableName(in); got != want {
			t.Errorf("VariableName(%q) = %q, want %q", in, got, want)
		}
	}
	v := Variables([]string{"Name", "name", "NAME"})
	if v["Name"] != "name" || v["name"] != "name_2" || v["NAME"] != "name_3" {
		t.Fatalf("repeated names: %v", v)
	}
}

func TestEscape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"=1+2": "'=1+2", "+351": "'+351", "-3": "'-3", "@SUM(A1)": "'@SUM(A1)", "plain": "plain", "": ""} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	cols := []string{"phone", "name", "timezone"}
	m := store.DatasetMapping{PhoneColumn: "phone", TimezoneColumn: "timezone", DefaultCountry: "PT"}
	cl := newClassifier(m, cols)
	tests := []struct {
		cells  []string
		status string
		phone  string
		tz     string
		dupOf  int64
		reason string
	}{
		{[]string{"912 345 678", "Ana", ""}, store.RowValid, "+351912345678", "Europe/Lisbon", 0, ""},
		{[]string{"+1 212 555 0100", "Bob", "America/Chicago"}, store.RowValid, "+12125550100", "America/Chicago", 0, ""},
		{[]string{"00351912345678", "Ana again", ""}, store.RowDuplicate, "+351912345678", "Europe/Lisbon", 1, "row 1"},
		{[]string{"12", "Short", ""}, store.RowInvalidPhone, "", "", 0, "too short"},
		{[]string{"hello", "Word", ""}, store.RowInvalidPhone, "", "", 0, "not a phone number"},
		{[]string{"913000000", "Too few"}, store.RowWrongColumns, "", "", 0, "2 cells"},
		{[]string{"+351913000000", "Zone", "Mars/Base"}, store.RowValid, "+351913000000", "Europe/Lisbon", 0, "not an IANA zone"},
	}
	for i, tc := range tests {
		r := store.DatasetRow{RowNum: int64(i + 1), Cells: tc.cells}
		cl.classify(&r, nil)
		if r.Status != tc.status || r.Phone != tc.phone || r.Timezone != tc.tz || r.DuplicateOf != tc.dupOf || !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("row %d %v: got %s %q %q dup %d %q", i+1, tc.cells, r.Status, r.Phone, r.Timezone, r.DuplicateOf, r.Reason)
		}
	}
}

type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { c.t = c.t.Add(time.Millisecond); return c.t }

type seqIDs struct{ n int }

func (s *seqIDs) NewID() string { s.n++; return fmt.Sprintf("id-%06d", s.n) }

func newService(t testing.TB) (*Service, store.Store, string) {
	st := testdb.OpenSQLite(t, store.OpenOptions{})
	ctx := context.Background()
	p, err := st.ProjectCreate(ctx, store.ProjectCreateParams{ID: "p1", Name: "P", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	s := New(st, &stepClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, &seqIDs{}, nil, t.TempDir())
	t.Cleanup(s.Stop)
	return s, st, p.ID
}

func TestUploadAndRemap(t *testing.T) {
	t.Parallel()
	s, st, projectID := newService(t)
	ctx := context.Background()
	// An opted-out contact is suppressed.
	c, _, err := st.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: projectID, Scheme: "whatsapp", Path: "351913333333", NewID: "c1",
		Phone: "+351913333333", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	c.OptedOut = true
	if _, err := st.ContactUpdate(ctx, c); err != nil {
		t.Fatal(err)
	}
	csv := "Telefone;Nome;Plano\n912345678;Ana;=HYPERLINK(\"x\")\n912345678;Ana 2;ouro\n12;Curto;x\n913333333;Saiu;x\n914444444;Falta\n"
	d, err := s.Upload(ctx, UploadParams{ProjectID: projectID, Filename: "c.csv", File: strings.NewReader(csv), DefaultCountry: "pt"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != store.DatasetProcessing || d.Mapping.PhoneColumn != "Telefone" || d.Mapping.NameColumn != "Nome" || d.Mapping.Variables["Plano"] != "plano" {
		t.Fatalf("uploaded %+v", d)
	}
	s.Wait()
	d, err = s.Get(ctx, store.Ref{ProjectID: projectID, ID: d.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"total": 5, "valid": 1, "duplicate": 1, "invalid_phone": 1, "opted_out": 1, "wrong_columns": 1}
	if d.Status != store.DatasetReady || fmt.Sprint(d.Counts) != fmt.Sprint(want) {
		t.Fatalf("processed: %s %v %s", d.Status, d.Counts, d.Error)
	}
	var buf bytes.Buffer
	if err := s.Report(ctx, store.Ref{ProjectID: projectID, ID: d.ID}, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `'=HYPERLINK(""x"")`) || !strings.Contains(buf.String(), "2,3,duplicate,the same phone as row 1,1,'+351912345678") {
		t.Fatalf("report:\n%s", buf.String())
	}
	// Without a default country the local numbers are invalid.
	if _, err := s.SetMapping(ctx, store.Ref{ProjectID: projectID, ID: d.ID}, store.DatasetMapping{PhoneColumn: "Nope"}); domain.CodeOf(err) != domain.CodeInvalid {
		t.Fatalf("mapping to a missing column: %v", err)
	}
	if _, err := s.SetMapping(ctx, store.Ref{ProjectID: projectID, ID: d.ID}, store.DatasetMapping{PhoneColumn: "Telefone"}); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	d, _ = s.Get(ctx, store.Ref{ProjectID: projectID, ID: d.ID})
	if d.Counts["invalid_phone"] != 4 || d.Counts["wrong_columns"] != 1 || d.Status != store.DatasetReady {
		t.Fatalf("remapped without a country: %v", d.Counts)
	}
	rows, _ := s.Preview(ctx, d.ID)
	if len(rows) != 5 || !strings.Contains(rows[0].Reason, "no country code") {
		t.Fatalf("preview %+v", rows)
	}
	if err := s.Delete(ctx, store.Ref{ProjectID: projectID, ID: d.ID}); err != nil {
		t.Fatal(err)
	}
}

func TestUploadRejects(t *testing.T) {
	t.Parallel()
	s, _, projectID := newService(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		csv  string
		m    *store.DatasetMapping
		code domain.Code
	}{
		"empty":             {"", nil, domain.CodeInvalid},
		"no phone column":   {"a,b\nx,y\n", nil, domain.CodeInvalid},
		"unknown column":    {"phone\n1\n", &store.DatasetMapping{PhoneColumn: "tel"}, domain.CodeInvalid},
		"bad country":       {"phone\n1\n", &store.DatasetMapping{PhoneColumn: "phone", DefaultCountry: "XX"}, domain.CodeInvalid},
		"bad variable":      {"phone,x\n1,2\n", &store.DatasetMapping{PhoneColumn: "phone", Variables: map[string]string{"x": "Not OK"}}, domain.CodeInvalid},
		"clashing variable": {"phone,x\n1,2\n", &store.DatasetMapping{PhoneColumn: "phone", Variables: map[string]string{"x": "phone"}}, domain.CodeInvalid},
	} {
		if _, err := s.Upload(ctx, UploadParams{ProjectID: projectID, File: strings.NewReader(tc.csv), Mapping: tc.m}); domain.CodeOf(err) != tc.code {
			t.Errorf("%s: got %v, want %s", name, err, tc.code)
		}
	}
}

// TestSampleCSV: the sample in docs (the UI test uploads it) gives the
// outcomes docs/campaigns.md describes.
func TestSampleCSV(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../docs/campaign-sample.csv")
	if err != nil {
		t.Skip("docs/campaign-sample.csv is not here")
	}
	defer f.Close()
	s, _, projectID := newService(t)
	ctx := context.Background()
	d, err := s.Upload(ctx, UploadParams{ProjectID: projectID, Filename: "campaign-sample.csv", File: f, DefaultCountry: "PT"})
	if err != nil {
		t.Fatal(err)
	}
	s.Wait()
	d, _ = s.Get(ctx, store.Ref{ProjectID: projectID, ID: d.ID})
	want := map[string]int64{"total": 11, "valid": 8, "duplicate": 1, "invalid_phone": 1, "wrong_columns": 1, "opted_out": 0}
	if fmt.Sprint(d.Counts) != fmt.Sprint(want) || d.Mapping.PhoneColumn != "phone" || d.Mapping.NameColumn != "name" {
		t.Fatalf("sample: %v %+v", d.Counts, d.Mapping)
	}
	var buf bytes.Buffer
	if err := s.Report(ctx, store.Ref{ProjectID: projectID, ID: d.ID}, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "'=1+1") || !strings.Contains(buf.String(), "\"Funchal\nMadeira\"") {
		t.Fatalf("report:\n%s", buf.String())
	}
}
