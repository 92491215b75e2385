package dataset

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// samePhoneParse fails t unless parsePhone and phonenumbers.Parse agree on
// raw: both refuse it, or both give equal numbers.
func samePhoneParse(t *testing.T, raw, region string) {
	t.Helper()
	want, wantErr := phonenumbers.Parse(raw, region)
	got, gotErr := parsePhone(raw, region)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("parsePhone(%q, %q): error %v; Parse: error %v", raw, region, gotErr, wantErr)
	}
	if wantErr == nil && !proto.Equal(got, want) {
		t.Fatalf("parsePhone(%q, %q) = %v; Parse = %v", raw, region, got, want)
	}
}

// numberTypes are the types the library has example numbers of.
var numberTypes = []phonenumbers.PhoneNumberType{
	phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE,
	phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER,
	phonenumbers.UAN, phonenumbers.VOICEMAIL,
}

// exampleWritings yields every writing (phoneWritings) of every example
// number the library has, with the number's region.
func exampleWritings(yield func(region, raw string) bool) {
	for _, region := range slices.Sorted(maps.Keys(phonenumbers.GetSupportedRegions())) {
		for _, typ := range numberTypes {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			for _, raw := range phoneWritings(ex) {
				if !yield(region, raw) {
					return
				}
			}
		}
	}
}

// phoneWritings are the ways exports write one number: E.164, the
// international format, and variants with a national prefix after the
// country code, dashes, dots and brackets.
func phoneWritings(num *phonenumbers.PhoneNumber) []string {
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	intl := phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
	cc := "+" + strconv.Itoa(int(num.GetCountryCode()))
	rest := strings.TrimPrefix(e164, cc)
	return []string{
		e164, intl,
		strings.ReplaceAll(intl, " ", "-"),
		strings.ReplaceAll(intl, " ", "."),
		cc + " (" + rest[:min(3, len(rest))] + ") " + rest[min(3, len(rest)):],
		cc + "0" + rest, cc + "1" + rest, cc + "00" + rest, cc + "15" + rest, cc + "9" + rest,
		e164 + "9", e164[:len(e164)-1],
	}
}

func TestParsePhoneMatchesLibrary(t *testing.T) {
	t.Parallel()
	regions := append(slices.Sorted(maps.Keys(phonenumbers.GetSupportedRegions())), "", "ZZ")
	fast, tried := 0, 0
	for region, raw := range exampleWritings {
		for _, def := range []string{"", region, "US", "PT"} {
			samePhoneParse(t, raw, def)
		}
		tried++
		if _, ok := parseInternational(raw); ok {
			fast++
		}
	}
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		if ex := phonenumbers.GetExampleNumberForNonGeoEntity(cc); ex != nil {
			for _, raw := range phoneWritings(ex) {
				samePhoneParse(t, raw, "")
			}
		}
	}
	// The fast path must carry most real numbers, or it saves nothing.
	if fast*3 < tried {
		t.Fatalf("the fast path took %d of %d writings of the library's example numbers", fast, tried)
	}

	// Random strings of the characters the fast path reads and of those
	// that send a number to the library (extensions, letters, a second +).
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789012345678901234567890123456789 -.()+#x,;/e"
	for range 200000 {
		var b strings.Builder
		b.WriteByte('+')
		n := 1 + rng.IntN(20)
		for range n {
			if rng.IntN(4) == 0 {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			} else {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		samePhoneParse(t, b.String(), regions[rng.IntN(len(regions))])
	}
}

func TestParsePhoneFastPathTakesCommonWritings(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"+351912345678", "+1 415-555-0123", "+44 7400 123456", "+49 (151) 2345.6789", "+5511987654321"} {
		if _, ok := parseInternational(raw); !ok {
			t.Errorf("parseInternational(%q) left it to the library", raw)
		}
		samePhoneParse(t, raw, "")
	}
	for _, raw := range []string{"+44 07400 123456", "+39 06 1234 5678", "+1 415 555 0123 ext 7", "+800 1234 5678", "0912345678", "+0123456789"} {
		if _, ok := parseInternational(raw); ok {
			t.Errorf("parseInternational(%q) took a writing the library must parse", raw)
		}
		samePhoneParse(t, raw, "GB")
	}
}

// sameValidity fails t unless validPhone and phonenumbers.IsValidNumber
// agree on num.
func sameValidity(t *testing.T, num *phonenumbers.PhoneNumber) {
	t.Helper()
	if got, want := validPhone(num), phonenumbers.IsValidNumber(num); got != want {
		t.Fatalf("validPhone(%v) = %v; IsValidNumber = %v", num, got, want)
	}
}

func TestValidPhoneMatchesLibrary(t *testing.T) {
	t.Parallel()
	valid := 0
	for region, raw := range exampleWritings {
		if num, err := phonenumbers.Parse(raw, region); err == nil {
			sameValidity(t, num)
			if validPhone(num) {
				valid++
			}
		}
	}
	if valid < 1000 {
		t.Fatalf("only %d of the library's example numbers were valid", valid)
	}
	// Random national numbers in every calling code, most of them invalid,
	// some sharing an example's first digits so that they reach the
	// patterns' later branches.
	rng := rand.New(rand.NewPCG(3, 4))
	codes := slices.Sorted(maps.Keys(phonenumbers.GetSupportedCallingCodes()))
	for range 300000 {
		cc := int32(codes[rng.IntN(len(codes))])
		nsn := uint64(0)
		for range 4 + rng.IntN(12) {
			nsn = nsn*10 + uint64(rng.IntN(10))
		}
		if ex := phonenumbers.GetExampleNumberForNonGeoEntity(int(cc)); ex == nil && rng.IntN(2) == 0 {
			if r := phonenumbers.GetRegionCodeForCountryCode(int(cc)); r != "ZZ" {
				if ex := phonenumbers.GetExampleNumberForType(r, numberTypes[rng.IntN(len(numberTypes))]); ex != nil {
					s := strconv.FormatUint(ex.GetNationalNumber(), 10)
					cut := rng.IntN(len(s) + 1)
					tail := strconv.FormatUint(nsn, 10)
					n, _ := strconv.ParseUint(s[:cut]+tail[:min(len(tail), len(s)-cut)], 10, 64)
					nsn = n
				}
			}
		}
		sameValidity(t, &phonenumbers.PhoneNumber{CountryCode: proto.Int32(cc), NationalNumber: proto.Uint64(nsn)})
	}
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"+351912345678", "+1 (415) 555-0123", "+44 07400 123456", "+39 06 1234 5678", "+800 12345678", "+54 9 11 1234 5678", "+7 8 912 345 67 89"} {
		f.Add(s, "")
		f.Add(s, "GB")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		if len(raw) > 64 || len(region) > 3 {
			return
		}
		samePhoneParse(t, raw, region)
		if num, err := phonenumbers.Parse(raw, region); err == nil {
			sameValidity(t, num)
		}
	})
}

func BenchmarkParsePhone(b *testing.B) {
	for _, c := range []struct {
		name  string
		parse func(string, string) (*phonenumbers.PhoneNumber, error)
	}{{"library", phonenumbers.Parse}, {"parsePhone", parsePhone}} {
		b.Run(c.name, func(b *testing.B) {
			valid := phonenumbers.IsValidNumber
			if c.name == "parsePhone" {
				valid = validPhone
			}
			for i := range b.N {
				raw := "+3519" + string("1236"[i%4]) + "2345678"
				if num, err := c.parse(raw, ""); err != nil || !valid(num) {
					b.Fatal(raw, err)
				}
			}
		})
	}
}
