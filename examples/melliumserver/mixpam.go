package main

import (
	"log/slog"

	"github.com/mixpam/mixpam"
	"github.com/mixpam/mixpam/archive"
	"github.com/mixpam/mixpam/blocking"
	"github.com/mixpam/mixpam/host"
	"github.com/mixpam/mixpam/roster"
)

// newMixpam builds every mixpam handler over in-memory stores and the
// Dispatcher that routes stanzas to them: all of the server's mixpam
// wiring. sessions are the server's client sessions; router delivers what
// the handlers send. The server hands the Dispatcher stanzas in
// server.go (deliver, presence) and session ends (serveClient).
func newMixpam(sessions *host.MemSessions, router host.Router, log *slog.Logger) (*mixpam.Dispatcher, error) {
	return mixpam.New(mixpam.HostConfig{
		Sessions: sessions, Router: router, Logger: log,
		Rosters: roster.NewMemStore(), Archive: archive.NewMemStore(), Blocks: blocking.NewMemStore(),
	})
}
