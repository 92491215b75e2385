package dataset

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// VariableName turns a column's name into an identifier a flow can read
// as {{name}}: lower case letters, digits and underscores, not starting
// with a digit.
func VariableName(col string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(col)) {
		r = fold(r)
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" {
		s = "column"
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "c_" + s
	}
	return s
}

// fold maps common accented Latin letters to their base letter.
func fold(r rune) rune {
	const from, to = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿ", "aaaaaaceeeeiiiinooooouuuuyy"
	if i := strings.IndexRune(from, r); i >= 0 {
		return []rune(to)[len([]rune(from[:i]))]
	}
	return r
}

// Variables names every column, unique: a second "Name" is name_2.
func Variables(columns []string) map[string]string {
	out := make(map[string]string, len(columns))
	used := map[string]bool{}
	for _, c := range columns {
		v := VariableName(c)
		for n := 2; used[v]; n++ {
			v = VariableName(c) + "_" + strconv.Itoa(n)
		}
		used[v] = true
		out[c] = v
	}
	return out
}

var (
	phoneNames    = []string{"phone", "phone_number", "mobile", "mobile_number", "telephone", "tel", "msisdn", "whatsapp", "wa_id", "number", "cell", "celular", "telefone", "telemovel", "telefono", "movil"}
	nameNames     = []string{"name", "full_name", "first_name", "nome", "nombre", "contact_name"}
	emailNames    = []string{"email", "e_mail", "email_address", "mail"}
	idNames       = []string{"id", "identifier", "external_id", "customer_id", "client_id", "code"}
	timezoneNames = []string{"timezone", "time_zone", "tz"}
)

// Guess proposes a mapping from the header and a few sample records.
func Guess(columns []string, sample [][]string, country string) store.DatasetMapping {
	m := store.DatasetMapping{DefaultCountry: strings.ToUpper(country), Variables: Variables(columns)}
	find := func(names []string) string {
		for _, n := range names {
			for _, c := range columns {
				if VariableName(c) == n {
					return c
				}
			}
		}
		return ""
	}
	m.PhoneColumn = find(phoneNames)
	if m.PhoneColumn == "" {
		// The first column most of whose sample cells read as phones.
		for i, c := range columns {
			ok := 0
			for _, rec := range sample {
				if i < len(rec) {
					if _, err := normalise(rec[i], m.DefaultCountry); err == nil {
						ok++
					}
				}
			}
			if len(sample) > 0 && ok*2 > len(sample) {
				m.PhoneColumn = c
				break
			}
		}
	}
	m.NameColumn = find(nameNames)
	m.EmailColumn = find(emailNames)
	m.IdentifierColumn = find(idNames)
	m.TimezoneColumn = find(timezoneNames)
	return m
}

// Check validates a mapping against the columns; errors point into the
// mapping document.
func Check(m *store.DatasetMapping, columns []string) error {
	has := map[string]bool{}
	for _, c := range columns {
		has[c] = true
	}
	if m.PhoneColumn == "" {
		return domain.Invalid("/phone_column", "pick the column that holds the phone numbers (one of %s)", strings.Join(columns, ", "))
	}
	for ptr, col := range map[string]string{"/phone_column": m.PhoneColumn, "/name_column": m.NameColumn, "/email_column": m.EmailColumn,
		"/identifier_column": m.IdentifierColumn, "/timezone_column": m.TimezoneColumn} {
		if col != "" && !has[col] {
			return domain.Invalid(ptr, "the file has no column %q (its columns: %s)", col, strings.Join(columns, ", "))
		}
	}
	m.DefaultCountry = strings.ToUpper(strings.TrimSpace(m.DefaultCountry))
	if m.DefaultCountry != "" && phonenumbers.GetCountryCodeForRegion(m.DefaultCountry) == 0 {
		return domain.Invalid("/default_country", "%q is not a country code phone numbers know (use ISO 3166 alpha-2, like PT or US)", m.DefaultCountry)
	}
	// Every column is a variable; a given name must be an identifier and
	// names must not repeat.
	vars := Variables(columns)
	used := map[string]string{}
	for col, v := range m.Variables {
		if !has[col] {
			return domain.Invalid("/variables/"+escapePointer(col), "the file has no column %q", col)
		}
		if v != VariableName(v) {
			return domain.Invalid("/variables/"+escapePointer(col), "%q is not a variable name: use lower-case letters, digits and _ (like %q)", v, VariableName(v))
		}
		vars[col] = v
	}
	for _, col := range columns {
		v := vars[col]
		if other, ok := used[v]; ok {
			return domain.Invalid("/variables/"+escapePointer(col), "columns %q and %q would both be {{%s}}; rename one", other, col, v)
		}
		used[v] = col
	}
	m.Variables = vars
	return nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// normalise reads a phone number and returns it in E.164 with the number
// parsed, or why it is not valid.
func normalise(raw, country string) (*phonenumbers.PhoneNumber, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("the phone is empty")
	}
	if strings.HasPrefix(raw, "00") {
		raw = "+" + raw[2:]
	}
	num, err := parsePhone(raw, country)
	if err != nil {
		if country == "" && !strings.HasPrefix(raw, "+") {
			return nil, fmt.Errorf("%q has no country code; write it as +<country code><number> or set a default country", raw)
		}
		return nil, fmt.Errorf("%q is not a phone number (%v)", raw, err)
	}
	if !validPhone(num) {
		switch phonenumbers.IsPossibleNumberWithReason(num) {
		case phonenumbers.TOO_SHORT:
			return nil, fmt.Errorf("%q is too short for %s", raw, regionName(num))
		case phonenumbers.TOO_LONG:
			return nil, fmt.Errorf("%q is too long for %s", raw, regionName(num))
		case phonenumbers.INVALID_COUNTRY_CODE:
			return nil, fmt.Errorf("%q has an unknown country code", raw)
		}
		return nil, fmt.Errorf("%q is not a valid number for %s", raw, regionName(num))
	}
	return num, nil
}

