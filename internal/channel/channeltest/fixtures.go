// Package channeltest holds what every channel adapter's tests share: the
// conformance suite (Run) that each adapter passes, and access to the real
// fixtures in ../shared/fixtures (beside the module root), which tests read
// in place and skip without. Fixtures are never copied into the repository.
package channeltest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// FixturesDir returns the absolute path of the shared fixtures folder (the
// module root's ../shared/fixtures) joined with sub, or skips the test with a
// clear message when it is absent.
func FixturesDir(tb testing.TB, sub ...string) string {
	tb.Helper()
	dir, ok := fixturesDir(sub...)
	if !ok {
		tb.Skipf("shared fixtures not found at %s: skipping the fixture conformance test (clone ../shared beside the repository to run it)", dir)
	}
	return dir
}

// FixturesDirOK is FixturesDir without skipping, for fuzz seeding.
func FixturesDirOK(sub ...string) (string, bool) { return fixturesDir(sub...) }

func fixturesDir(sub ...string) (string, bool) {
	root, err := moduleRoot()
	if err != nil {
		return "../shared/fixtures", false
	}
	dir := filepath.Join(append([]string{filepath.Dir(root), "shared", "fixtures"}, sub...)...)
	if _, err := os.Stat(dir); err != nil {
		return dir, false
	}
	return dir, true
}

// moduleRoot finds the directory holding go.mod, from the working
// directory (a package directory while testing) upwards.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// Case is one named JSON document of a fixture file.
type Case struct {
	File string
	Name string
	JSON json.RawMessage
}

// LoadCases reads every *.json file of dir that holds an object of named
// documents (pywa's layout: {"case": {...}, ...}) and returns the cases
// sorted by file and name.
func LoadCases(tb testing.TB, dir string) []Case {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []Case
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			tb.Fatalf("reading %s: %v", f, err)
		}
		for name, doc := range m {
			out = append(out, Case{File: filepath.Base(f), Name: name, JSON: doc})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Name < out[j].Name
	})
	return out
}
