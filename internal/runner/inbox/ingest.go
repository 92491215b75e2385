package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/eventhook"
	"github.com/parleyhq/parley/internal/waflow"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channels"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner/sprint"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/template"
)

// IngestResult counts what a webhook's events became.
type IngestResult struct {
	Messages   int
	Duplicates int
	Statuses   int
	Templates  int
	Forms      int
	Ignored    int
	// Kept are the receipts kept for messages whose send's answer is
	// not stored yet; counted by whoever commits, since a transaction
	// that is tried again stores them again.
	Kept int
}

// IngestWebhook stores the events of one verified webhook, routed to their
// channels, in one transaction: once it returns nil, the webhook may be
// acknowledged. The events are made ready before the transaction, which on
// SQLite runs on the one writer (and its group commit shares the
// transaction with other writers').
func (box *Inbox) IngestWebhook(ctx context.Context, batches []channels.Batch) error {
	ready := make([]*IngestBatch, 0, len(batches))
	for _, b := range batches {
		ib, err := box.PrepareIngest(b.Channel, b.Events)
		if err != nil {
			return err
		}
		ready = append(ready, ib)
	}
	kept := 0
	// Replayable: all it keeps outside the transaction is kept, reset here.
	err := box.st.InTx(store.Replayable(ctx), func(q store.Queries) error {
		kept = 0
		for _, b := range ready {
			res, err := b.Store(ctx, q)
			if err != nil {
				return err
			}
			kept += res.Kept
		}
		return nil
	})
	if err == nil {
		box.c.Receipts.Held(kept)
	}
	return err
}

// Ingest stores the events of one verified webhook for a channel, in the
// caller's transaction: messages become inbound messages queued for their
// contact; statuses move our messages forward; template updates change the
// template; the rest is logged and acknowledged. Once the transaction
// commits, the webhook may be acknowledged: everything it said is kept.
// It is PrepareIngest and Store in one; callers that can should prepare
// before their transaction.
func (box *Inbox) Ingest(ctx context.Context, q store.Queries, ch domain.Channel, events []channel.Event) (IngestResult, error) {
	b, err := box.PrepareIngest(ch, events)
	if err != nil {
		return IngestResult{}, err
	}
	return b.Store(ctx, q)
}

// IngestBatch is one channel's webhook events made ready to store: what
// can be worked out without the database is, before the transaction (on
// SQLite its function runs on the one writer).
type IngestBatch struct {
	box    *Inbox
	ch     domain.Channel
	events []channel.Event
	// inbound are the messages' stored forms, by index in events.
	inbound map[int]*Inbound
}

// PrepareIngest readies a webhook's events for a channel; an event that
// cannot be stored (a message without a sender) is an invalid-input error.
// Every event is cleaned first (channel.Event.Clean), whatever its channel
// type: an authentic webhook must not fail to store, and be retried for
// days, because of a NUL character or a timestamp in year 24,151.
func (box *Inbox) PrepareIngest(ch domain.Channel, events []channel.Event) (*IngestBatch, error) {
	b := &IngestBatch{box: box, ch: ch, events: events}
	now := box.c.Clock.Now()
	for i := range events {
		e := &events[i]
		e.Clean(now)
		if !e.Kind.IsMessage() {
			continue
		}
		ib, err := inboundOf(ch, e)
		if err != nil {
			return nil, err
		}
		if b.inbound == nil {
			b.inbound = map[int]*Inbound{}
		}
		b.inbound[i] = ib
	}
	return b, nil
}

