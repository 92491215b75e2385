// Command ai runs Parley's evaluation set for the chat-flow generator
// (evalset.json: bookings, lead capture, surveys, support triage, order
// status, opt-in…) against any OpenAI-compatible provider and reports, per
// description and in total: lint-clean on the first answer, lint-clean
// after repair, test conversations passing, latency and tokens.
//
//	go run ./bench/ai -provider-url http://localhost:11434/v1 -model qwen2.5:7b
//	go run ./bench/ai -fake            # the in-repo fake (mechanics only)
package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/ai/aitest"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/secret"
	"github.com/parleyhq/parley/internal/store"
)

//go:embed evalset.json
var evalsetJSON []byte

// Case is one description of the evaluation set.
type Case struct {
	ID           string   `json:"id"`
	Category     string   `json:"category"`
	Description  string   `json:"description,omitempty"`
	Outline      string   `json:"outline,omitempty"`
	Language     string   `json:"language,omitempty"`
	ChannelTypes []string `json:"channel_types,omitempty"`
}

// EvalSet is evalset.json.
type EvalSet struct {
	About string `json:"about"`
	Cases []Case `json:"cases"`
}

// LoadEvalSet reads the embedded evaluation set.
func LoadEvalSet() (EvalSet, error) {
	var s EvalSet
	if err := json.Unmarshal(evalsetJSON, &s); err != nil {
		return s, fmt.Errorf("reading evalset.json: %w", err)
	}
	for i, c := range s.Cases {
		if c.ID == "" || (c.Description == "" && c.Outline == "") {
			return s, fmt.Errorf("evalset.json: case %d needs an id and a description or outline", i)
		}
	}
	return s, nil
}

// Config is what a run needs.
type Config struct {
	ProviderURL string
	Model       string
	APIKey      string
	JSONMode    string
	Timeout     time.Duration
	MaxTokens   int
	// Fake runs against the in-repo fake in its echo mode.
	Fake bool
	// Only keeps the cases whose id contains it.
	Only string
}

// Result is one case's outcome.
type Result struct {
	ID          string `json:"id"`
	Category    string `json:"category"`
	Status      string `json:"status"` // ready, tests_failing, has_problems, error
	FirstClean  bool   `json:"lint_clean_first_answer"`
	Clean       bool   `json:"lint_clean_after_repair"`
	Rounds      int    `json:"repair_rounds"`
	TestsPassed int    `json:"tests_passed"`
	Tests       int    `json:"tests"`
	LatencyMS   int64  `json:"latency_ms"`
	Calls       int    `json:"calls"`
	PromptTok   int    `json:"prompt_tokens"`
	OutputTok   int    `json:"output_tokens"`
	Error       string `json:"error,omitempty"`
	Problems    int    `json:"lint_errors"`
}

// Report is a whole run.
type Report struct {
	Provider   string   `json:"provider"`
	Model      string   `json:"model"`
	JSONMode   string   `json:"json_mode"`
	Started    string   `json:"started"`
	Results    []Result `json:"results"`
	Cases      int      `json:"cases"`
	FirstClean int      `json:"lint_clean_first_answer"`
	Clean      int      `json:"lint_clean_after_repair"`
	Errors     int      `json:"errors"`
	TestsPass  int      `json:"tests_passed"`
	Tests      int      `json:"tests"`
	AllTests   int      `json:"flows_with_all_tests_passing"`
	P50MS      int64    `json:"latency_p50_ms"`
	P90MS      int64    `json:"latency_p90_ms"`
	PromptTok  int      `json:"prompt_tokens"`
	OutputTok  int      `json:"output_tokens"`
}

// Run runs the evaluation set and reports; progress lines go to log.
func Run(ctx context.Context, cfg Config, log io.Writer) (Report, error) {
	set, err := LoadEvalSet()
	if err != nil {
		return Report{}, err
	}
	if cfg.Fake {
		fake := aitest.New("parley-echo")
		defer fake.Close()
		fake.Fallback(aitest.FlowEcho)
		cfg.ProviderURL, cfg.Model = fake.BaseURL(), "parley-echo"
	}
	if cfg.ProviderURL == "" || cfg.Model == "" {
		return Report{}, errors.New("give -provider-url and -model (e.g. -provider-url http://localhost:11434/v1 -model qwen2.5:7b), or -fake")
	}
	if cfg.JSONMode == "" {
		cfg.JSONMode = ai.JSONSchema
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Duration(ai.DefaultTimeoutSeconds) * time.Second
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = ai.DefaultMaxTokens
	}
	key := make([]byte, secret.KeySize)
	if _, err := rand.Read(key); err != nil {
		return Report{}, fmt.Errorf("making a key to seal the API key with: %w", err)
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return Report{}, err
	}
	prov := store.AIProvider{ID: "bench", Name: "bench", BaseURL: cfg.ProviderURL, Model: cfg.Model, JSONMode: cfg.JSONMode,
		TimeoutSeconds: int(cfg.Timeout / time.Second), MaxTokens: cfg.MaxTokens}
	if cfg.APIKey != "" {
		if prov.APIKeySealed, err = box.Seal(cfg.APIKey); err != nil {
			return Report{}, fmt.Errorf("sealing the API key: %w", err)
		}
	}
	svc := ai.New(ai.Deps{Box: box, Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}})
	rep := Report{Provider: cfg.ProviderURL, Model: cfg.Model, JSONMode: cfg.JSONMode, Started: time.Now().UTC().Format(time.RFC3339), Results: []Result{}}
	if cfg.Fake {
		rep.Provider = "in-repo fake (echo mode)"
	}
	for _, c := range set.Cases {
		if cfg.Only != "" && !strings.Contains(c.ID, cfg.Only) {
			continue
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		r := runCase(ctx, svc, prov, c)
		rep.Results = append(rep.Results, r)
		fmt.Fprintf(log, "%-24s %-14s rounds %d  tests %d/%d  %6d ms  %s\n", r.ID, r.Status, r.Rounds, r.TestsPassed, r.Tests, r.LatencyMS, r.Error)
	}
	summarize(&rep)
	return rep, nil
}

