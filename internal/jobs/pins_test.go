package jobs_test

import (
	"os"
	"regexp"
	"testing"
)

// TestRiverModulesAgree: River's modules only work together at one version
// (and the module proxy here serves only some versions), so go.mod must pin
// them all alike.
func TestRiverModulesAgree(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*(github\.com/riverqueue/river(?:/[a-z/]+)?) (v\S+)`)
	versions := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		versions[m[1]] = m[2]
	}
	if len(versions) < 3 {
		t.Fatalf("found only %d River modules in go.mod: %v", len(versions), versions)
	}
	want := versions["github.com/riverqueue/river"]
	for mod, v := range versions {
		if v != want {
			t.Errorf("%s is at %s but github.com/riverqueue/river is at %s; move them together", mod, v, want)
		}
	}
}
