// Command melliumserver is a small XMPP server built on mellium's own
// server-side xmpp.Session and mux.ServeMux, with every mixpam package
// wired in (XEP-0405): the second reference host, next to
// examples/memserver, showing what importing mixpam into a Go XMPP server
// takes. mixpam.go builds mixpam; server.go hands it stanzas.
//
//	go run ./examples/melliumserver [flags]
//
// Clients log in with SASL PLAIN over STARTTLS (a self-signed certificate
// made at start). It has no MIX service of its own: channels live on an
// XEP-0114 component, such as the memserver's MIX service run by
//
//	go run ./examples/memserver/mixcomponent -server 127.0.0.1:5347 -secret S
//
// with melliumserver -component mix.localhost=S. Everything is in memory.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mixpam/mixpam/host"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "melliumserver:", err)
		}
		os.Exit(2)
	}
}

// pairs is a repeatable flag of name<sep>value.
type pairs struct {
	sep string
	m   map[string]string
	ord []string
}

func (p *pairs) String() string { return strings.Join(p.ord, ",") }

func (p *pairs) Set(v string) error {
	k, val, ok := strings.Cut(v, p.sep)
	if !ok || k == "" {
		return fmt.Errorf("want name%svalue", p.sep)
	}
	if _, dup := p.m[k]; dup {
		return fmt.Errorf("%s given twice", k)
	}
	p.m[k], p.ord = val, append(p.ord, k)
	return nil
}

// run starts the server as args say, prints how to connect and serves
// until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	users := pairs{sep: ":", m: map[string]string{}}
	components := pairs{sep: "=", m: map[string]string{}}
	fs := flag.NewFlagSet("melliumserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	domain := fs.String("domain", "localhost", "XMPP domain served")
	listen := fs.String("listen", "127.0.0.1:5222", "client-to-server address")
	componentListen := fs.String("component-listen", "127.0.0.1:5347", "XEP-0114 address for components")
	fs.Var(&components, "component", "allow a component under that domain, as domain=secret (repeatable)")
	fs.Var(&users, "user", "an account, as name:password (repeatable); with none, alice, bob and carol get random passwords")
	debug := fs.Bool("debug", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if len(users.m) == 0 {
		for _, u := range []string{"alice", "bob", "carol"} {
			_ = users.Set(u + ":" + rand.Text()[:12])
		}
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cert, err := selfSigned(*domain)
	if err != nil {
		return err
	}
	s := &server{ctx: ctx, domain: *domain, users: users.m, secrets: components.m, log: log, sessions: host.NewMemSessions(),
		tls: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, peers: map[string]*peer{}}
	if s.mixpam, err = newMixpam(s.sessions, s, log); err != nil {
		return err
	}
	defer s.mixpam.Close()
	var lc net.ListenConfig
	c2s, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return err
	}
	comp, err := lc.Listen(ctx, "tcp", *componentListen)
	if err != nil {
		_ = c2s.Close()
		return err
	}
	fmt.Fprintf(stdout, "mixpam melliumserver: XMPP domain %s, clients on %s (STARTTLS required, SASL PLAIN, self-signed certificate)\n", *domain, c2s.Addr())
	fmt.Fprintf(stdout, "  components (XEP-0114) on %s for %s\n", comp.Addr(), components.String())
	fmt.Fprintln(stdout, "  accounts:")
	for _, u := range users.ord {
		fmt.Fprintf(stdout, "    %s@%s  password %s\n", u, *domain, users.m[u])
	}
	fmt.Fprintln(stdout, "Stop with Ctrl-C.")

	go func() { <-ctx.Done(); _ = c2s.Close(); _ = comp.Close() }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.accept(comp, s.serveComponent) }()
	s.accept(c2s, s.serveClient)
	s.wg.Wait()
	log.Info("stopped")
	return nil
}

// accept serves each connection of ln on its own goroutine until ln closes.
func (s *server) accept(ln net.Listener, serve func(net.Conn)) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); serve(conn) }()
	}
}

// selfSigned makes a certificate for domain, for STARTTLS.
func selfSigned(domain string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: domain}, DNSNames: []string{domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, err
}
