// Command mixcomponent runs the memserver's MIX service (XEP-0369,
// XEP-0403; package internal/mixservice) as an XEP-0114 external component
// of any XMPP server, such as examples/melliumserver:
//
//	go run ./examples/memserver/mixcomponent -server 127.0.0.1:5347 -domain mix.localhost -secret S
//
// It prints one line once the server accepted it, and runs until the server
// closes the stream or it gets SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/examples/memserver/internal/mixservice"
	"github.com/mixpam/mixpam/host"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "mixcomponent:", err)
		os.Exit(2)
	}
}

// run connects the MIX service to the server and serves it until the
// stream or ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mixcomponent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("server", "127.0.0.1:5347", "the server's XEP-0114 address")
	domain := fs.String("domain", "mix.localhost", "the component's domain, where channels live")
	secret := fs.String("secret", "", "the secret shared with the server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	j, err := jid.Parse(*domain)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	sess, err := component.NewSession(ctx, j, []byte(*secret), conn)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	go func() { <-ctx.Done(); _ = sess.Close(); _ = conn.Close() }()
	svc := mixservice.New(mixservice.Config{Domain: *domain, Router: router{sess}, Logger: slog.New(slog.DiscardHandler)})
	defer svc.Close()
	fmt.Fprintf(stdout, "mixcomponent: MIX service %s connected to %s\n", *domain, *addr)

	r := sess.TokenReader()
	defer r.Close()
	for {
		tok, err := r.Token()
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		raw, err := host.AppendStanza(nil, xmlstream.MultiReader(xmlstream.Token(start), xmlstream.Inner(r), xmlstream.Token(start.End())))
		if err != nil {
			return err
		}
		_ = svc.Deliver(ctx, raw)
	}
}

// router sends the service's stanzas on the component stream.
type router struct{ s *xmpp.Session }

// Route implements host.Router.
func (r router) Route(ctx context.Context, _ jid.JID, stanza xml.TokenReader) error {
	return r.s.Send(ctx, stanza)
}
