package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/store"
)

// TestDraftIsEvictedWhenTheSimulationEnds: a simulator session on a draft
// keeps its compiled program while it waits, and the program is dropped
// once the session ends.
func TestDraftIsEvictedWhenTheSimulationEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	f := e.publish("Booking", fmt.Sprintf(bookingFlow, "Booked"))
	ctx := context.Background()
	before := e.r.Sprint.Drafts()
	sessionID := domain.UUIDv7{}.NewID()
	var contactID string
	err := e.st.InTx(ctx, func(q store.Queries) error {
		c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: e.project.ID, Scheme: "simulator", Path: sessionID,
			NewID: domain.UUIDv7{}.NewID(), Name: "Sim", Simulated: true, Now: e.clock.Now()})
		if err != nil {
			return err
		}
		contactID = c.ID
		_, err = e.r.StartFlow(ctx, q, StartParams{ProjectID: e.project.ID, FlowID: f.ID, ContactID: c.ID, SessionID: sessionID, Simulated: true, Draft: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.process(contactID)
	s, err := e.st.SessionGet(ctx, store.Ref{ProjectID: e.project.ID, ID: sessionID})
	if err != nil || s.Status != domain.SessionWaiting || !s.Draft {
		t.Fatalf("session = %+v (%v), want a waiting draft session", s, err)
	}
	if got := e.r.Sprint.Drafts(); got != before+1 {
		t.Fatalf("%d drafts kept while the simulation waits, want %d", got, before+1)
	}
	err = e.st.InTx(ctx, func(q store.Queries) error {
		_, err := e.r.Inbox.Say(ctx, q, s, "button", json.RawMessage(`{"text":"Book","button":"Book"}`),
			engine.Input{Kind: engine.InputButton, Button: "Book", Text: "Book"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.process(contactID)
	if s, _ := e.st.SessionGet(ctx, store.Ref{ProjectID: e.project.ID, ID: sessionID}); s.Status != domain.SessionCompleted {
		t.Fatalf("status %s, want completed", s.Status)
	}
	if got := e.r.Sprint.Drafts(); got != before {
		t.Fatalf("%d drafts kept after the simulation ended, want %d", got, before)
	}
}
