package killharness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/sandbox"
)

// Customers write to Parley through the fake Graph API: Slots of them at
// a time, each sending up to PerContact messages ("hi" and the "Book"
// button in turn, 20–100 ms apart, one at a time), then the next customer
// takes the slot.
type Customers struct {
	Fake              *sandbox.Server
	Slots, PerContact int
	// Phone is the fmt format of the n-th customer's number ("1555%07d");
	// Tag names them ("C" → C1, C2…) and their message IDs
	// (wamid.<Tag>.<phone>.<i>).
	Phone, Tag string

	stop atomic.Bool
	wg   sync.WaitGroup
	next atomic.Int64
	err  atomic.Value
	mu   sync.Mutex
	sent map[string][]string
}

// Start starts the customers; they write until Stop or ctx ends.
func (c *Customers) Start(ctx context.Context) {
	c.sent = map[string][]string{}
	for range c.Slots {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for !c.stop.Load() {
				n := c.next.Add(1)
				phone := fmt.Sprintf(c.Phone, n)
				for i := 0; i < c.PerContact && !c.stop.Load(); i++ {
					in := sandbox.Inbound{From: phone, Name: fmt.Sprintf("%s%d", c.Tag, n), ID: fmt.Sprintf("wamid.%s.%s.%d", c.Tag, phone, i)}
					if i%2 == 0 {
						in.Text = "hi"
					} else {
						in.ButtonReply = &channel.Reply{ID: "b0", Title: "Book"}
					}
					if _, err := c.Fake.SendInbound(ctx, in); err != nil {
						c.err.Store(fmt.Errorf("contact %s, message %d: %w", phone, i, err))
						return
					}
					c.mu.Lock()
					c.sent[phone] = append(c.sent[phone], in.ID)
					c.mu.Unlock()
					select {
					case <-ctx.Done():
						return
					case <-time.After(20*time.Millisecond + rand.N(80*time.Millisecond)):
					}
				}
			}
		}()
	}
}

// Stop lets each customer finish the message it is on, waits for them,
// and returns why the load stopped early, if it did.
func (c *Customers) Stop() error {
	c.stop.Store(true)
	c.wg.Wait()
	err, _ := c.err.Load().(error)
	return err
}

// Sent is each customer's acknowledged message IDs, in order, by phone.
func (c *Customers) Sent() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]string, len(c.sent))
	for k, v := range c.sent {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// SentCount is how many messages the customers had acknowledged.
func (c *Customers) SentCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.sent {
		n += len(v)
	}
	return n
}
