package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestEvalSet checks the evaluation set itself: enough descriptions, the
// categories the issue names, unique ids.
func TestEvalSet(t *testing.T) {
	t.Parallel()
	set, err := LoadEvalSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Cases) < 30 {
		t.Fatalf("%d cases; the evaluation set needs at least 30", len(set.Cases))
	}
	ids, cats := map[string]bool{}, map[string]int{}
	for _, c := range set.Cases {
		if ids[c.ID] {
			t.Errorf("duplicate id %s", c.ID)
		}
		ids[c.ID] = true
		cats[c.Category]++
	}
	for _, want := range []string{"bookings", "lead capture", "surveys", "support triage", "order status", "opt-in"} {
		if cats[want] < 3 {
			t.Errorf("category %q has %d cases, want ≥ 3", want, cats[want])
		}
	}
}

// TestBenchMechanicsAgainstFake runs the whole evaluation set through the
// generator against the in-repo fake in echo mode: every case is answered,
// a third need a repair round (the fake's deliberate dangling edge), all
// end lint-clean with their test conversations passing, and the report
// counts them.
func TestBenchMechanicsAgainstFake(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	rep, err := Run(context.Background(), Config{Fake: true}, &log)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := LoadEvalSet()
	if rep.Cases != len(set.Cases) || rep.Errors != 0 || rep.Clean != rep.Cases || rep.AllTests != rep.Cases {
		t.Fatalf("report = %+v\n%s", rep, log.String())
	}
	if rep.FirstClean == rep.Cases || rep.FirstClean == 0 {
		t.Errorf("first-answer clean = %d of %d: the fake should need repair for some", rep.FirstClean, rep.Cases)
	}
	repaired := 0
	for _, r := range rep.Results {
		if r.Rounds > 0 {
			repaired++
			if r.FirstClean || r.Calls != r.Rounds+1 {
				t.Errorf("%s: %+v", r.ID, r)
			}
		}
		if r.PromptTok == 0 || r.OutputTok == 0 || r.Tests == 0 {
			t.Errorf("%s: no tokens or tests counted: %+v", r.ID, r)
		}
	}
	if repaired != rep.Cases-rep.FirstClean {
		t.Errorf("repaired %d, first-clean %d, cases %d", repaired, rep.FirstClean, rep.Cases)
	}
	var out bytes.Buffer
	Print(&out, rep)
	for _, want := range []string{"lint-clean on the first answer", "lint-clean after repair", "test conversations all pass", "latency per flow", "tokens:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed report lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := Run(context.Background(), Config{}, &log); err == nil || !strings.Contains(err.Error(), "-provider-url") {
		t.Errorf("no provider: err = %v", err)
	}
}
