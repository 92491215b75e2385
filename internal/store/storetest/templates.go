package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
)

// RunTemplates runs the suite of store.Templates.
func RunTemplates(t *testing.T, open Opener) {
	run(t, open, []test{
		{"Templates", testTemplates},
		{"TemplateUpdates", testTemplateUpdates},
		{"TemplateLock", testTemplateLock},
	})
}

func testTemplates(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	comps := json.RawMessage(`[{"type":"BODY","text":"Hi {{1}}"},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Yes"}]}]`)
	tpl := must(s.TemplateCreate(ctx, store.TemplateCreateParams{ID: "t1", ProjectID: p1, Name: "welcome", Language: "en_US",
		Category: "MARKETING", Components: comps, Status: store.TemplateApproved, Now: t0}))(t)
	if tpl.Status != store.TemplateApproved || tpl.Language != "en_US" || !tpl.CreatedAt.Equal(t0) || tpl.MetaTemplateID != "" {
		t.Fatalf("created = %+v", tpl)
	}
	jsonEqual(t, tpl.Components, comps)
	must(s.TemplateCreate(ctx, store.TemplateCreateParams{ID: "t2", ProjectID: p1, Name: "welcome", Language: "de", Category: "MARKETING", Status: store.TemplatePending, Now: t0}))(t)
	// The same name and language in another project is fine.
	must(s.TemplateCreate(ctx, store.TemplateCreateParams{ID: "t3", ProjectID: p2, Name: "welcome", Language: "en_US", Category: "UTILITY", Status: store.TemplateApproved, Now: t0}))(t)
	_, err := s.TemplateCreate(ctx, store.TemplateCreateParams{ID: "t4", ProjectID: p1, Name: "welcome", Language: "en_US", Category: "UTILITY", Status: store.TemplateApproved, Now: t0})
	wantCode(t, err, domain.CodeConflict)

	if got := must(s.TemplateGet(ctx, store.Ref{ProjectID: p1, ID: "t1"}))(t); got.Name != "welcome" {
		t.Fatalf("get = %+v", got)
	}
	_, err = s.TemplateGet(ctx, store.Ref{ProjectID: p1, ID: "t3"}) // another project's
	wantCode(t, err, domain.CodeNotFound)
	if got := must(s.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: p1, Name: "welcome", Language: "en_US"}))(t); got.ID != "t1" {
		t.Fatalf("by name and language = %+v", got)
	}
	if got := must(s.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: p1, Name: "welcome", Language: ""}))(t); got.ID != "t2" {
		t.Fatalf("by name, any language = %s, want t2 (de sorts first)", got.ID)
	}
	_, err = s.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: p1, Name: "welcome", Language: "fr"})
	wantCode(t, err, domain.CodeNotFound)
	_, err = s.TemplateGetByName(ctx, store.TemplateGetByNameParams{ProjectID: p2, Name: "welcome", Language: "de"})
	wantCode(t, err, domain.CodeNotFound)

	l := must(s.TemplateList(ctx, store.TemplateListParams{ProjectID: p1}))(t)
	if len(l.Items) != 2 || l.Items[0].ID != "t2" {
		t.Fatalf("list = %+v", l.Items)
	}
	l = must(s.TemplateList(ctx, store.TemplateListParams{ProjectID: p1, Status: store.TemplateApproved}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "t1" {
		t.Fatalf("approved = %+v", l.Items)
	}
	// Search: a part of the name or of the text, any case; LIKE's
	// wildcards match literally.
	for _, c := range []struct {
		q    string
		want int
	}{{"ELCO", 2}, {"hi {{1", 1}, {"yes", 1}, {"%", 0}, {"nothing", 0}} {
		l = must(s.TemplateList(ctx, store.TemplateListParams{ProjectID: p1, Search: c.q}))(t)
		if len(l.Items) != c.want {
			t.Fatalf("search %q = %d templates, want %d", c.q, len(l.Items), c.want)
		}
	}
	l = must(s.TemplateList(ctx, store.TemplateListParams{ProjectID: p1, Page: store.Page{Limit: 1}}))(t)
	if len(l.Items) != 1 || l.Next != "t2" {
		t.Fatalf("page = %+v", l)
	}
	l = must(s.TemplateList(ctx, store.TemplateListParams{ProjectID: p1, Page: store.Page{Limit: 1, After: l.Next}}))(t)
	if len(l.Items) != 1 || l.Items[0].ID != "t1" || l.Next != "" {
		t.Fatalf("second page = %+v", l)
	}
}

func testTemplateUpdates(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := runtimeProjects(t, s)
	tpl := must(s.TemplateCreate(ctx, store.TemplateCreateParams{ID: "t1", ProjectID: p1, ChannelID: "c1", Name: "order_update", Language: "en_US",
		Category: "UTILITY", Components: json.RawMessage(`[{"type":"BODY","text":"Hi"}]`), Status: "PENDING", Now: t0}))(t)
	if tpl.ChannelID != "c1" || tpl.Reason != "" {
		t.Fatalf("created = %+v", tpl)
	}
	tpl.Status, tpl.MetaTemplateID, tpl.Reason, tpl.Quality, tpl.UpdatedAt = "REJECTED", "9001", "INVALID_FORMAT", "RED", t0.Add(time.Hour)
	up := must(s.TemplateUpdate(ctx, tpl))(t)
	if up.Status != "REJECTED" || up.Reason != "INVALID_FORMAT" || up.Quality != "RED" || !up.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("updated = %+v", up)
	}
	if got := must(s.TemplateGetByMetaID(ctx, store.TemplateGetByMetaIDParams{ProjectID: p1, MetaID: "9001"}))(t); got.ID != "t1" {
		t.Fatalf("by Meta ID = %+v", got)
	}
	_, err := s.TemplateGetByMetaID(ctx, store.TemplateGetByMetaIDParams{ProjectID: p2, MetaID: "9001"})
	wantCode(t, err, domain.CodeNotFound)
	wantCode(t, s.TemplateDelete(ctx, store.Ref{ProjectID: p2, ID: "t1"}), domain.CodeNotFound)
	check(t, s.TemplateDelete(ctx, store.Ref{ProjectID: p1, ID: "t1"}))
	_, err = s.TemplateGet(ctx, store.Ref{ProjectID: p1, ID: "t1"})
	wantCode(t, err, domain.CodeNotFound)
}