// Store stores the batch in the caller's transaction (see Ingest).
func (b *IngestBatch) Store(ctx context.Context, q store.Queries) (IngestResult, error) {
	box, ch := b.box, b.ch
	var res IngestResult
	for i := range b.events {
		e := &b.events[i]
		switch {
		case e.Kind.IsMessage():
			// Reactions, edits and the like are kept in the history only.
			rc, err := box.receive(ctx, q, *b.inbound[i], resumable(e.Kind) || startsOnly(e.Kind))
			if err != nil {
				return res, err
			}
			if rc.Duplicate {
				res.Duplicates++
			} else {
				res.Messages++
			}
		case e.Kind == channel.KindStatus:
			kept, err := box.ingestStatus(ctx, q, ch, e)
			if err != nil {
				return res, err
			}
			res.Statuses++
			if kept {
				res.Kept++
			}
		case template.IsTemplateEvent(e.Kind):
			ok, err := template.ApplyWebhook(ctx, q, template.WebhookParams{Channel: ch, Kind: e.Kind, Update: e.Template, Now: box.c.Clock.Now()})
			if err != nil {
				return res, err
			}
			if ok {
				res.Templates++
			} else {
				res.Ignored++
				box.c.Logger.Info("template update for a template Parley does not know", "channel", ch.ID, "kind", e.Kind)
			}
		case e.Kind == channel.KindFormStatus && e.Form != nil:
			ok := false
			if e.Form.NewStatus != "" {
				var err error
				ok, err = waflow.ApplyStatus(ctx, q, waflow.StatusEvent{ProjectID: ch.ProjectID, MetaFlowID: e.Form.ID, OldStatus: e.Form.OldStatus, NewStatus: e.Form.NewStatus}, box.c.Clock.Now())
				if err != nil {
					return res, err
				}
			}
			if ok {
				res.Forms++
			} else {
				res.Ignored++
				box.c.Logger.Info("form notice not applied (an alert, or a flow Parley does not know)", "channel", ch.ID, "flow", e.Form.ID, "event", e.Form.Event, "message", e.Form.Message)
			}
		case e.Kind == channel.KindDisplayName && e.DisplayName != nil:
			ok, err := box.ingestDisplayName(ctx, q, ch, e.DisplayName)
			if err != nil {
				return res, err
			}
			if !ok {
				res.Ignored++
			}
		case e.Kind == channel.KindAccountNotice && e.Notice != nil:
			// Logged at warning level: a person should know, whatever
			// Parley does about it.
			box.c.Logger.Warn("the provider reported on the channel's number or account", "channel", ch.ID, "field", e.Notice.Field,
				"event", e.Notice.Event, "pause_sends", e.Notice.PauseSends, "reason", e.Notice.Reason)
			if !e.Notice.PauseSends || box.c.Notices == nil {
				res.Ignored++
				continue
			}
			if _, err := box.c.Notices.AccountNotice(ctx, q, ch, e.BusinessID, *e.Notice); err != nil {
				return res, fmt.Errorf("acting on the %s notice of channel %s: %w", e.Notice.Field, ch.ID, err)
			}
		case e.Kind == channel.KindPreference && e.Preference != nil:
			if err := box.ingestPreference(ctx, q, ch, e); err != nil {
				return res, err
			}
		default:
			res.Ignored++
			box.c.Logger.Info("webhook event acknowledged, not acted on", "channel", ch.ID, "kind", e.Kind)
		}
	}
	return res, nil
}

// resumable are the message kinds that move a conversation; reactions,
// edits and the like are kept in the history only.
func resumable(k channel.Kind) bool {
	switch k {
	case channel.KindText, channel.KindMedia, channel.KindLocation, channel.KindContacts, channel.KindButtonReply,
		channel.KindListReply, channel.KindQuickReply, channel.KindFlowCompletion, channel.KindOrder:
		return true
	}
	return false
}

// startsOnly are the kinds without content that can start a flow (and
// never resume one).
func startsOnly(k channel.Kind) bool {
	return k == channel.KindConversationStarted || k == channel.KindReferral
}

// triggerFacts are what special triggers start on, nil when the event
// has none of it.
func triggerFacts(e *channel.Event) *sprint.TriggerFacts {
	var f sprint.TriggerFacts
	if startsOnly(e.Kind) {
		f.Event = string(e.Kind)
	}
	if r := e.Referral; r != nil {
		f.Referral = true
		for _, id := range []string{r.SourceID, r.Ref} {
			if id != "" {
				f.ReferralIDs = append(f.ReferralIDs, id)
			}
		}
	}
	if e.Story != nil {
		f.Story = e.Story.Kind
	}
	if f.Event == "" && !f.Referral && f.Story == "" {
		return nil
	}
	return &f
}

