package channels

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/domain"
)

// forget drops the cached rows after a change.
func (s *Service) forget() {
	s.byID.Forget()
	s.byType.Forget()
}

// ByID is the channel with the ID, in any project (webhook URLs name it),
// read through a cache of a second.
func (s *Service) ByID(ctx context.Context, id string) (domain.Channel, error) {
	now := time.Now()
	if ch, err, ok := s.byID.Get(id, now); ok {
		return ch, err
	}
	ch, err := s.d.Store.ChannelGetAny(ctx, id)
	if err != nil && domain.CodeOf(err) != domain.CodeNotFound {
		return ch, err // not cached: a failed read is retried
	}
	s.byID.Put(id, ch, err, now)
	return ch, err
}

// InProject is ByID within a project.
func (s *Service) InProject(ctx context.Context, projectID, id string) (domain.Channel, error) {
	ch, err := s.ByID(ctx, id)
	if err == nil && ch.ProjectID != projectID {
		return domain.Channel{}, domain.NotFound("channel", id)
	}
	return ch, err
}

// OfType lists every channel of a type, across projects (shared webhooks),
// read through a cache of a second.
func (s *Service) OfType(ctx context.Context, typ string) ([]domain.Channel, error) {
	now := time.Now()
	if chs, _, ok := s.byType.Get(typ, now); ok {
		return chs, nil
	}
	chs, err := s.d.Store.ChannelListByType(ctx, typ)
	if err != nil {
		return nil, err
	}
	s.byType.Put(typ, chs, nil, now)
	return chs, nil
}
