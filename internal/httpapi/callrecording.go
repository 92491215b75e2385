package httpapi

import (
	"bytes"
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/parleyhq/parley/internal/store"
)

// CallRecordingPath names a call's recording. The project is in the path so
// that an <audio src> in the UI (a browser request without the project
// header) reaches the right project with the session cookie.
type CallRecordingPath struct {
	ProjectID string `path:"project_id" maxLength:"100"`
	CallID    string `path:"call_id" maxLength:"100"`
}

// callRecording answers GET /projects/{project_id}/calls/{call_id}/recording:
// the recorded call's audio (WAV or MP3), with Range requests so a player
// can seek. A call without a recording (none asked, or the provider's has
// not arrived yet) is not found.
func (a *runtimeAPI) callRecording(ctx context.Context, in *CallRecordingPath) (*huma.StreamResponse, error) {
	p := principalFrom(ctx)
	rec, err := a.s.deps.Store.CallRecordingGet(ctx, store.Ref{ProjectID: p.ProjectID, ID: in.CallID})
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		r, w := humago.Unwrap(hctx)
		ext := ".wav"
		if rec.ContentType == "audio/mpeg" {
			ext = ".mp3"
		}
		w.Header().Set("Content-Type", rec.ContentType)
		w.Header().Set("Content-Disposition", `inline; filename="call-`+rec.CallID+ext+`"`)
		w.Header().Set("Cache-Control", "private, max-age=3600")
		http.ServeContent(w, r, "", rec.CreatedAt, bytes.NewReader(rec.Data))
	}}, nil
}
