package campaignreport

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
)

// VoiceReport is what the campaign's voice calls came to. Placed is every
// call that left the queue; of those, Completed reached a person (the
// transferred ones included), the failures split by reason, and InProgress
// are still under way.
type VoiceReport struct {
	Placed     int64 `json:"placed"`
	InProgress int64 `json:"in_progress"`
	Completed  int64 `json:"completed"`
	// Transferred is how many completed calls were handed to a person:
	// by the AI itself (transfer_to), or held by it for the flow and
	// then taken by a voice_transfer step's target.
	Transferred int64 `json:"transferred"`
	// Failed is Busy + NoAnswer + Machine + Errors.
	Failed   int64 `json:"failed"`
	Busy     int64 `json:"busy"`
	NoAnswer int64 `json:"no_answer"`
	// Machine counts calls an answering machine took.
	Machine int64 `json:"machine"`
	// Errors counts calls that could not be placed or broke off (the
	// provider failed, the model failed, the process died: interrupted).
	Errors int64 `json:"errors"`
	// AvgDurationSeconds is the mean talk time of completed calls.
	AvgDurationSeconds float64 `json:"avg_duration_seconds"`
	// TransferRate is Transferred ÷ Completed (the answered calls), in percent.
	TransferRate float64 `json:"transfer_rate"`
	// Outcomes counts the classified outcomes of completed calls, most first.
	Outcomes []OutcomeCount `json:"outcomes"`
}

// OutcomeCount is one outcome label and how many calls ended with it.
type OutcomeCount struct {
	Outcome string `json:"outcome"`
	Count   int64  `json:"count"`
}

// buildVoice reads the campaign's calls into a VoiceReport.
func buildVoice(ctx context.Context, st Store, p Params) (VoiceReport, error) {
	v := VoiceReport{Outcomes: []OutcomeCount{}}
	outcomes := map[string]int64{}
	var talk time.Duration
	// held counts, by session, the calls held for the flow's transfer and
	// not yet transferred: the calls come by session then creation, so a
	// transfer follows the call it took.
	held := map[string]int{}
	err := st.CampaignCallsScan(ctx, store.CampaignCallsScanParams{ProjectID: p.ProjectID, CampaignID: p.CampaignID,
		Each: func(c store.CampaignCall) error {
			if c.Direction == string(voice.Transferring) {
				var r voice.Result
				if c.EndedAt != nil && len(c.Result) > 0 && json.Unmarshal(c.Result, &r) == nil && r.Exit() == "transferred" && held[c.SessionID] > 0 {
					held[c.SessionID]--
					v.Transferred++
				}
				return nil
			}
			if c.Status == store.CallQueued {
				return nil
			}
			v.Placed++
			if c.EndedAt == nil || len(c.Result) == 0 {
				v.InProgress++
				return nil
			}
			var r voice.Result
			if err := json.Unmarshal(c.Result, &r); err != nil {
				return fmt.Errorf("reading the result of call %s: %w", c.CallID, err)
			}
			switch {
			case r.AnsweredBy == voice.AnsweredMachine || r.EndReason == voice.EndMachine:
				v.Machine++
			case r.Exit() == "completed" || r.Exit() == "transferred":
				v.Completed++
				talk += r.Duration
				switch {
				case r.Exit() == "transferred" && r.Transfer.Pending:
					held[c.SessionID]++
				case r.Exit() == "transferred":
					v.Transferred++
				}
				if r.Outcome != "" {
					outcomes[r.Outcome]++
				}
			case r.Status == voice.StatusBusy:
				v.Busy++
			case r.Status == voice.StatusNoAnswer || r.Status == voice.StatusCanceled:
				v.NoAnswer++
			default:
				v.Errors++
			}
			return nil
		}})
	if err != nil {
		return VoiceReport{}, err
	}
	v.Failed = v.Busy + v.NoAnswer + v.Machine + v.Errors
	if v.Completed > 0 {
		v.AvgDurationSeconds = float64(int64(talk.Seconds()/float64(v.Completed)*10+0.5)) / 10
	}
	v.TransferRate = rate(v.Transferred, v.Completed)
	for o, n := range outcomes {
		v.Outcomes = append(v.Outcomes, OutcomeCount{Outcome: o, Count: n})
	}
	sort.Slice(v.Outcomes, func(i, j int) bool {
		a, b := v.Outcomes[i], v.Outcomes[j]
		return a.Count > b.Count || a.Count == b.Count && a.Outcome < b.Outcome
	})
	return v, nil
}
