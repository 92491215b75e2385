package app

import (
	"context"
	"sync/atomic"

	"github.com/parleyhq/parley/internal/calls"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/voice"
)

// voiceHost hands what the voice providers receive — calls made to a voice
// number, recordings of calls — to the calls service. The channel types
// (Twilio numbers) are built before the store and the calls service, so
// the service is bound to the host once it exists.
type voiceHost struct {
	st    atomic.Pointer[store.Store]
	calls atomic.Pointer[calls.Service]
}

func (h *voiceHost) bind(st store.Store, svc *calls.Service) {
	h.st.Store(&st)
	h.calls.Store(svc)
}

// answer is the providers' voice.InboundHandler.
func (h *voiceHost) answer(ctx context.Context, call voice.InboundCall) error {
	st, svc := h.st.Load(), h.calls.Load()
	if st == nil || svc == nil {
		return domain.Errorf(domain.CodeUnavailable, "the voice calls service is not running")
	}
	return answerInbound(ctx, *st, svc, call)
}

// record is the providers' voice.RecordingSink.
func (h *voiceHost) record(ctx context.Context, r voice.Recording) error {
	svc := h.calls.Load()
	if svc == nil {
		return domain.Errorf(domain.CodeUnavailable, "the voice calls service is not running")
	}
	return svc.Record(ctx, r)
}
