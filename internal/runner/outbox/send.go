package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/ratelimit"
	"github.com/parleyhq/parley/internal/channellog"
	"github.com/parleyhq/parley/internal/dispatch"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/engine"
	"github.com/parleyhq/parley/internal/runner/lease"
	"github.com/parleyhq/parley/internal/store"
)

// maxPacingWait is the longest a send worker sleeps for a recipient's
// pacing; longer waits snooze the job instead.
const maxPacingWait = time.Second

// maxHeldDelay is the longest a send waits in memory (pacing, throttling);
// longer waits are written to the message so any process takes it later.
const maxHeldDelay = 5 * time.Second

// work sends one queued message. It is safe to run twice: a message
// no longer queued is left alone. The one case that can send twice is a
// crash between the provider accepting and our commit; the provider echoes
// our ID in its status webhooks, which reconciles that copy.
func (o *Outbox) work(ctx context.Context, k messageKey) time.Duration {
	var m domain.Message
	var to *domain.URN
	if v, ok := o.sending.LoadAndDelete(k.id); ok {
		qs := v.(queuedSend) // queued by this process, which holds it
		m, to = qs.m, qs.to
	} else {
		var err error
		m, err = o.st.MessageGet(ctx, store.Ref{ProjectID: k.project, ID: k.id})
		if errors.Is(err, store.ErrNotFound) {
			return dispatch.Done
		}
		if err != nil {
			o.c.Logger.Error("reading a message to send failed", "message", k.id, "err", err)
			return time.Second + lease.Jitter(time.Second)
		}
	}
	if m.Status != domain.MessageQueued {
		return dispatch.Done
	}
	next, err := o.Send(ctx, m, to)
	if err == nil {
		return next
	}
	if ctx.Err() != nil {
		return dispatch.Done // stopping: the message stays queued and is taken up again
	}
	// A failure of ours (the database, a template lookup): retry later.
	attempt := m.Attempts + 1
	if attempt >= o.c.Attempts {
		if ferr := o.failSend(ctx, m, "send_error", fmt.Sprintf("gave up after %d attempts: %v", attempt, err)); ferr == nil {
			return dispatch.Done
		}
	}
	o.c.Logger.Warn("sending a message failed; it will be retried", "message", m.ID, "attempt", attempt, "err", err)
	return o.retrySend(ctx, m, sendBackoff(attempt), true)
}

// retrySend makes the message due again after d: in memory for short
// waits, in the database (for any process) for longer ones or failures.
func (o *Outbox) retrySend(ctx context.Context, m domain.Message, d time.Duration, failed bool) time.Duration {
	if !failed && d <= maxHeldDelay {
		return d
	}
	if _, err := o.st.MessageRetry(ctx, store.MessageRetryParams{ID: m.ID, DueAt: o.c.Clock.Now().Add(d), Failed: failed}); err != nil && !errors.Is(err, store.ErrConflict) {
		o.c.Logger.Error("rescheduling a message failed", "message", m.ID, "err", err)
		return min(d, maxHeldDelay)
	}
	return dispatch.Done
}

func (o *Outbox) failSend(ctx context.Context, m domain.Message, code, reason string) error {
	return o.recordSend(ctx, store.MessageStatusParams{ID: m.ID, Status: domain.MessageFailed, ErrorCode: code, ErrorReason: reason, Now: o.c.Clock.Now()})
}

// recordSend records a send's outcome, trying a few times: once the
// provider has answered, a failure to record must not send again.
func (o *Outbox) recordSend(ctx context.Context, p store.MessageStatusParams) error {
	return o.recordAnswer(ctx, p, "", "")
}

// recordAnswer records a send's outcome and, in the same transaction,
// applies the receipts that arrived before it (kept by the inbox under
// the same receipt locks): for the provider ID now recorded, and the
// watermark receipts for recipient on channelID that cover the send.
func (o *Outbox) recordAnswer(ctx context.Context, p store.MessageStatusParams, channelID, recipient string) error {
	var err error
	for i := range 3 {
		applied := 0
		// Replayable: applied is reset at the top.
		err = o.st.InTx(store.Replayable(ctx), func(q store.Queries) error {
			applied = 0
			if p.ProviderID == "" {
				return q.MessageRecordStatus(ctx, p)
			}
			if err := q.ReceiptLock(ctx, store.ReceiptLockParams{ChannelID: channelID, ProviderID: p.ProviderID, Recipient: recipient}); err != nil {
				return err
			}
			// The answer is recorded with the take, after the locks.
			kept, err := q.ReceiptsTake(ctx, store.ReceiptsTakeParams{ChannelID: channelID, ProviderID: p.ProviderID, Recipient: recipient, Answer: &p})
			if err != nil {
				return err
			}
			sentAt := p.SentAt
			if sentAt.IsZero() {
				sentAt = p.Now
			}
			for _, r := range kept {
				if r.ProviderID == "" && (r.UpTo == nil || sentAt.After(*r.UpTo)) {
					continue // a watermark before this send: not about it
				}
				if _, err := q.MessageSetStatus(ctx, store.MessageStatusParams{ID: p.ID, Status: r.Status, ErrorCode: r.ErrorCode,
					ErrorReason: r.ErrorReason, Now: p.Now}); err != nil {
					return err
				}
				applied++
			}
			return nil
		})
		if err == nil {
			o.c.Receipts.Applied(applied)
		}
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(i+1) * 100 * time.Millisecond)
	}
	if err != nil {
		o.c.Logger.Error("recording a send's outcome failed; the message stays queued", "message", p.ID, "status", p.Status, "err", err)
	}
	return nil
}

