package chatflow

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/parleyhq/parley/internal/flow"
	"github.com/parleyhq/parley/internal/store"
)

// Program returns the compiled program of a published revision. Revisions
// are immutable, so programs are cached by (project, flow, revision) and
// compiled at most once per process while they stay in the cache.
func (s *Service) Program(ctx context.Context, projectID, flowID string, revision int) (*flow.Program, error) {
	key := programKey{projectID, flowID, revision}
	if p, ok := s.programs.get(key); ok {
		return p, nil
	}
	v, err := s.store.FlowRevisionGet(ctx, store.FlowRevisionGetParams{ProjectID: projectID, FlowID: flowID, Revision: revision})
	if err != nil {
		return nil, err
	}
	g, err := decodeStored(v.Graph, fmt.Sprintf("graph of revision %d of flow %s", revision, flowID))
	if err != nil {
		return nil, err
	}
	var settings Settings
	if err := json.Unmarshal(v.Settings, &settings); err != nil {
		return nil, fmt.Errorf("decoding the settings of revision %d of flow %s: %w", revision, flowID, err)
	}
	p, err := flow.Compile(g, flow.CompileOptions{Env: frozenEnv{buttons: settings.TemplateButtons}})
	if err != nil {
		return nil, fmt.Errorf("compiling revision %d of flow %s: %w", revision, flowID, err)
	}
	s.programs.put(key, p)
	return p, nil
}

type programKey struct {
	projectID, flowID string
	revision          int
}

type programEntry struct {
	key  programKey
	prog *flow.Program
}

// programCache is a least-recently-used cache of compiled programs. Two
// goroutines missing the same key both compile; the programs are equal, so
// the duplicate work is harmless and rarer than the cost of a lock held
// across compilation.
type programCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	items map[programKey]*list.Element
}

func newProgramCache(max int) *programCache {
	return &programCache{max: max, order: list.New(), items: map[programKey]*list.Element{}}
}

func (c *programCache) get(k programKey) (*flow.Program, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*programEntry).prog, true
}

func (c *programCache) put(k programKey, p *flow.Program) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*programEntry).prog = p
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&programEntry{key: k, prog: p})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*programEntry).key)
	}
}

// dropFlow forgets a deleted flow's programs.
func (c *programCache) dropFlow(projectID, flowID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		if k.projectID == projectID && k.flowID == flowID {
			c.order.Remove(el)
			delete(c.items, k)
		}
	}
}

func (c *programCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
