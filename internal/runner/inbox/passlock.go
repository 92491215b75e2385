package inbox

import "sync"

// passLocks serialises this process's passes over each contact's inbox,
// one lock per contact being worked: made when its first pass begins and
// dropped when the last one waiting ends. A fixed set of striped locks
// made unrelated contacts wait for each other: 256 contacts in flight
// over 512 stripes share about sixty of them, and a pass holds its lock
// through its sprints' commits (in bench/whatsapp's exchange, the block
// profile had about fifteen inbox workers waiting on another contact's
// pass at any time).
type passLocks struct {
	mu sync.Mutex
	m  map[string]*passLock
}

// passLock is one contact's lock and how many passes hold or want it.
type passLock struct {
	sync.Mutex
	users int
}

// lock takes contactID's lock, waiting for a pass over the same contact
// to end, and returns its unlock.
func (p *passLocks) lock(contactID string) (unlock func()) {
	p.mu.Lock()
	if p.m == nil {
		p.m = map[string]*passLock{}
	}
	l := p.m[contactID]
	if l == nil {
		l = &passLock{}
		p.m[contactID] = l
	}
	l.users++
	p.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		p.mu.Lock()
		if l.users--; l.users == 0 {
			delete(p.m, contactID)
		}
		p.mu.Unlock()
	}
}

// held is how many contacts have a pass running or waiting.
func (p *passLocks) held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}
