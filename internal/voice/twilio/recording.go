package twilio

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/twilio/twilio-go/twiml"

	"github.com/parleyhq/parley/internal/voice"
)

// pathRecording is a call's recording status callback:
// recording/{call_id} under the number's webhook URL.
const pathRecording = "recording"

// recordingDownload bounds the download of one recording.
const recordingDownload = 2 * time.Minute

// OnRecording implements voice.Recorder: a recorded call's audio reaches s
// once Twilio's recording status callback says it is ready and Parley has
// downloaded it.
func (p *Provider) OnRecording(s voice.RecordingSink) { p.recordings = s }

// recordingParams asks Twilio, on Create Call, to post the recording's
// status callback once the recording is ready.
func (p *Provider) recordingParams(params *api.CreateCallParams, callID string) {
	params.SetRecordingStatusCallback(p.callURL(pathRecording, callID)).SetRecordingStatusCallbackMethod(http.MethodPost).
		SetRecordingStatusCallbackEvent([]string{"completed", "absent", "failed"})
}

// startRecording is the <Start><Recording> that records an inbound call
// whose step asked for it, ahead of its <Connect> (an outbound call asks
// on Create Call instead): Twilio records both sides, mono, from the
// moment it runs the TwiML, and posts the recording status callback to
// recording/{call_id} under Parley's ID of the call once the recording is
// ready after the call (or absent: nothing was said).
func (l *Leg) startRecording() []twiml.Element {
	if l.recordAs == "" {
		return nil
	}
	rec := twiml.VoiceRecording{RecordingStatusCallback: l.p.callURL(pathRecording, l.recordAs), RecordingStatusCallbackMethod: http.MethodPost,
		RecordingStatusCallbackEvent: "completed absent", Channels: "mono", Track: "both"}
	return []twiml.Element{&twiml.VoiceStart{InnerElements: []twiml.Element{&rec}}}
}

// recordingURLLocked is the recording URL of the call's end: the final
// status callback's RecordingUrl (a call placed with Record), or for an
// inbound call recorded by <Start><Recording>, whose status callback has
// none, the call's Recordings resource at Twilio. l.mu is held.
func (l *Leg) recordingURLLocked(fromCallback string) string {
	if fromCallback != "" || l.recordAs == "" || l.sid == "" {
		return fromCallback
	}
	return strings.TrimRight(l.p.cfg.APIBase, "/") + "/2010-04-01/Accounts/" + l.p.cfg.AccountSID + "/Calls/" + l.sid + "/Recordings.json"
}

// recording takes a signed recording status callback (RecordingSid,
// RecordingUrl, RecordingStatus, RecordingDuration): a completed
// recording is downloaded (WAV, with the account's credentials) and handed
// to the sink before Twilio is answered, so a 2xx means it is kept. A
// failure answers 5xx and is logged with what went wrong.
func (p *Provider) recording(w http.ResponseWriter, r *http.Request, callID string, f map[string]string) {
	log := p.logger.With("call", callID, "recording_sid", f["RecordingSid"])
	if st := f["RecordingStatus"]; st != "completed" {
		// absent (nothing was said), failed: there is nothing to fetch.
		log.Warn("twilio reports a call's recording is not available", "status", st, "error_code", f["ErrorCode"])
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if p.recordings == nil {
		log.Error("a call's recording arrived but nothing keeps recordings in this process")
		http.Error(w, "recordings are not kept here", http.StatusServiceUnavailable)
		return
	}
	// The download and the store go on if Twilio stops waiting.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), recordingDownload)
	defer cancel()
	rec, err := p.download(ctx, f["RecordingUrl"])
	if err == nil {
		rec.CallID, rec.ProviderID = callID, f["RecordingSid"]
		if secs, perr := strconv.Atoi(f["RecordingDuration"]); perr == nil {
			rec.Duration = time.Duration(secs) * time.Second
		}
		err = p.recordings(ctx, rec)
	}
	if err != nil {
		log.Error("keeping a call's recording failed", "err", err)
		http.Error(w, "the recording could not be kept: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// download fetches a recording's audio as WAV from its RecordingUrl, with
// the account SID and auth token (Twilio's recordings are behind HTTP
// authentication by default), bounded by voice.MaxRecordingBytes.
func (p *Provider) download(ctx context.Context, recordingURL string) (voice.Recording, error) {
	if !strings.HasPrefix(recordingURL, "https://") && !strings.HasPrefix(recordingURL, "http://") {
		return voice.Recording{}, fmt.Errorf("the recording status callback's RecordingUrl %q is not an http(s) URL", recordingURL)
	}
	u := strings.TrimSuffix(strings.TrimSuffix(recordingURL, ".json"), ".wav") + ".wav"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return voice.Recording{}, fmt.Errorf("downloading the recording %s: %w", u, err)
	}
	req.SetBasicAuth(p.cfg.AccountSID, p.cfg.AuthToken)
	res, err := p.httpClient().Do(req)
	if err != nil {
		return voice.Recording{}, fmt.Errorf("downloading the recording %s: %w", u, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return voice.Recording{}, fmt.Errorf("downloading the recording %s: Twilio answered %d: %s", u, res.StatusCode, strings.TrimSpace(string(body)))
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, voice.MaxRecordingBytes+1))
	if err != nil {
		return voice.Recording{}, fmt.Errorf("downloading the recording %s: %w", u, err)
	}
	if len(data) > voice.MaxRecordingBytes {
		return voice.Recording{}, fmt.Errorf("the recording %s is over the %d-byte limit", u, voice.MaxRecordingBytes)
	}
	ct := voice.ContentWAV
	if h := res.Header.Get("Content-Type"); strings.Contains(h, "mpeg") || strings.Contains(h, "mp3") {
		ct = voice.ContentMP3
	}
	return voice.Recording{ContentType: ct, Data: data}, nil
}

// httpClient is the client twilio-go makes its calls with (New's, sent to
// the configured API base), so downloads reach a fake Twilio in tests.
func (p *Provider) httpClient() *http.Client {
	if c, ok := p.rest.RequestHandler.Client.(*twclient.Client); ok && c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}
