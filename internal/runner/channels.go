package runner

import (
	"context"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// channelTTL is how long a channel row read for the hot paths (every
// webhook, every send, every first message) is reused. A change made in
// this process is seen at once (ForgetChannels); one made by another
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
