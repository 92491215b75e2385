package runner

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// channelTTL is how long a channel row read for the hot paths (every
// webhook, every send, every first message) is reused, and a project's
// keyword settings (every inbound text). A change made in this process is
// seen at once (ForgetChannels, ForgetProjects); one made by another
// process within this long.
const channelTTL = time.Second

// channelCache keeps recently read channel rows.
type channelCache struct {
	mu     sync.Mutex
	byID   map[string]cachedChannel
	byType map[string]cachedChannels
}

type cachedChannel struct {
	ch  domain.Channel
	at  time.Time
	err error
}

type cachedChannels struct {
	chs []domain.Channel
	at  time.Time
}

// ChannelAny is the channel with the ID, in any project (webhook URLs name
// it), read through a cache of a second.
func (r *Runner) ChannelAny(ctx context.Context, id string) (domain.Channel, error) {
	now := time.Now()
	r.channels.mu.Lock()
	c, ok := r.channels.byID[id]
	r.channels.mu.Unlock()
	if ok && now.Sub(c.at) < channelTTL {
		return c.ch, c.err
	}
	ch, err := r.st.ChannelGetAny(ctx, id)
	if err != nil && domain.CodeOf(err) != domain.CodeNotFound {
		return ch, err // not cached: a failed read is retried
	}
	r.channels.mu.Lock()
	if r.channels.byID == nil || len(r.channels.byID) > 10_000 {
		r.channels.byID = map[string]cachedChannel{}
	}
	r.channels.byID[id] = cachedChannel{ch: ch, at: now, err: err}
	r.channels.mu.Unlock()
	return ch, err
}

// channel is ChannelAny within a project.
func (r *Runner) channel(ctx context.Context, projectID, id string) (domain.Channel, error) {
	ch, err := r.ChannelAny(ctx, id)
	if err == nil && ch.ProjectID != projectID {
		return domain.Channel{}, domain.NotFound("channel", id)
	}
	return ch, err
}

// ChannelsOfType lists every channel of a type, across projects (shared
// webhooks), read through a cache of a second.
func (r *Runner) ChannelsOfType(ctx context.Context, typ string) ([]domain.Channel, error) {
	now := time.Now()
	r.channels.mu.Lock()
	c, ok := r.channels.byType[typ]
	r.channels.mu.Unlock()
	if ok && now.Sub(c.at) < channelTTL {
		return c.chs, nil
	}
	chs, err := r.st.ChannelListByType(ctx, typ)
	if err != nil {
		return nil, err
	}
	r.channels.mu.Lock()
	if r.channels.byType == nil {
		r.channels.byType = map[string]cachedChannels{}
	}
	r.channels.byType[typ] = cachedChannels{chs: chs, at: now}
	r.channels.mu.Unlock()
	return chs, nil
}

// ForgetChannels drops the cached channel rows; call it after creating,
// changing or deleting a channel.
func (r *Runner) ForgetChannels() {
	r.channels.mu.Lock()
	r.channels.byID, r.channels.byType = nil, nil
	r.channels.mu.Unlock()
}

// projectCache keeps recently read projects' keyword settings.
type projectCache struct {
	mu   sync.Mutex
	byID map[string]cachedKeywords
}

type cachedKeywords struct {
	kw keywordSettings
	at time.Time
}

// keywordSettings are a project's built-in opt-out and opt-in words.
type keywordSettings struct {
	disabled      bool
	optOut, optIn []string
}

// projectKeywords reads a project's keyword settings through a cache of a
// second.
func (r *Runner) projectKeywords(ctx context.Context, projectID string) (keywordSettings, error) {
	now := time.Now()
	r.projects.mu.Lock()
	c, ok := r.projects.byID[projectID]
	r.projects.mu.Unlock()
	if ok && now.Sub(c.at) < channelTTL {
		return c.kw, nil
	}
	p, err := r.st.ProjectGet(ctx, projectID)
	if err != nil {
		return keywordSettings{}, err
	}
	var settings struct {
		Keywords *struct {
			Enabled *bool    `json:"enabled"`
			OptOut  []string `json:"opt_out"`
			OptIn   []string `json:"opt_in"`
		} `json:"keywords"`
	}
	_ = json.Unmarshal(p.Settings, &settings)
	kw := keywordSettings{optOut: []string{"STOP", "UNSUBSCRIBE"}, optIn: []string{"START"}}
	if k := settings.Keywords; k != nil {
		kw.disabled = k.Enabled != nil && !*k.Enabled
		if k.OptOut != nil {
			kw.optOut = k.OptOut
		}
		if k.OptIn != nil {
			kw.optIn = k.OptIn
		}
	}
	r.projects.mu.Lock()
	if r.projects.byID == nil || len(r.projects.byID) > 10_000 {
		r.projects.byID = map[string]cachedKeywords{}
	}
	r.projects.byID[projectID] = cachedKeywords{kw: kw, at: now}
	r.projects.mu.Unlock()
	return kw, nil
}

// ForgetProjects drops the cached project settings; call it after changing
// a project's settings.
func (r *Runner) ForgetProjects() {
	r.projects.mu.Lock()
	r.projects.byID = nil
	r.projects.mu.Unlock()
}
