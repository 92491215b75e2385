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

// shortCache keeps values read for the hot paths for channelTTL, up to
// 10,000 keys (then it starts afresh). Errors are kept too: a channel that
// does not exist is not looked up on every webhook naming it.
type shortCache[V any] struct {
	mu sync.Mutex
	m  map[string]shortEntry[V]
}

type shortEntry[V any] struct {
	v   V
	err error
	at  time.Time
}

// get is the value kept for key, if it is recent.
func (c *shortCache[V]) get(key string, now time.Time) (V, error, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) >= channelTTL {
		var zero V
		return zero, nil, false
	}
	return e.v, e.err, true
}

func (c *shortCache[V]) put(key string, v V, err error, now time.Time) {
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10_000 {
		c.m = map[string]shortEntry[V]{}
	}
	c.m[key] = shortEntry[V]{v: v, err: err, at: now}
	c.mu.Unlock()
}

func (c *shortCache[V]) forget() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// channelCache keeps recently read channel rows: by ID, and lists by type.
type channelCache struct {
	byID   shortCache[domain.Channel]
	byType shortCache[[]domain.Channel]
}

// ChannelAny is the channel with the ID, in any project (webhook URLs name
// it), read through a cache of a second.
func (r *Runner) ChannelAny(ctx context.Context, id string) (domain.Channel, error) {
	now := time.Now()
	if ch, err, ok := r.channels.byID.get(id, now); ok {
		return ch, err
	}
	ch, err := r.st.ChannelGetAny(ctx, id)
	if err != nil && domain.CodeOf(err) != domain.CodeNotFound {
		return ch, err // not cached: a failed read is retried
	}
	r.channels.byID.put(id, ch, err, now)
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
	if chs, _, ok := r.channels.byType.get(typ, now); ok {
		return chs, nil
	}
	chs, err := r.st.ChannelListByType(ctx, typ)
	if err != nil {
		return nil, err
	}
	r.channels.byType.put(typ, chs, nil, now)
	return chs, nil
}

// ForgetChannels drops the cached channel rows; call it after creating,
// changing or deleting a channel.
func (r *Runner) ForgetChannels() {
	r.channels.byID.forget()
	r.channels.byType.forget()
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
	if kw, _, ok := r.projectWords.get(projectID, now); ok {
		return kw, nil
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
	r.projectWords.put(projectID, kw, nil, now)
	return kw, nil
}

// ForgetProjects drops the cached project settings; call it after changing
// a project's settings.
func (r *Runner) ForgetProjects() {
	r.projectWords.forget()
}