// inputOf is what a channel message means to a waiting flow.
func inputOf(e *channel.Event) engine.Input {
	in := engine.Input{Kind: engine.InputText, Text: e.Text}
	switch e.Kind {
	case channel.KindButtonReply, channel.KindQuickReply:
		if e.Reply != nil {
			title := e.Reply.Title
			if title == "" {
				title = e.Text
			}
			in = engine.Input{Kind: engine.InputButton, Button: title, Text: title}
		}
	case channel.KindListReply:
		if e.Reply != nil {
			in = engine.Input{Kind: engine.InputList, ListID: e.Reply.ID, Text: e.Reply.Title}
		}
	case channel.KindFlowCompletion:
		if e.Flow != nil {
			in = engine.Input{Kind: engine.InputFlow, Data: e.Flow.Response, Text: e.Flow.Body, Token: e.Flow.Token}
		}
	case channel.KindMedia:
		if e.Media != nil {
			in = engine.Input{Kind: engine.InputMedia, Text: e.Media.Caption, MediaURL: "media:" + e.Media.ID}
		}
	case channel.KindLocation:
		if e.Location != nil {
			b, _ := json.Marshal(e.Location)
			var data map[string]any
			_ = json.Unmarshal(b, &data)
			in = engine.Input{Kind: engine.InputLocation, Data: data}
		}
	}
	return in
}

// inboundOf is a channel message as Parley stores it.
func inboundOf(ch domain.Channel, e *channel.Event) (*Inbound, error) {
	in := inputOf(e)
	content := map[string]any{"text": in.Text, "event": e}
	switch in.Kind {
	case engine.InputButton:
		content["button"] = in.Button
	case engine.InputList:
		content["list_reply"] = in.ListID
	case engine.InputFlow, engine.InputLocation:
		content["data"] = in.Data
	}
	if e.Media != nil {
		content["media"] = engine.Media{Type: string(e.Media.Type), URL: in.MediaURL, Caption: e.Media.Caption}
	}
	raw, err := json.Marshal(content)
	if err != nil {
		return nil, err
	}
	address := e.Contact.Key()
	if address == "" {
		return nil, domain.Errorf(domain.CodeInvalid, "a %s message without a sender", e.Kind)
	}
	ib := &Inbound{ProjectID: ch.ProjectID, ChannelID: ch.ID, Scheme: ch.Type, Address: address, Name: e.Contact.Name, Phone: e.Contact.Phone,
		ProviderID: e.ProviderID, Type: string(e.Kind), Content: raw, Input: in, Trigger: triggerFacts(e), At: e.Timestamp}
	ib.payload = ib.eventPayload()
	return ib, nil
}