func runCase(ctx context.Context, svc *ai.Service, prov store.AIProvider, c Case) Result {
	r := Result{ID: c.ID, Category: c.Category}
	p := ai.GenerateParams{ProjectID: "bench", Description: c.Description, Outline: c.Outline, Language: c.Language, ChannelTypes: c.ChannelTypes}
	start := time.Now()
	d, err := svc.GenerateWith(ctx, prov, p, nil)
	r.LatencyMS = time.Since(start).Milliseconds()
	r.Calls, r.PromptTok, r.OutputTok = d.Usage.Calls, d.Usage.PromptTokens, d.Usage.OutputTokens
	if err != nil {
		r.Status, r.Error = "error", err.Error()
		return r
	}
	r.Status, r.Rounds, r.Clean = d.Status, d.Rounds, d.Lints
	r.FirstClean = d.Lints && d.Rounds == 0
	for _, pr := range d.Problems {
		if pr.Severity == "error" {
			r.Problems++
		}
	}
	r.Tests = len(d.Tests)
	for _, t := range d.Tests {
		if t.Passed {
			r.TestsPassed++
		}
	}
	return r
}

func summarize(rep *Report) {
	var lat []int64
	for _, r := range rep.Results {
		rep.Cases++
		lat = append(lat, r.LatencyMS)
		rep.PromptTok += r.PromptTok
		rep.OutputTok += r.OutputTok
		rep.TestsPass += r.TestsPassed
		rep.Tests += r.Tests
		switch {
		case r.Status == "error":
			rep.Errors++
		case r.Clean:
			rep.Clean++
		}
		if r.FirstClean {
			rep.FirstClean++
		}
		if r.Clean && r.Tests > 0 && r.TestsPassed == r.Tests {
			rep.AllTests++
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		rep.P50MS = lat[(len(lat)-1)/2]
		rep.P90MS = lat[(len(lat)-1)*9/10]
	}
}

// Print writes the report as a table.
func Print(w io.Writer, rep Report) {
	fmt.Fprintf(w, "\nprovider %s, model %s, json mode %s, %s\n\n", rep.Provider, rep.Model, rep.JSONMode, rep.Started)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tcategory\tstatus\tclean 1st\tclean\trounds\ttests\tms\tcalls\tprompt tok\toutput tok")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%d\t%d/%d\t%d\t%d\t%d\t%d\n", r.ID, r.Category, r.Status, r.FirstClean, r.Clean, r.Rounds, r.TestsPassed, r.Tests, r.LatencyMS, r.Calls, r.PromptTok, r.OutputTok)
	}
	_ = tw.Flush()
	pct := func(n int) string {
		if rep.Cases == 0 {
			return "-"
		}
		return fmt.Sprintf("%d/%d (%.0f%%)", n, rep.Cases, 100*float64(n)/float64(rep.Cases))
	}
	fmt.Fprintf(w, "\nlint-clean on the first answer: %s\nlint-clean after repair (≤%d rounds): %s\nflows whose test conversations all pass: %s (%d/%d conversations)\nprovider errors: %d\nlatency per flow: p50 %d ms, p90 %d ms\ntokens: %d prompt, %d output (%d per flow)\n",
		pct(rep.FirstClean), ai.MaxRepairRounds, pct(rep.Clean), pct(rep.AllTests), rep.TestsPass, rep.Tests, rep.Errors, rep.P50MS, rep.P90MS,
		rep.PromptTok, rep.OutputTok, (rep.PromptTok+rep.OutputTok)/max(rep.Cases, 1))
}

func main() {
	var cfg Config
	var out string
	flag.StringVar(&cfg.ProviderURL, "provider-url", "", "the provider's API root, e.g. http://localhost:11434/v1 (Ollama) or https://api.openai.com/v1")
	flag.StringVar(&cfg.Model, "model", "", "the model, e.g. qwen2.5:7b or gpt-4o-mini")
	flag.StringVar(&cfg.APIKey, "api-key", os.Getenv("PARLEY_AI_API_KEY"), "the API key (default $PARLEY_AI_API_KEY)")
	flag.StringVar(&cfg.JSONMode, "json-mode", ai.JSONSchema, "json_schema or json_object (the schema goes in the prompt)")
	flag.DurationVar(&cfg.Timeout, "timeout", 120*time.Second, "per call")
	flag.IntVar(&cfg.MaxTokens, "max-tokens", ai.DefaultMaxTokens, "per call")
	flag.BoolVar(&cfg.Fake, "fake", false, "run against the in-repo fake provider (echo mode): checks the mechanics, not a model")
	flag.StringVar(&cfg.Only, "only", "", "run only the cases whose id contains this")
	flag.StringVar(&out, "json", "", "also write the report as JSON to this file")
	flag.Parse()
	rep, err := Run(context.Background(), cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/ai:", err)
		os.Exit(1)
	}
	Print(os.Stdout, rep)
	if out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench/ai:", err)
			os.Exit(1)
		}
	}
}
