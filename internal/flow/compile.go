package flow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/parleyhq/parley/internal/expr"
)

// CompileOptions configures Compile.
type CompileOptions struct {
	// Env checks references into the project and supplies template quick
	// replies; nil skips those checks.
	Env LintEnv
	// Limits of the compiled expressions; zero fields keep the defaults.
	Limits expr.Limits
}

// Compile lints the graph and, when it has no errors, compiles it into a
// Program. A graph with errors returns a *LintError listing all of them.
// The result depends only on the graph and the env's answers.
func Compile(g Graph, opts CompileOptions) (*Program, error) {
	a := analyze(g, opts.Env)
	if len(g.Nodes) <= MaxNodes {
		a.graphRules()
	}
	if errs := a.out.Errors(); len(errs) > 0 {
		return nil, &LintError{Problems: errs}
	}
	canon, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("fingerprinting the graph: %w", err)
	}
	sum := sha256.Sum256(canon)
	c := compiler{opts: []expr.Option{expr.WithLimits(opts.Limits)}}
	p := &Program{Start: a.start, Hash: hex.EncodeToString(sum[:]), Steps: make([]Step, len(g.Nodes)), index: make(map[string]int, len(g.Nodes))}
	for i, n := range g.Nodes {
		info := a.nodes[i]
		st := Step{ID: n.ID, Type: n.Type, Kind: info.spec.kind, Waits: info.waits, Exits: make([]Exit, len(info.exits))}
		for k, x := range info.exits {
			st.Exits[k] = Exit{Name: x.name, Target: NoTarget}
			if e := info.out[k]; e >= 0 {
				st.Exits[k].Target = a.edges[e].dst
				st.Exits[k].EdgeID = g.Edges[e].ID
			}
		}
		st.Config = info.spec.compile(&c, info.data)
		if c.err != nil {
			return nil, fmt.Errorf("compiling node %q: %w", n.ID, c.err)
		}
		p.Steps[i] = st
		p.index[n.ID] = i
	}
	p.Trigger = p.Steps[p.Start].Config.(*StartConfig).Trigger
	return p, nil
}

// compiler builds typed configs; the first error sticks. Errors can only
// come from a linter gap since the graph is lint-clean.
type compiler struct {
	opts []expr.Option
	err  error
}

func (c *compiler) tpl(s string) *expr.Template {
	if s == "" {
		return nil
	}
	t, err := expr.ParseTemplate(s, c.opts...)
	if err != nil && c.err == nil {
		c.err = err
	}
	return t
}

func (c *compiler) tplOrEmpty(s string) *expr.Template {
	if t := c.tpl(s); t != nil {
		return t
	}
	return c.tplMust("")
}

func (c *compiler) tplMust(s string) *expr.Template {
	t, err := expr.ParseTemplate(s, c.opts...)
	if err != nil && c.err == nil {
		c.err = err
	}
	return t
}

func (c *compiler) tpls(list []string) []*expr.Template {
	out := make([]*expr.Template, len(list))
	for i, s := range list {
		out[i] = c.tplMust(s)
	}
	return out
}

func (c *compiler) regex(s string) *regexp.Regexp {
	re, err := regexp.Compile(s)
	if err != nil && c.err == nil {
		c.err = err
	}
	return re
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
