package app

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/voice/twilio/twiliotest"
)

// SandboxInboundCall implements httpapi.SandboxConsole: the sandbox's fake
// Twilio places a call from in.From to the sandbox Twilio number, posting
// the signed incoming-call webhook to the Voice URL the number was given
// when the sandbox saved it; the caller says in.Lines.
func (c sandboxConsole) SandboxInboundCall(ctx context.Context, in httpapi.SandboxInboundCallInput) (httpapi.SandboxInboundCall, error) {
	fake := c.a.SandboxTwilio()
	if fake == nil {
		return httpapi.SandboxInboundCall{}, domain.Errorf(domain.CodeNotFound, "this server runs without --sandbox: it has no fake Twilio to call from")
	}
	call, err := fake.CallIn(in.From, SandboxTwilioNumber, twiliotest.Script{Scenario: twiliotest.Answer, Lines: in.Lines})
	if err != nil {
		return httpapi.SandboxInboundCall{}, fmt.Errorf("calling the sandbox Twilio number: %w", err)
	}
	return httpapi.SandboxInboundCall{CallSid: call.Sid, From: in.From, To: SandboxTwilioNumber}, nil
}
