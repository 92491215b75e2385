package ai_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/ai"
	"github.com/parleyhq/parley/internal/ai/aitest"
)

// TestEchoAnswersEveryEntryPoint checks the fake's echo mode (the sandbox's
// model) gives every AI entry point an answer that is ready at once.
func TestEchoAnswersEveryEntryPoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.provider(t, "", 0)
	e.fake.Fallback(aitest.Echo)
	ctx := context.Background()
	d, err := e.svc.Generate(ctx, ai.GenerateParams{ProjectID: "p1", Description: "Order status: ask for the order number and reply that it ships soon."}, nil)
	if err != nil || !d.Lints {
		t.Fatalf("generate: %v %+v", err, d)
	}
	base := e.baseFlow(t)
	pr, err := e.svc.Edit(ctx, ai.EditParams{ProjectID: "p1", FlowID: base.ID, Instruction: "Say thanks before the end"}, nil)
	if err != nil || pr.Status != "ready" || pr.Rounds != 0 || len(pr.Diff.NodesAdded) != 1 || len(pr.Diff.NodesChanged) != 0 {
		t.Fatalf("edit: %v %+v", err, pr)
	}
	r, err := e.svc.GenerateForm(ctx, ai.FormGenerateParams{ProjectID: "p1", Description: "book a massage appointment"}, nil)
	if err != nil || r.Status != "ready" || r.Rounds != 0 || r.Flow == nil || r.Categories[0] != "APPOINTMENT_BOOKING" {
		t.Fatalf("form: %v %+v", err, r)
	}
	u, err := e.svc.UpdateForm(ctx, ai.FormUpdateParams{ProjectID: "p1", ID: r.Flow.ID, Instruction: "Book your visit"}, nil)
	if err != nil || u.Status != "ready" || !strings.Contains(u.Flow.JSON, `"Book your visit"`) {
		t.Fatalf("form update: %v %+v", err, u)
	}
}
