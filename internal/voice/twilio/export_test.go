package twilio

import "time"

// SetAcceptWait shortens how long an incoming call waits for the host to
// accept it.
func (p *Provider) SetAcceptWait(d time.Duration) { p.acceptFor = d }
