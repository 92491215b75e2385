package httpapi

import "context"

// SandboxInboundCallInput is a scripted caller calling the sandbox's Twilio
// number.
type SandboxInboundCallInput struct {
	From  string   `json:"from" required:"true" maxLength:"20" pattern:"^\\+[1-9][0-9]{6,14}$" doc:"The caller's number, E.164"`
	Lines []string `json:"lines,omitempty" maxItems:"10" doc:"What the caller says, one line after each of the agent's; then the caller hangs up"`
}

// SandboxInboundCall is the call the fake Twilio placed.
type SandboxInboundCall struct {
	CallSid string `json:"call_sid" doc:"Twilio's CallSid of the call (the provider_id of Parley's call)"`
	From    string `json:"from"`
	To      string `json:"to" doc:"The sandbox Twilio number called"`
}

type sandboxInboundCallIn struct{ Body SandboxInboundCallInput }

type sandboxInboundCallOut struct{ Body SandboxInboundCall }

func (s *Server) sandboxInboundCall(ctx context.Context, in *sandboxInboundCallIn) (*sandboxInboundCallOut, error) {
	c, err := s.sandboxConsole()
	if err != nil {
		return nil, err
	}
	call, err := c.SandboxInboundCall(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &sandboxInboundCallOut{Body: call}, nil
}
