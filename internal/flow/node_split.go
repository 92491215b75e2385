package flow

import "strconv"

// TypeSplit sends contacts down random branches by weight.
const TypeSplit = "split"

// SplitData is the data of a split node.
type SplitData struct {
	Branches []BranchData `json:"branches" flow:"required"`
}

// BranchData is one branch of a split; its id names the exit.
type BranchData struct {
	ID     string  `json:"id" flow:"required"`
	Label  string  `json:"label,omitempty"`
	Weight float64 `json:"weight" flow:"required,default=50" doc:"Relative weight (>= 0)."`
}

// SplitConfig configures a split node: exit k is branch k.
type SplitConfig struct {
	Branches []Branch
	// Total is the sum of the weights (> 0).
	Total float64
}

// Branch is a weighted split branch.
type Branch struct {
	ID, Label string
	Weight    float64
}

// KindSplit is the Kind of split nodes.
const KindSplit Kind = 7

var splitNode = def[SplitData]{
	kind: KindSplit,
	NodeType: NodeType{Type: TypeSplit, Group: GroupLogic, Label: "Random split", Description: "Sends contacts down random branches by weight (A/B tests).",
		Palette: true, Available: true,
		Exits:        Exits{Dynamic: []DynamicExits{{From: "branches[*]", ID: "id", Label: "label", Detail: "weight", Always: true}}},
		DynamicExits: "one exit per branch id",
		Limits:       []Limit{atLeast("branches[*].weight", 0, "weights must not be negative")},
		Defaults: map[string]any{"branches": []any{map[string]any{"id": "a", "label": "A", "weight": 50},
			map[string]any{"id": "b", "label": "B", "weight": 50}}}},
	aliases: []string{"randomsplit", "abtest", "splitbyrandom", "randomizer"},
	check: func(a *analysis, i int, d *SplitData) {
		if len(d.Branches) == 0 {
			a.nodeErr(i, CodeMissingField, "/data/branches", "%s needs at least one branch", a.label(i))
		}
		total := 0.0
		ids := map[string]bool{}
		for k, b := range d.Branches {
			p := "/data/branches/" + strconv.Itoa(k)
			if b.Weight < 0 {
				a.nodeErr(i, CodeInvalidValue, p+"/weight", "%s: branch %q has a negative weight", a.label(i), b.ID)
			}
			total += b.Weight
			if b.ID != "" && ids[b.ID] {
				a.nodeErr(i, CodeDuplicateExitName, p+"/id", "%s: branch id %q is used twice; branch ids name exits and must be unique", a.label(i), b.ID)
			}
			ids[b.ID] = true
		}
		if len(d.Branches) > 0 && total <= 0 {
			a.nodeErr(i, CodeInvalidValue, "/data/branches", "%s: the branch weights add up to 0; give at least one branch a positive weight", a.label(i))
		}
	},
	compile: func(_ *compiler, d *SplitData) any {
		s := &SplitConfig{Branches: make([]Branch, len(d.Branches))}
		for i, b := range d.Branches {
			s.Branches[i] = Branch{ID: b.ID, Label: b.Label, Weight: b.Weight}
			s.Total += b.Weight
		}
		return s
	},
}

// Pick returns the branch exit for a uniform random number r in [0, 1).
func (s *SplitConfig) Pick(r float64) int {
	x := r * s.Total
	for i, b := range s.Branches {
		if x < b.Weight {
			return i
		}
		x -= b.Weight
	}
	for i := len(s.Branches) - 1; i >= 0; i-- {
		if s.Branches[i].Weight > 0 {
			return i
		}
	}
	return 0
}