// Send sends a queued message now and records the outcome; it returns
// dispatch.Done, or when to try again. to is the recipient's address on the
// message's channel when the caller knows it; nil reads the contact's.
func (o *Outbox) Send(ctx context.Context, m domain.Message, to *domain.URN) (time.Duration, error) {
	fail := func(code, reason string) (time.Duration, error) {
		return dispatch.Done, o.failSend(ctx, m, code, reason)
	}
	// Errors returned below are ours (database, template lookup), before
	// the provider was called: the caller retries them.
	ch, err := o.c.Channels.InProject(ctx, m.ProjectID, m.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		return fail("no_channel", "the channel was removed before the message was sent")
	}
	if err != nil {
		return 0, err
	}
	urn := to
	if urn == nil || urn.ChannelID != ch.ID {
		urns, err := o.st.ContactURNs(ctx, store.Ref{ProjectID: m.ProjectID, ID: m.ContactID})
		if err != nil {
			return 0, err
		}
		urn = nil
		for i := range urns {
			if urns[i].Scheme == ch.Type {
				urn = &urns[i]
			}
		}
	}
	if urn == nil {
		return fail("no_address", fmt.Sprintf("the contact has no %s address", ch.Type))
	}
	var em engine.Message
	if err := json.Unmarshal(m.Content, &em); err != nil {
		return fail("bad_content", "the stored message cannot be read: "+err.Error())
	}
	adapter, err := o.c.Channels.Adapter(ctx, ch)
	if err != nil {
		return fail("channel_config", err.Error())
	}
	out := Outbound(em, m.ID, urn.Path)
	out.LastInbound = urn.LastInboundAt
	if l := o.c.Channels.Limits(ch.Type); l != nil {
		// The same message node, in the channel's own form: buttons it
		// cannot show become quick replies or a numbered list.
		out, _ = channel.Fit(out, *l)
	}
	if w, ok := adapter.(channel.Window); ok {
		// The provider's rule on what may reach this contact now
		// (WhatsApp: free-form only within 24 hours of their last message).
		if err := w.CheckWindow(out, urn.LastInboundAt, o.c.Clock.Now()); err != nil {
			se := &channel.SendError{Class: channel.Permanent, Err: err}
			errors.As(err, &se)
			return fail(codeOf(se), reasonOf(se))
		}
	}
	if sub, ok := adapter.(channel.Subscriptions); ok {
		// Unsubscribed from this channel's account (Viber): refused here,
		// with the reason in the conversation, not sent to be refused.
		refused, err := o.unsubscribed(ctx, m, ch.Type, urn)
		if err != nil {
			return 0, err
		}
		if refused {
			se := &channel.SendError{Class: channel.Permanent, Err: sub.Unsubscribed()}
			errors.As(sub.Unsubscribed(), &se)
			return fail(codeOf(se), reasonOf(se))
		}
	}
	if out.Kind == channel.OutFlow {
		if f, ok := adapter.(channel.FormSender); !ok || !f.SendsForms() {
			return fail("form_unsupported", fmt.Sprintf("a %s channel cannot send forms (WhatsApp Flows)", ch.Type))
		}
		if code, reason, err := o.resolveForm(ctx, m.ProjectID, out.Flow); err != nil || code != "" {
			if err != nil {
				return 0, err
			}
			return fail(code, reason)
		}
	}
	if em.Type == engine.MessageTemplate && em.Template != nil {
		ts, err := o.renderTemplate(ctx, m.ProjectID, em.Template)
		var et *errTemplate
		if errors.As(err, &et) {
			return fail(et.code, et.reason)
		}
		if err != nil {
			return 0, err
		}
		out.Template = ts
	}
	if sm, ok := adapter.(channel.SeenMarker); ok && m.Priority == "reply" && urn.LastInboundAt != nil {
		o.markSeen(sm, ch.ID, m.ID, urn.Path, *urn.LastInboundAt)
	}
	lim := o.c.Channels.Limiter(ctx, ch)
	if lim != nil {
		// A recipient paced for a while must not hold a send worker: the
		// message comes back when the pacing allows it.
		if d := lim.PairDelay(urn.Path); d > maxPacingWait {
			return o.retrySend(ctx, m, d, false), nil
		}
		prio := ratelimit.Bulk
		if m.Priority == "reply" {
			prio = ratelimit.Reply
		}
		if err := lim.Wait(ctx, urn.Path, prio); err != nil {
			return 0, fmt.Errorf("waiting to send message %s: %w", m.ID, err)
		}
	}
	// The provider call's channel log entry names the message it sent.
	// The send began before the provider stamped the message: watermark
	// receipts (in the provider's time) compare with this.
	began := o.c.Clock.Now()
	res, err := adapter.Send(channellog.WithMessage(ctx, m.ID), out)
	if err != nil {
		var se *channel.SendError
		if !errors.As(err, &se) {
			se = &channel.SendError{Class: channel.Retryable, Err: err}
		}
		switch se.Class {
		case channel.Throttled:
			wait := se.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			if lim != nil {
				// Slow the whole number down, or just this conversation.
				if se.Scope == channel.ScopeRecipient {
					lim.PauseRecipient(urn.Path, wait)
				} else {
					lim.Pause(wait)
				}
			}
			return o.retrySend(ctx, m, wait+lease.Jitter(wait/4), false), nil
		case channel.Retryable:
			attempt := m.Attempts + 1
			if attempt >= o.c.Attempts {
				return fail(codeOf(se), fmt.Sprintf("gave up after %d attempts: %v", attempt, se))
			}
			o.c.Logger.Info("send failed, will retry", "message", m.ID, "attempt", attempt, "err", se)
			return o.retrySend(ctx, m, sendBackoff(attempt), true), nil
		}
		return fail(codeOf(se), reasonOf(se))
	}
	status := domain.MessageSent
	if res.Delivered {
		status = domain.MessageDelivered // in-process: it is in the conversation now
	}
	return dispatch.Done, o.recordAnswer(ctx, store.MessageStatusParams{ID: m.ID, Status: status, ProviderID: res.ProviderID,
		SentAt: began, Now: o.c.Clock.Now()}, ch.ID, urn.Path)
}