// testTemplateLock: a transaction that locks a template reads what another
// transaction, which locked it first, wrote — not the row as it was before
// that write, which would let one read-modify-write undo the other (a
// status webhook's APPROVED undone by Meta's answer to our create).
func testTemplateLock(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1, p2 := twoProjects(t, s)
	must(s.TemplateCreate(ctx, store.TemplateCreateParams{ID: "t1", ProjectID: p1, Name: "welcome", Language: "en_US",
		Category: "MARKETING", Status: store.TemplatePending, Now: t0}))(t)
	// Checked outside the transaction: its function may run on the
	// committer's goroutine, where t.Fatal must not be called.
	var got store.MessageTemplate
	var otherErr error
	check(t, s.InTx(ctx, func(q store.Queries) error {
		var err error
		if got, err = q.TemplateLock(ctx, store.Ref{ProjectID: p1, ID: "t1"}); err != nil {
			return err
		}
		_, otherErr = q.TemplateLock(ctx, store.Ref{ProjectID: p2, ID: "t1"}) // another project's
		return nil
	}))
	if got.Name != "welcome" {
		t.Fatalf("lock = %+v", got)
	}
	wantCode(t, otherErr, domain.CodeNotFound)

	aLocked, bStarting := make(chan struct{}), make(chan struct{})
	bSaw := make(chan string, 2)
	go func() {
		<-aLocked
		close(bStarting) // before InTx: on SQLite b's function runs only after a's
		err := s.InTx(ctx, func(q store.Queries) error {
			cur, err := q.TemplateLock(ctx, store.Ref{ProjectID: p1, ID: "t1"})
			if err != nil {
				return err
			}
			bSaw <- cur.Status
			return nil
		})
		if err != nil {
			bSaw <- "error: " + err.Error()
		}
	}()
	var once sync.Once
	defer once.Do(func() { close(aLocked) }) // b gives up if a never locks
	err := s.InTx(ctx, func(q store.Queries) error {
		cur, err := q.TemplateLock(ctx, store.Ref{ProjectID: p1, ID: "t1"})
		if err != nil {
			return err
		}
		once.Do(func() { close(aLocked) })
		<-bStarting
		time.Sleep(100 * time.Millisecond) // b reaches its lock meanwhile
		cur.Status = store.TemplateApproved
		_, err = q.TemplateUpdate(ctx, cur)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-bSaw; got != store.TemplateApproved {
		t.Fatalf("the second transaction's lock read %s, want APPROVED written by the first", got)
	}
}
