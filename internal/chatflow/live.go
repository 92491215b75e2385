package chatflow

import (
	"context"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// liveTTL is how long a project's published flows, read for matching
// every first message against the triggers, are reused. A change made
// through this Service is seen at once; one made by another process within
// this long.
const liveTTL = time.Second

// liveCache keeps each project's published flows.
type liveCache struct {
	mu       sync.Mutex
	gen      uint64
	projects map[string]liveFlows
}

type liveFlows struct {
	gen   uint64
	at    time.Time
	flows []store.Flow
}

// changed forgets every cached list: a flow was created, changed or
// deleted.
func (c *liveCache) changed() {
	c.mu.Lock()
	c.gen++
	c.projects = nil
	c.mu.Unlock()
}

// Published lists the project's published flows, newest first (at most
// store.MaxPageSize), through a cache of a second.
func (s *Service) Published(ctx context.Context, projectID string) ([]store.Flow, error) {
	now := time.Now()
	s.live.mu.Lock()
	gen := s.live.gen
	l, ok := s.live.projects[projectID]
	s.live.mu.Unlock()
	if ok && l.gen == gen && now.Sub(l.at) < liveTTL {
		return l.flows, nil
	}
	list, err := s.store.FlowList(ctx, store.FlowListParams{ProjectID: projectID, Status: store.FlowPublished, Page: store.Page{Limit: store.MaxPageSize}})
	if err != nil {
		return nil, err
	}
	s.live.mu.Lock()
	if s.live.gen == gen {
		if s.live.projects == nil || len(s.live.projects) > 10_000 {
			s.live.projects = map[string]liveFlows{}
		}
		s.live.projects[projectID] = liveFlows{gen: gen, at: now, flows: list.Items}
	}
	s.live.mu.Unlock()
	return list.Items, nil
}