func codeOf(se *channel.SendError) string {
	if se.Code != 0 {
		return strconv.Itoa(se.Code)
	}
	if se.HTTPStatus != 0 {
		return "http_" + strconv.Itoa(se.HTTPStatus)
	}
	return "send_error"
}

func reasonOf(se *channel.SendError) string {
	switch {
	case se.Details != "":
		return se.Details
	case se.Title != "":
		return se.Title
	}
	return se.Error()
}

// Outbound turns an engine message into what a channel sends.
func Outbound(m engine.Message, ourID, to string) channel.Outbound {
	out := channel.Outbound{OurID: ourID, To: to, Agent: m.Agent}
	media := func(md *engine.Media) *channel.MediaRef {
		if md == nil {
			return nil
		}
		return &channel.MediaRef{Type: channel.MediaType(md.Type), Link: md.URL, Caption: md.Caption}
	}
	switch m.Type {
	case engine.MessageMedia:
		out.Kind, out.Media = channel.OutMedia, media(m.Media)
		if out.Media != nil && out.Media.Caption == "" {
			out.Media.Caption = m.Text
		}
	case engine.MessageButtons:
		out.Kind, out.Body = channel.OutButtons, m.Text
		for i, b := range m.Buttons {
			out.Buttons = append(out.Buttons, channel.ReplyButton{ID: "b" + strconv.Itoa(i), Title: b})
		}
		if m.Media != nil {
			out.Header = &channel.Header{Media: media(m.Media)}
		}
	case engine.MessageList:
		out.Kind, out.Body = channel.OutList, m.Text
		if m.List != nil {
			l := &channel.List{Button: m.List.Button}
			for _, s := range m.List.Sections {
				sec := channel.ListSection{Title: s.Title}
				for _, row := range s.Rows {
					sec.Rows = append(sec.Rows, channel.ListRow{ID: row.ID, Title: row.Title, Description: row.Description})
				}
				l.Sections = append(l.Sections, sec)
			}
			out.List = l
		}
	case engine.MessageTemplate:
		out.Kind = channel.OutTemplate
		if t := m.Template; t != nil {
			ts := &channel.TemplateSend{Name: t.Name, Language: t.Language}
			if len(t.Header) > 0 {
				ts.Header = &channel.TemplateParam{Type: channel.ParamText, Text: t.Header[0]}
			}
			for _, b := range t.Body {
				ts.Body = append(ts.Body, channel.TemplateParam{Type: channel.ParamText, Text: b})
			}
			for i, p := range t.ButtonParams {
				ts.Buttons = append(ts.Buttons, channel.TemplateButton{Index: i, SubType: "url", Param: channel.TemplateParam{Type: channel.ParamText, Text: p}})
			}
			out.Template = ts
		}
	case engine.MessageWhatsAppFlow:
		out.Kind, out.Body = channel.OutFlow, ""
		if f := m.Flow; f != nil {
			out.Body = f.Body
			if f.Header != "" {
				out.Header = &channel.Header{Text: f.Header}
			}
			fs := &channel.FlowSend{FlowID: f.ID, Token: f.Token, CTA: f.CTA, Mode: f.Mode, Screen: f.Screen}
			if len(f.Data) > 0 {
				_ = json.Unmarshal(f.Data, &fs.Data)
			}
			out.Flow = fs
		}
	default:
		out.Kind, out.Text = channel.OutText, m.Text
	}
	return out
}

