package localmail

import (
	"context"
	"sync"
)

// Subscribe returns a channel that receives every message accepted from now
// on, in order, until ctx is done or the server is closed; then the channel
// is closed. A slow reader never slows the server nor loses a message: the
// subscription queues without bound.
func (s *SMTPServer) Subscribe(ctx context.Context) <-chan Received {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	sub := &subscriber{wake: make(chan struct{}, 1)}
	out := make(chan Received)
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	go func() {
		defer close(out)
		defer stop()
		defer cancel()
		defer func() {
			s.mu.Lock()
			delete(s.subs, sub)
			s.mu.Unlock()
		}()
		for {
			msg, ok := sub.pop()
			if !ok {
				select {
				case <-sub.wake:
					continue
				case <-ctx.Done():
					return
				}
			}
			select {
			case out <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// subscriber is one Subscribe call's queue.
type subscriber struct {
	mu    sync.Mutex
	queue []Received
	wake  chan struct{} // one pending wake-up at most
}

// push queues msg; it never blocks.
func (sub *subscriber) push(msg Received) {
	sub.mu.Lock()
	sub.queue = append(sub.queue, msg)
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *subscriber) pop() (Received, bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if len(sub.queue) == 0 {
		return Received{}, false
	}
	msg := sub.queue[0]
	sub.queue = sub.queue[1:]
	return msg, true
}