// ingestStatus moves our message forward. Meta echoes our message ID, so a
// status that arrives before the send's response was recorded still finds
// its message (and records the provider ID on it).
func (box *Inbox) ingestStatus(ctx context.Context, q store.Queries, ch domain.Channel, e *channel.Event) (kept bool, err error) {
	st := e.Status
	if st == nil || st.Type != "" {
		return false, nil // payment and other non-message statuses
	}
	p := store.MessageStatusParams{Status: statusOf(st.State), ProviderID: e.ProviderID, Now: box.c.Clock.Now()}
	if p.Status == "" {
		return false, nil
	}
	if len(st.Errors) > 0 {
		pe := st.Errors[0]
		p.ErrorCode = strconv.Itoa(pe.Code)
		p.ErrorReason = pe.Title
		if pe.Details != "" {
			p.ErrorReason = pe.Details
		}
	}
	if st.OurID != "" {
		// The usual case, in one statement: our ID, echoed by Meta, names
		// a message of this channel's project that the status moves on.
		p.ID, p.ProjectID = st.OurID, ch.ProjectID
		mv, err := q.MessageStatusMove(ctx, p)
		switch {
		case err != nil:
			return false, err
		case mv.Moved:
			return false, box.statusEvent(ctx, q, ch, p)
		case mv.Found:
			return false, nil // a status older than what we know
		}
		// Not our message: the provider's ID may find it below.
	}
	if e.ProviderID == "" && !st.UpTo.IsZero() {
		return box.ingestWatermark(ctx, q, ch, e, p)
	}
	if e.ProviderID == "" {
		return false, nil
	}
	// No (known) ID of ours: the provider's ID, recorded when the send
	// was answered, finds it. Under the receipt's lock: the outbox
	// records a send's answer under the same lock, so either it sees the
	// receipt kept below or this sees its provider ID.
	if err := q.ReceiptLock(ctx, store.ReceiptLockParams{ChannelID: ch.ID, ProviderID: e.ProviderID}); err != nil {
		return false, err
	}
	m, err := q.MessageGetByProviderID(ctx, store.MessageGetByProviderIDParams{ChannelID: ch.ID, Direction: domain.DirectionOut, ProviderID: e.ProviderID})
	if errors.Is(err, store.ErrNotFound) {
		// The receipt can arrive before the send's answer is stored (the
		// provider answers, then sends the receipt at once): kept until
		// the outbox records the provider ID, expired if it never does.
		box.c.Logger.Info("status for a message Parley does not know yet; kept", "channel", ch.ID, "provider_id", e.ProviderID, "state", st.State)
		return true, q.ReceiptHold(ctx, domain.Receipt{ProjectID: ch.ProjectID, ChannelID: ch.ID, ProviderID: e.ProviderID, Recipient: st.Recipient,
			Status: p.Status, ErrorCode: p.ErrorCode, ErrorReason: p.ErrorReason, ReceivedAt: p.Now})
	}
	if err != nil {
		return false, err
	}
	p.ID, p.ProjectID = m.ID, ch.ProjectID
	changed, err := q.MessageSetStatus(ctx, p)
	if err != nil || !changed {
		return false, err
	}
	return false, box.statusEvent(ctx, q, ch, p)
}

// statusEvent records message.status for event webhooks, in the ingest's
// transaction, once a status moved a message forward.
func (box *Inbox) statusEvent(ctx context.Context, q store.Queries, ch domain.Channel, p store.MessageStatusParams) error {
	if box.c.Events == nil {
		return nil
	}
	return box.c.Events.Record(ctx, q, eventhook.Event{ProjectID: p.ProjectID, Type: eventhook.MessageStatus, Fill: func(e *eventhook.Event) error {
		m, err := q.MessageGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: p.ID})
		if err != nil {
			return fmt.Errorf("reading the message a status moved: %w", err)
		}
		e.ContactID = m.ContactID
		e.Data = map[string]any{"message_id": m.ID, "contact_id": m.ContactID, "channel_id": ch.ID, "session_id": m.SessionID, "status": p.Status,
			"provider_id": m.ProviderID, "error_code": p.ErrorCode, "error_reason": p.ErrorReason, "at": p.Now}
		return nil
	}})
}

