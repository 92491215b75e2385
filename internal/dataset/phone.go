package dataset

import (
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// parsePhone is phonenumbers.Parse, answered without it for the shape most
// exports write: a "+", the country code and the number, with spaces,
// dashes, dots or brackets between the digits. Parse runs an unanchored
// extension regular expression over every input; with the rest of Parse it
// was a third of a million-row upload's CPU. That shape cannot hold an
// extension, so the fast path skips it. Anything the fast path is not sure
// of goes to Parse, and TestParsePhoneMatchesLibrary holds the two equal.
func parsePhone(raw, region string) (*phonenumbers.PhoneNumber, error) {
	if num, ok := parseInternational(raw); ok {
		return num, nil
	}
	return phonenumbers.Parse(raw, region)
}

// codePlan is what parsing and validation need from one calling code's
// metadata, compiled on the first number with that code: compiling every
// region's patterns up front would hold 8 MB for a dataset of one country.
type codePlan struct {
	metadata []*phonenumbers.PhoneMetadata // its regions', in the library's order
	once     sync.Once
	// parse is false when the fast parse must leave the code's numbers to
	// the library, valid when validation must.
	parse, valid   bool
	nationalPrefix *regexp.Regexp // after the country code, Parse would strip it; nil: none
	regions        []*validityPlan
}

// codePlans maps each geographic calling code to its plan.
var codePlans = sync.OnceValue(func() map[int]*codePlan {
	plans := map[int]*codePlan{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return plans
	}
	byRegion := map[string]*phonenumbers.PhoneMetadata{}
	for _, md := range coll.GetMetadata() {
		byRegion[md.GetId()] = md
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		p := &codePlan{}
		for _, region := range phonenumbers.GetRegionCodesForCountryCode(cc) {
			md := byRegion[region]
			if md == nil || region == "001" {
				p = nil
				break
			}
			p.metadata = append(p.metadata, md)
		}
		if p != nil && len(p.metadata) > 0 {
			plans[cc] = p
		}
	}
	return plans
})

// planFor is the compiled plan of calling code cc; nil when it has none.
func planFor(cc int) *codePlan {
	p := codePlans()[cc]
	if p != nil {
		p.once.Do(p.compile)
	}
	return p
}

// compile builds the plan's patterns; one that does not compile leaves its
// part of the work to the library.
func (p *codePlan) compile() {
	p.parse = true
	if np := p.metadata[0].GetNationalPrefixForParsing(); np != "" {
		re, err := regexp.Compile("^(?:" + np + ")")
		p.nationalPrefix, p.parse = re, err == nil
	}
	p.valid = true
	for _, md := range p.metadata {
		v, err := newValidityPlan(md)
		if err != nil {
			p.valid, p.regions = false, nil
			return
		}
		p.regions = append(p.regions, v)
	}
}

// parseInternational parses "+<country code><number>" written with ASCII
// digits and the separators " -.()", the way Parse would, and says false
// whenever Parse might do anything else: a country code it would read as
// non-geographic or not at all, a national prefix after the code (Parse
// may strip or transform it), a leading zero (Italian numbers keep it in a
// field of their own), or a length Parse would refuse.
func parseInternational(raw string) (*phonenumbers.PhoneNumber, bool) {
	if len(raw) < 2 || raw[0] != '+' || len(raw) > 64 {
		return nil, false
	}
	var buf [24]byte
	digits := buf[:0]
	for i := 1; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			if len(digits) == cap(digits) {
				return nil, false
			}
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return nil, false
		}
	}
	// Parse refuses fewer than three digits after the "+" and more than
	// seventeen in the national number; stay well inside both.
	if len(digits) < 7 || len(digits) > 17 || digits[0] == '0' || raw[1] < '0' || raw[1] > '9' {
		return nil, false
	}
	for n := 1; n <= 3; n++ {
		cc, _ := strconv.Atoi(string(digits[:n]))
		if phonenumbers.GetRegionCodeForCountryCode(cc) == "ZZ" {
			continue
		}
		// Non-geographic codes have no plan: the library parses them.
		plan := planFor(cc)
		national := digits[n:]
		if plan == nil || !plan.parse || len(national) < 2 || national[0] == '0' ||
			(plan.nationalPrefix != nil && plan.nationalPrefix.Match(national)) {
			return nil, false
		}
		nn, err := strconv.ParseUint(string(national), 10, 64)
		if err != nil {
			return nil, false
		}
		code := int32(cc)
		return &phonenumbers.PhoneNumber{CountryCode: &code, NationalNumber: &nn}, true
	}
	return nil, false
}