func regionName(num *phonenumbers.PhoneNumber) string {
	if r := phonenumbers.GetRegionCodeForNumber(num); r != "" && r != "ZZ" {
		return r
	}
	return fmt.Sprintf("country code +%d", num.GetCountryCode())
}

// timezoneOf is the contact's zone: the timezone cell when it names one,
// else the first zone of the number's region.
func timezoneOf(num *phonenumbers.PhoneNumber, cell string) (string, string) {
	if cell = strings.TrimSpace(cell); cell != "" {
		if _, err := time.LoadLocation(cell); err == nil {
			return cell, ""
		}
		// Fall through to the phone's zone, but say so.
		tz := phoneZone(num)
		return tz, fmt.Sprintf("timezone %q is not an IANA zone; used %s from the phone number", cell, tz)
	}
	return phoneZone(num), ""
}

func phoneZone(num *phonenumbers.PhoneNumber) string {
	zones, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil || len(zones) == 0 || zones[0] == "Etc/Unknown" {
		return "UTC"
	}
	// A number that may be in several zones (a Portuguese mobile: Azores,
	// Madeira, Lisbon) gets the mainland one: continents before islands.
	for _, prefix := range []string{"Europe/", "America/", "Asia/", "Africa/", "Australia/"} {
		for _, z := range zones {
			if strings.HasPrefix(z, prefix) {
				return z
			}
		}
	}
	return zones[0]
}

// csvErrPrefix starts the reason of a row that is not CSV.
const csvErrPrefix = "the row cannot be read as CSV: "

// classifier gives each row its outcome under one mapping, remembering
// phones seen for duplicates.
type classifier struct {
	m        store.DatasetMapping
	ncols    int
	phoneIdx int
	tzIdx    int
	seen     *phoneSet
}

func newClassifier(m store.DatasetMapping, columns []string) *classifier {
	c := &classifier{m: m, ncols: len(columns), phoneIdx: -1, tzIdx: -1, seen: newPhoneSet()}
	for i, col := range columns {
		if col == m.PhoneColumn && c.phoneIdx < 0 {
			c.phoneIdx = i
		}
		if col == m.TimezoneColumn && m.TimezoneColumn != "" && c.tzIdx < 0 {
			c.tzIdx = i
		}
	}
	return c
}

// classify sets the row's status, reason, phone and timezone (all but
// opted-out, which needs the database).
func (c *classifier) classify(r *store.DatasetRow, parseErr error) {
	c.parse(r, parseErr)
	c.dedupe(r)
}

// parse sets the row's outcome from its own cells (all but duplicates and
// opt-outs). It keeps no state: rows are parsed in parallel.
func (c *classifier) parse(r *store.DatasetRow, parseErr error) {
	r.Status, r.Reason, r.DuplicateOf, r.Phone, r.Timezone = store.RowValid, "", 0, "", ""
	switch {
	case parseErr != nil:
		r.Status, r.Reason = store.RowWrongColumns, csvErrPrefix+strings.TrimPrefix(parseErr.Error(), csvErrPrefix)
		return
	case len(r.Cells) != c.ncols:
		r.Status, r.Reason = store.RowWrongColumns, fmt.Sprintf("the row has %d cells; the header has %d columns", len(r.Cells), c.ncols)
		return
	}
	num, err := normalise(r.Cells[c.phoneIdx], c.m.DefaultCountry)
	if err != nil {
		r.Status, r.Reason = store.RowInvalidPhone, err.Error()
		return
	}
	r.Phone = phonenumbers.Format(num, phonenumbers.E164)
	tzCell := ""
	if c.tzIdx >= 0 {
		tzCell = r.Cells[c.tzIdx]
	}
	r.Timezone, r.Reason = timezoneOf(num, tzCell)
}

// dedupe marks a valid row whose phone an earlier row had; rows must come
// in row order.
func (c *classifier) dedupe(r *store.DatasetRow) {
	if r.Status != store.RowValid {
		return
	}
	// An E.164 number is at most 15 digits after its "+": a uint64.
	key, _ := strconv.ParseUint(r.Phone[1:], 10, 64)
	if first, ok := c.seen.firstOrAdd(key, uint32(r.RowNum)); ok {
		r.Status, r.DuplicateOf, r.Reason = store.RowDuplicate, int64(first), fmt.Sprintf("the same phone as row %d", first)
	}
}

// release frees the phones remembered; the classifier must not dedupe after.
func (c *classifier) release() { c.seen.release() }

// parseAll parses rows on every CPU.
func (c *classifier) parseAll(rows []store.DatasetRow, errs []error) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || len(rows) < 256 {
		for i := range rows {
			c.parse(&rows[i], errs[i])
		}
		return
	}
	var wg sync.WaitGroup
	per := (len(rows) + workers - 1) / workers
	for lo := 0; lo < len(rows); lo += per {
		hi := min(lo+per, len(rows))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				c.parse(&rows[i], errs[i])
			}
		}()
	}
	wg.Wait()
}