// ingestWatermark applies a receipt that names no message but a time
// (Messenger: read, or delivered, up to the watermark): every message to
// that person on the channel sent at or before it moves forward. Were any
// still waiting for their send's answer, the receipt is also kept for
// them, under the recipient's receipt lock (see ingestStatus).
func (box *Inbox) ingestWatermark(ctx context.Context, q store.Queries, ch domain.Channel, e *channel.Event, p store.MessageStatusParams) (kept bool, err error) {
	st := e.Status
	if st.Recipient == "" {
		return false, nil
	}
	if err := q.ReceiptLock(ctx, store.ReceiptLockParams{ChannelID: ch.ID, Recipient: st.Recipient}); err != nil {
		return false, err
	}
	c, err := q.ContactGetByURN(ctx, store.ContactGetByURNParams{ProjectID: ch.ProjectID, Scheme: ch.Type, Path: st.Recipient})
	if errors.Is(err, store.ErrNotFound) {
		box.c.Logger.Info("watermark receipt for a person Parley does not know", "channel", ch.ID, "state", st.State)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res, err := q.MessagesSetStatusUpTo(ctx, store.MessagesStatusUpToParams{ProjectID: ch.ProjectID, ChannelID: ch.ID, ContactID: c.ID,
		Status: p.Status, UpTo: st.UpTo, Now: p.Now})
	if err != nil || res.Queued == 0 {
		return false, err
	}
	upTo := st.UpTo.UTC()
	return true, q.ReceiptHold(ctx, domain.Receipt{ProjectID: ch.ProjectID, ChannelID: ch.ID, Recipient: st.Recipient, Status: p.Status, UpTo: &upTo, ReceivedAt: p.Now})
}

func statusOf(s channel.State) string {
	switch s {
	case channel.StateSent:
		return domain.MessageSent
	case channel.StateDelivered:
		return domain.MessageDelivered
	case channel.StateRead:
		return domain.MessageRead
	case channel.StateFailed:
		return domain.MessageFailed
	}
	return ""
}

// ingestPreference records a marketing opt-out or resume on the contact.
func (box *Inbox) ingestPreference(ctx context.Context, q store.Queries, ch domain.Channel, e *channel.Event) error {
	c, _, err := q.ContactEnsure(ctx, store.ContactEnsureParams{ProjectID: ch.ProjectID, Scheme: ch.Type, Path: e.Contact.Key(), ChannelID: ch.ID,
		NewID: box.c.IDs.NewID(), Name: e.Contact.Name, Now: box.c.Clock.Now(),
		// Subscribing to a channel's account (Viber) lets it message the
		// person, as a message from them would.
		Inbound: e.Preference.Category == "subscription" && !e.Preference.OptedOut()})
	if err != nil {
		return err
	}
	if c.Fields == nil {
		c.Fields = map[string]any{}
	}
	if e.Preference.Category == "subscription" {
		// The person unsubscribed from (or subscribed to) this channel's
		// account (Viber): recorded per channel type, since the person
		// may still be reachable on another channel.
		c.Fields["opted_out_"+ch.Type] = e.Preference.OptedOut()
		if e.Preference.OptedOut() {
			// When: a message from them later subscribes them again
			// (Viber), which the outbox tells by their last message.
			c.Fields["opted_out_"+ch.Type+"_at"] = box.c.Clock.Now().UTC().Format(time.RFC3339Nano)
		}
	} else {
		c.Fields["marketing_opt_out"] = e.Preference.OptedOut()
	}
	c.UpdatedAt = box.c.Clock.Now()
	_, err = q.ContactUpdate(ctx, c)
	return err
}

// ingestDisplayName records the provider's review of a requested display
// name on the channel's request (Meta: APPROVED, REJECTED; DEFERRED
// leaves it pending). False when no pending request matches.
func (box *Inbox) ingestDisplayName(ctx context.Context, q store.Queries, ch domain.Channel, r *channel.DisplayNameReview) (bool, error) {
	status := ""
	switch r.Decision {
	case "APPROVED":
		status = store.DisplayNameApproved
	case "REJECTED", "DECLINED":
		status = store.DisplayNameDeclined
	default:
		box.c.Logger.Info("display name review not final", "channel", ch.ID, "name", r.Name, "decision", r.Decision)
		return false, nil
	}
	ok, err := q.DisplayNameRequestDecide(ctx, store.DisplayNameDecideParams{ProjectID: ch.ProjectID, ChannelID: ch.ID, Name: r.Name, Status: status,
		Reason: r.Reason, At: box.c.Clock.Now()})
	if err == nil && !ok {
		box.c.Logger.Info("display name review for no pending request", "channel", ch.ID, "name", r.Name, "decision", r.Decision)
	}
	return ok, err
}