// numberDesc is one of a region's number patterns, compiled once:
// phonenumbers looks each up in a locked cache (building its key) and runs
// it twice for every number it validates.
type numberDesc struct {
	lengths []int32
	pattern *regexp.Regexp
}

func (d numberDesc) matches(nsn string) bool {
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(nsn))) {
		return false
	}
	return d.pattern.MatchString(nsn)
}

// validityPlan is what validation reads from one region's metadata.
type validityPlan struct {
	leading *regexp.Regexp // the region's leading digits; nil when it has none
	general numberDesc
	types   []numberDesc // every type a valid number may have
}

// valid is whether the library would give nsn a type other than UNKNOWN
// in this region. Which type does not matter here, so the usual ones are
// tried first.
func (p *validityPlan) valid(nsn string) bool {
	if !p.general.matches(nsn) {
		return false
	}
	for _, d := range p.types {
		if d.matches(nsn) {
			return true
		}
	}
	return false
}

func newValidityPlan(md *phonenumbers.PhoneMetadata) (*validityPlan, error) {
	desc := func(d *phonenumbers.PhoneNumberDesc) (numberDesc, error) {
		re, err := regexp.Compile("^(?:" + d.GetNationalNumberPattern() + ")$")
		return numberDesc{lengths: d.GetPossibleLength(), pattern: re}, err
	}
	p := &validityPlan{}
	var err error
	if ld := md.GetLeadingDigits(); ld != "" {
		if p.leading, err = regexp.Compile("^(?:" + ld + ")"); err != nil {
			return nil, err
		}
	}
	if p.general, err = desc(md.GetGeneralDesc()); err != nil {
		return nil, err
	}
	types := []*phonenumbers.PhoneNumberDesc{md.GetMobile(), md.GetFixedLine(), md.GetTollFree(), md.GetPremiumRate(),
		md.GetSharedCost(), md.GetVoip(), md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail()}
	if md.GetSameMobileAndFixedLinePattern() {
		// The library does not try the mobile pattern then; it equals the
		// fixed-line one anyway.
		types = types[1:]
	}
	for _, t := range types {
		d, err := desc(t)
		if err != nil {
			return nil, err
		}
		p.types = append(p.types, d)
	}
	return p, nil
}

// validPhone is phonenumbers.IsValidNumber, with the region's patterns
// compiled once; TestValidPhoneMatchesLibrary holds the two equal.
func validPhone(num *phonenumbers.PhoneNumber) bool {
	plan := planFor(int(num.GetCountryCode()))
	if plan == nil || !plan.valid || num.GetItalianLeadingZero() {
		return phonenumbers.IsValidNumber(num)
	}
	list := plan.regions
	nsn := strconv.FormatUint(num.GetNationalNumber(), 10)
	if len(list) == 1 {
		return list[0].valid(nsn)
	}
	// Several regions share the code: the number belongs to the first
	// whose leading digits it starts with, or, for a region without them,
	// that it is valid in.
	for _, p := range list {
		if p.leading != nil {
			if p.leading.MatchString(nsn) {
				return p.valid(nsn)
			}
		} else if p.valid(nsn) {
			return true
		}
	}
	return false
}
