package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/expr"
	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/httpclient"
	"github.com/parleyhq/parley/internal/script"
)

func (c *cli) flowCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "flow", Short: "Work with chat flow files"}
	var name string
	var vars []string
	run := &cobra.Command{
		Use:   "run FILE.json",
		Short: "Run an exported flow in the terminal: type replies, a number taps a button, /timeout fires the timer, /quit stops",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			initial := map[string]any{}
			for _, kv := range vars {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--var %q: write name=value", kv)
				}
				initial[k] = v
			}
			return runFlowFile(cmd.Context(), b, name, initial, cmd.InOrStdin(), c.stdout, args[0])
		},
	}
	run.Flags().StringVar(&name, "name", "You", "the contact's name")
	run.Flags().StringArrayVar(&vars, "var", nil, "an initial variable, name=value (repeatable)")
	cmd.AddCommand(run)
	return cmd
}

// runFlowFile runs a flow document on the engine, reading the contact's
// replies from in and writing the conversation to out.
func runFlowFile(ctx context.Context, doc []byte, name string, vars map[string]any, in io.Reader, out io.Writer, file string) error {
	d, err := flow.Import(doc)
	if err != nil {
		return fmt.Errorf("reading the flow: %w", err)
	}
	prog, err := flow.Compile(d.FlowData, flow.CompileOptions{})
	if err != nil {
		return fmt.Errorf("the flow cannot run: %w", err)
	}
	eng, err := engine.New(engine.Services{Clock: domain.SystemClock{}, IDs: domain.UUIDv7{}, HTTP: httpclient.New(), Scripts: script.New(script.Limits{})})
	if err != nil {
		return err
	}
	if d.Flow.Name == "" {
		d.Flow.Name = file
	}
	f := engine.Flow{ID: "file", Name: d.Flow.Name, Revision: 1, Program: prog}
	contact := expr.Contact{ID: "terminal", Name: name}
	s, events, err := eng.Start(ctx, f, contact, engine.Trigger{Vars: vars})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Running %q. Type replies; a number taps a button or list row; /timeout fires the timer; /quit stops.\n\n", d.Flow.Name)
	lines := bufio.NewScanner(in)
	var last *engine.Message
	for {
		for _, e := range events {
			printEvent(out, e, &last)
		}
		if s.Status.Ended() {
			fmt.Fprintf(out, "\n[session %s", s.Status)
			if s.EndReason != "" {
				fmt.Fprintf(out, ": %s", s.EndReason)
			}
			fmt.Fprintln(out, "]")
			printVars(out, s.Vars)
			return nil
		}
		fmt.Fprintf(out, "[waiting for %s", s.Wait.Kind)
		if !s.Wait.TimeoutAt.IsZero() {
			fmt.Fprintf(out, ", times out in %s", time.Until(s.Wait.TimeoutAt).Round(time.Second))
		}
		fmt.Fprint(out, "]\n> ")
		if !lines.Scan() {
			fmt.Fprintln(out, "\n[input ended; the session is still waiting]")
			return lines.Err()
		}
		text := strings.TrimSpace(lines.Text())
		var input engine.Input
		switch {
		case text == "/quit":
			fmt.Fprintln(out, "[stopped]")
			return nil
		case text == "/timeout":
			input = engine.Input{Kind: engine.InputTimer, Seq: s.Wait.Seq}
		case text == "/release":
			input = engine.Input{Kind: engine.InputRelease}
		default:
			input = replyTo(last, text)
		}
		if events, err = eng.Resume(ctx, f, s, input); err != nil {
			return err
		}
	}
}

// replyTo reads a typed line as a tap when it picks a button or row of the
// bot's last message, else as text.
func replyTo(last *engine.Message, text string) engine.Input {
	n, err := strconv.Atoi(text)
	if last != nil {
		if len(last.Buttons) > 0 {
			for i, b := range last.Buttons {
				if (err == nil && n == i+1) || strings.EqualFold(text, b) {
					return engine.Input{Kind: engine.InputButton, Button: b, Text: b}
				}
			}
		}
		if last.List != nil {
			i := 0
			for _, sec := range last.List.Sections {
				for _, row := range sec.Rows {
					i++
					if (err == nil && n == i) || strings.EqualFold(text, row.Title) || text == row.ID {
						return engine.Input{Kind: engine.InputList, ListID: row.ID, Text: row.Title}
					}
				}
			}
		}
		if last.Template != nil {
			for i, b := range last.Template.QuickReplies {
				if (err == nil && n == i+1) || strings.EqualFold(text, b) {
					return engine.Input{Kind: engine.InputButton, Button: b, Text: b}
				}
			}
		}
	}
	return engine.Input{Kind: engine.InputText, Text: text}
}

func printEvent(out io.Writer, e engine.Event, last **engine.Message) {
	switch e.Kind {
	case engine.EventMessageOut:
		m := e.Message
		*last = m
		switch {
		case m.Template != nil:
			fmt.Fprintf(out, "bot: [template %s] %s\n", m.Template.Name, strings.Join(m.Template.Body, " | "))
			for i, b := range m.Template.QuickReplies {
				fmt.Fprintf(out, "     (%d) %s\n", i+1, b)
			}
		case m.Flow != nil:
			fmt.Fprintf(out, "bot: %s [form %q: %s]\n", m.Flow.Body, m.Flow.ID, m.Flow.CTA)
		default:
			fmt.Fprintf(out, "bot: %s\n", m.Text)
		}
		if m.Media != nil {
			fmt.Fprintf(out, "     [%s %s]\n", m.Media.Type, m.Media.URL)
		}
		for i, b := range m.Buttons {
			fmt.Fprintf(out, "     (%d) %s\n", i+1, b)
		}
		if m.List != nil {
			i := 0
			fmt.Fprintf(out, "     [%s]\n", m.List.Button)
			for _, sec := range m.List.Sections {
				for _, row := range sec.Rows {
					i++
					fmt.Fprintf(out, "     (%d) %s\n", i, row.Title)
				}
			}
		}
	case engine.EventError:
		fmt.Fprintf(out, "     ! error at %s: %s\n", e.Node, e.Text)
	case engine.EventInputIgnored:
		fmt.Fprintf(out, "     (ignored: %s)\n", e.Text)
	case engine.EventHTTPCalled:
		fmt.Fprintf(out, "     [http %s %s → %d %s]\n", e.HTTP.Method, e.HTTP.URL, e.HTTP.Status, e.HTTP.Error)
	case engine.EventContactChanged:
		fmt.Fprintf(out, "     [contact: %s %s]\n", e.Change, e.Name)
	}
}

func printVars(out io.Writer, vars map[string]any) {
	if len(vars) == 0 {
		return
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(out, "variables:")
	for _, k := range keys {
		b, _ := json.Marshal(vars[k])
		fmt.Fprintf(out, "  %s = %s\n", k, b)
	}
}
