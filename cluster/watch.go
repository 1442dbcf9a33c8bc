package cluster

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// watch loads a bucket through w and then follows it: load is applied to
// each initial value (they end with a nil entry), loaded, if not nil, runs
// once they are in, and follow is applied to every later change on a
// goroutine of the node's until the node stops. watch returns once the
// initial values are loaded, or with ctx's error.
func (n *Node) watch(ctx context.Context, w jetstream.KeyWatcher, load func(jetstream.KeyValueEntry), loaded func(), follow func(jetstream.KeyValueEntry)) error {
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				if loaded != nil {
					loaded()
				}
				n.wg.Go(func() { n.follow(w, follow) })
				return nil
			}
			load(e)
		case <-ctx.Done():
			_ = w.Stop()
			return ctx.Err()
		}
	}
}

// follow applies every change w reports until the node stops.
func (n *Node) follow(w jetstream.KeyWatcher, apply func(jetstream.KeyValueEntry)) {
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil {
				apply(e)
			}
		case <-n.ctx.Done():
			return
		}
	}
}
