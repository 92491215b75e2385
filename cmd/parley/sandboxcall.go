package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// liveEvent and liveCall mirror GET /sandbox/calls/{id}/.
type liveEvent struct {
	Seq    int    `json:"seq"`
	Kind   string `json:"kind"`
	Text   string `json:"text"`
	Status string `json:"status"`
}

type liveCall struct {
	CallID string          `json:"call_id"`
	Status string          `json:"status"`
	Events []liveEvent     `json:"events"`
	Cursor int             `json:"cursor"`
	Ended  bool            `json:"ended"`
	Result json.RawMessage `json:"result"`
}

// callResult is what `sandbox call` prints of a call's result.
type callResult struct {
	Status     string `json:"status"`
	AnsweredBy string `json:"answered_by"`
	EndReason  string `json:"end_reason"`
	DurationMS int64  `json:"duration_ms"`
	Outcome    string `json:"outcome"`
	Summary    string `json:"summary"`
	Error      string `json:"error"`
	Recording  string `json:"recording_url"`
}

func (c *cli) sandboxCallCmd() *cobra.Command {
	var server, channelID, number, scenario, flowName, name string
	var say []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "call [--server URL] [--to-channel ID] [--number +1555…] [--scenario answer|busy|no_answer|voicemail|silence] [--flow NAME] [--say LINE…]",
		Short: "Be the callee: answer the next call a sandbox voice number places, talking with the AI agent in the terminal",
		Long: "Asks the running `parley serve --sandbox` (--server, env PARLEY_URL, default " + defaultServer + ") to let you answer the next call " +
			"its simulated voice number (--to-channel, default \"Sandbox voice line\") places to --number. With --flow the flow is started for " +
			"that number at once (its voice_call step places the call); without it the command waits for a flow to call. The agent's lines are " +
			"printed; type yours, one per line (an empty line or end of input hangs up), or give them with --say (repeatable: one after each of " +
			"the agent's lines, then it hangs up). --scenario busy, no_answer, voicemail or silence takes the call that way instead. When the " +
			"call ends it prints the result: status, outcome, summary and duration.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			sc := &sandboxClient{base: c.serverURL(server), hc: &http.Client{Timeout: 40 * time.Second}}
			id, err := sc.channel(ctx, channelID, "voice")
			if err != nil {
				return err
			}
			var call struct {
				ID        string `json:"id"`
				Number    string `json:"number"`
				Scenario  string `json:"scenario"`
				SessionID string `json:"session_id"`
			}
			body := map[string]any{"channel_id": id, "number": number, "scenario": scenario, "flow": flowName, "name": name}
			if err := sc.call(ctx, http.MethodPost, "/sandbox/calls/", body, &call); err != nil {
				return err
			}
			if flowName != "" {
				fmt.Fprintf(c.stdout, "Started %q for %s (session %s); waiting for its call…\n", flowName, call.Number, call.SessionID)
			} else {
				fmt.Fprintf(c.stdout, "Waiting for a call to %s (%s): start a flow with a voice step for that number.\n", call.Number, call.Scenario)
			}
			var lines <-chan string
			if len(say) == 0 && call.Scenario == "answer" {
				lines = readLines(cmd.InOrStdin())
			}
			return sc.followCall(ctx, c.stdout, call.ID, call.SessionID, say, lines)
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "the running Parley server (env PARLEY_URL; default "+defaultServer+")")
	cmd.Flags().StringVar(&channelID, "to-channel", "", "the simulated voice number that calls (default: the sandbox's \"Sandbox voice line\")")
	cmd.Flags().StringVar(&number, "number", "+15555550123", "your number: the call to it is yours (E.164)")
	cmd.Flags().StringVar(&scenario, "scenario", "answer", "how you take the call: answer (you talk), busy, no_answer, voicemail or silence")
	cmd.Flags().StringVar(&flowName, "flow", "", "start this published flow (name or ID) for your number now")
	cmd.Flags().StringVar(&name, "name", "Sandbox Callee", "your name, for the contact --flow starts for")
	cmd.Flags().StringArrayVar(&say, "say", nil, "a line to say after the agent's next line, instead of typing (repeatable)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long")
	return cmd
}