// resolveForm turns the chat flow's reference to a WhatsApp Flow (our ID)
// into what the provider knows: Meta's flow ID, and mode draft for a flow
// that is a draft (Meta sends drafts only in that mode) unless the node
// chose a mode. A form that cannot be sent fails the message with a code.
func (o *Outbox) resolveForm(ctx context.Context, projectID string, fs *channel.FlowSend) (code, reason string, err error) {
	if fs == nil {
		return "bad_content", "a form message without its form", nil
	}
	wf, err := o.st.WhatsAppFlowGet(ctx, store.Ref{ProjectID: projectID, ID: fs.FlowID})
	if errors.Is(err, store.ErrNotFound) {
		return "form_not_found", fmt.Sprintf("WhatsApp Flow %q does not exist (deleted?)", fs.FlowID), nil
	}
	if err != nil {
		return "", "", err
	}
	switch {
	case wf.MetaFlowID == "":
		return "form_not_synced", fmt.Sprintf("WhatsApp Flow %q was never created at Meta: give it a WhatsApp channel", wf.Name), nil
	case wf.Status == store.WhatsAppFlowDeprecated || wf.Status == store.WhatsAppFlowBlocked:
		return "form_unavailable", fmt.Sprintf("WhatsApp Flow %q is %s and cannot be sent", wf.Name, wf.Status), nil
	}
	fs.FlowID = wf.MetaFlowID
	if fs.Mode == "" {
		fs.Mode = "published"
		if wf.Status == store.WhatsAppFlowDraft {
			fs.Mode = "draft"
		}
	}
	return "", "", nil
}

// unsubscribed reports whether the message's contact unsubscribed from
// channels of type typ (the inbox's "opted_out_<type>" field) and has not
// written on urn since (a message subscribes them again).
func (o *Outbox) unsubscribed(ctx context.Context, m domain.Message, typ string, urn *domain.URN) (bool, error) {
	c, err := o.st.ContactGet(ctx, store.Ref{ProjectID: m.ProjectID, ID: m.ContactID})
	if err != nil {
		return false, fmt.Errorf("reading the contact of message %s: %w", m.ID, err)
	}
	if out, _ := c.Fields["opted_out_"+typ].(bool); !out {
		return false, nil
	}
	at, _ := c.Fields["opted_out_"+typ+"_at"].(string)
	when, err := time.Parse(time.RFC3339Nano, at)
	if err != nil || urn.LastInboundAt == nil {
		return true, nil
	}
	return !urn.LastInboundAt.After(when), nil
}

// markSeen marks the person's message of lastInbound as seen, once, in the
// background: best effort, never on the reply's path (the reply does not
// wait for it; a failure is logged, and the call is in the channel log
// under the reply's message ID).
func (o *Outbox) markSeen(sm channel.SeenMarker, channelID, messageID, to string, lastInbound time.Time) {
	key := channelID + "\x00" + to
	o.seenMu.Lock()
	if at, ok := o.seen.Get(key); ok && !at.Before(lastInbound) {
		o.seenMu.Unlock()
		return
	}
	o.seen.Put(key, lastInbound)
	o.seenMu.Unlock()
	o.bg.Add(1)
	go func() {
		defer o.bg.Done()
		ctx, cancel := context.WithTimeout(o.bgCtx, 10*time.Second)
		defer cancel()
		if err := sm.MarkSeen(channellog.WithMessage(ctx, messageID), to); err != nil {
			o.c.Logger.Info("marking a message seen failed (best effort)", "channel", channelID, "message", messageID, "err", err)
		}
	}()
}