// readLines feeds the person's typed lines; it closes at end of input.
// The reading goroutine ends with its input (the process's stdin at exit).
func readLines(r io.Reader) <-chan string {
	out := make(chan string)
	go func() {
		defer close(out)
		s := bufio.NewScanner(r)
		for s.Scan() {
			out <- s.Text()
		}
	}()
	return out
}

// followCall prints the call as it happens, says the person's lines
// (scripted ones after each agent line, or typed ones as they come),
// and prints the result once the call is recorded.
func (sc *sandboxClient) followCall(ctx context.Context, w io.Writer, id, session string, script []string, typed <-chan string) error {
	path := "/sandbox/calls/" + url.PathEscape(id) + "/"
	say := func(text string) error {
		if strings.TrimSpace(text) == "" {
			fmt.Fprintln(w, "(you hang up)")
			return sc.call(ctx, http.MethodPost, path+"hangup/", nil, nil)
		}
		return sc.call(ctx, http.MethodPost, path+"lines/", map[string]string{"text": text}, nil)
	}
	after, answered, ended, hungUp := 0, false, false, false
	for {
		wait := 20000
		if typed != nil && answered && !ended {
			wait = 300 // look at the keyboard often
		}
		var v liveCall
		if err := sc.call(ctx, http.MethodGet, path+"?after="+strconv.Itoa(after)+"&wait_ms="+strconv.Itoa(wait)+"&session_id="+url.QueryEscape(session), nil, &v); err != nil {
			return err
		}
		after = v.Cursor
		for _, e := range v.Events {
			switch e.Kind {
			case "ringing":
				fmt.Fprintln(w, "☎ ringing…")
			case "answered":
				answered = true
				if typed != nil {
					fmt.Fprintln(w, "You answered. Type what you say, one line at a time (an empty line hangs up).")
				} else {
					fmt.Fprintln(w, "You answered.")
				}
			case "agent":
				fmt.Fprintf(w, "agent: %s\n", e.Text)
				if typed == nil && !hungUp && answered {
					if len(script) == 0 {
						hungUp = true
						if err := say(""); err != nil {
							return err
						}
						continue
					}
					fmt.Fprintf(w, "you: %s\n", script[0])
					if err := say(script[0]); err != nil {
						return err
					}
					script = script[1:]
				}
			case "ended":
				ended = true
				fmt.Fprintf(w, "The call ended (%s).\n", strings.ReplaceAll(e.Status, "_", " "))
			}
		}
		if len(v.Result) > 0 {
			printCallResult(w, v.Result)
			return nil
		}
		if typed != nil && answered && !ended && !hungUp {
			select {
			case line, ok := <-typed:
				if !ok || strings.TrimSpace(line) == "" {
					hungUp = true
					line = ""
				}
				if err := say(line); err != nil && !hungUp {
					fmt.Fprintf(w, "(%v)\n", err)
				}
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if ended {
			// The result comes once the call is classified and recorded.
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
			}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("the call did not end in time: %w", err)
		}
	}
}

// printCallResult prints what the call came to.
func printCallResult(w io.Writer, raw json.RawMessage) {
	var r callResult
	if err := json.Unmarshal(raw, &r); err != nil {
		fmt.Fprintf(w, "result: %s\n", raw)
		return
	}
	fmt.Fprintf(w, "Result: %s", r.Status)
	if r.EndReason != "" {
		fmt.Fprintf(w, " (%s)", strings.ReplaceAll(r.EndReason, "_", " "))
	}
	if r.Status == "completed" {
		fmt.Fprintf(w, ", %s", (time.Duration(r.DurationMS) * time.Millisecond).Round(time.Second))
	}
	fmt.Fprintln(w)
	if r.Outcome != "" {
		fmt.Fprintf(w, "Outcome: %s\n", r.Outcome)
	}
	if r.Summary != "" {
		fmt.Fprintf(w, "Summary: %s\n", r.Summary)
	}
	if r.Recording != "" {
		fmt.Fprintf(w, "Recording: %s\n", r.Recording)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "Error: %s\n", r.Error)
	}
}
