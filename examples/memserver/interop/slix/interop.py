"""Shared harness of the memserver interop scenarios (run by the Go tests
in the parent directory with /usr/bin/python3 and Debian's slixmpp 1.8.3).

A scenario is an async function taking the parsed command line and
returning a dict. main() runs it under a hard timeout and prints exactly one
JSON line on stdout: {"ok": true, ...the dict} with exit status 0, or
{"ok": false, "error": "..."} with exit status 1. Every wait has a deadline,
so a script always ends on its own; the Go side kills it as a last resort.
"""

import argparse
import asyncio
import json
import logging
import ssl
import sys
import traceback

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

# The plugins named by the issue; slixmpp loads their dependencies
# (xep_0004, xep_0059, xep_0060, xep_0297, ...) itself.
PLUGINS = ('xep_0030', 'xep_0115', 'xep_0369', 'xep_0405', 'xep_0313', 'xep_0191')

NS_CLIENT = 'jabber:client'
NS_MIX_PRESENCE = 'urn:xmpp:mix:presence:0'
NS_SID = 'urn:xmpp:sid:0'

NODE_MESSAGES = 'urn:xmpp:mix:nodes:messages'
NODE_PRESENCE = 'urn:xmpp:mix:nodes:presence'
NODE_PARTICIPANTS = 'urn:xmpp:mix:nodes:participants'
NODE_INFO = 'urn:xmpp:mix:nodes:info'


class Failure(Exception):
    """A scenario step did not go as the specifications say."""


def parse_args(add_arguments=None):
    """Parses the options every scenario takes, plus its own."""
    p = argparse.ArgumentParser()
    p.add_argument('--server', required=True, help='host:port of the client listener')
    p.add_argument('--domain', default='localhost')
    p.add_argument('--tls', choices=('starttls', 'off'), default='starttls',
                   help='starttls: require STARTTLS; off: plain TCP, never TLS')
    p.add_argument('--user', action='append', default=[], metavar='NAME:PASSWORD')
    p.add_argument('--log', help='file for slixmpp debug logs (stanza traces)')
    p.add_argument('--timeout', type=float, default=30, help='whole-scenario deadline in seconds')
    p.add_argument('--step-timeout', type=float, default=10, help='deadline of each wait in seconds')
    if add_arguments:
        add_arguments(p)
    args = p.parse_args()
    host, _, port = args.server.rpartition(':')
    args.address = (host, int(port))
    args.accounts = {}
    for u in args.user:
        name, sep, password = u.partition(':')
        if not sep:
            p.error('--user wants NAME:PASSWORD')
        args.accounts[name] = password
    return args


def main(scenario, add_arguments=None):
    """Runs scenario(args) and reports its result as one JSON line."""
    args = parse_args(add_arguments)
    if args.log:
        logging.basicConfig(filename=args.log, level=logging.DEBUG,
                            format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    try:
        result = asyncio.run(_bounded(scenario, args))
    except Failure as e:
        _emit({'ok': False, 'error': str(e)})
        sys.exit(1)
    except Exception as e:  # a bug in the scenario or in slixmpp: say where
        traceback.print_exc()
        _emit({'ok': False, 'error': '%s: %s' % (type(e).__name__, e)})
        sys.exit(1)
    _emit(dict(ok=True, **result))
    sys.exit(0)


async def _bounded(scenario, args):
    try:
        return await asyncio.wait_for(scenario(args), args.timeout)
    except asyncio.TimeoutError:
        raise Failure('the scenario did not finish within %gs' % args.timeout) from None


def _emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + '\n')
    sys.stdout.flush()


async def within(aw, seconds, what):
    """Awaits aw, failing with a message naming what was awaited."""
    try:
        return await asyncio.wait_for(aw, seconds)
    except asyncio.TimeoutError:
        raise Failure('no %s within %gs' % (what, seconds)) from None
    except slixmpp.exceptions.IqError as e:
        raise Failure('%s: error answer %s' % (what, e.iq)) from None
    except slixmpp.exceptions.IqTimeout:
        raise Failure('%s: no IQ answer' % what) from None


class Inbox:
    """Records the stanzas a client receives, for waiting on them."""

    def __init__(self, client, name):
        self.name = name
        self.items = []
        self._added = asyncio.Event()
        for kind in ('message', 'presence'):
            client.register_handler(Callback(
                'interop inbox %s' % kind,
                MatchXPath('{%s}%s' % (NS_CLIENT, kind)),
                self._add))
        # Roster pushes (RFC 6121 §2.1.6); slixmpp answers them itself.
        client.add_event_handler('roster_update', self._roster_update)

    def _add(self, stanza):
        self.items.append(stanza)
        self._added.set()

    def _roster_update(self, iq):
        if iq['type'] == 'set':
            self._add(iq)

    async def expect(self, what, predicate, seconds):
        """Returns (and consumes) the first stanza matching predicate,
        waiting at most seconds for it."""

        async def scan():
            while True:
                for i, st in enumerate(self.items):
                    if predicate(st):
                        del self.items[i]
                        return st
                self._added.clear()
                await self._added.wait()

        try:
            return await asyncio.wait_for(scan(), seconds)
        except asyncio.TimeoutError:
            seen = '; '.join(str(st) for st in self.items[-8:]) or 'nothing'
            raise Failure('%s: no %s within %gs (unmatched stanzas received, last 8: %s)'
                          % (self.name, what, seconds, seen)) from None

    def find(self, predicate):
        """Returns the stanzas received so far that match predicate."""
        return [st for st in self.items if predicate(st)]


def new_client(jid, password, *, tls=True, mech=None):
    """A ClientXMPP with the issue's plugins, accepting the server's
    self-signed certificate, using only mech when given."""
    c = slixmpp.ClientXMPP(jid, password, sasl_mech=mech)
    for plugin in PLUGINS:
        c.register_plugin(plugin)
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
    # PLAIN without TLS only when the test runs the server with -tls off.
    c['feature_mechanisms'].unencrypted_plain = not tls
    return c


async def connect(c, address, tls, seconds):
    """Connects, authenticates and binds c, with STARTTLS if tls and never
    TLS otherwise; fails on an authentication failure, a disconnection or
    the deadline."""
    loop = asyncio.get_running_loop()
    started = loop.create_future()

    def settle(exc=None):
        if started.done():
            return
        if exc is None:
            started.set_result(None)
        else:
            started.set_exception(exc)

    c.add_event_handler('session_start', lambda _: settle(), disposable=True)
    c.add_event_handler('failed_all_auth', lambda _: settle(Failure(
        '%s: authentication failed (mechanisms offered: %s)'
        % (c.boundjid.bare, sorted(c['feature_mechanisms'].mech_list)))))
    c.add_event_handler('connection_failed', lambda e: settle(Failure('%s: connection failed: %s' % (c.boundjid.bare, e))))
    c.add_event_handler('disconnected', lambda r: settle(Failure(
        '%s: disconnected before the session started (%s)' % (c.boundjid.bare, r))))
    c.connect(address, force_starttls=tls, disable_starttls=not tls)
    try:
        await asyncio.wait_for(started, seconds)
    except asyncio.TimeoutError:
        c.abort()
        raise Failure('%s: no session within %gs (stream features handled: %s)'
                      % (c.boundjid.bare, seconds, sorted(c.features))) from None


def tls_active(c):
    """Reports whether c's stream runs over TLS."""
    return isinstance(c.socket, (ssl.SSLObject, ssl.SSLSocket))


class Clients:
    """Logs clients in and disconnects them all at the end:

        async with Clients(args) as clients:
            alice = await clients.online('alice', 'mix')
    """

    def __init__(self, args):
        self.args = args
        self.clients = []

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await asyncio.gather(*(self.disconnect(c) for c in list(self.clients)))

    async def login(self, name, resource, *, mech=None):
        """Connects name/resource and returns the client, with an inbox."""
        a = self.args
        tls = a.tls == 'starttls'
        c = new_client('%s@%s/%s' % (name, a.domain, resource), a.accounts[name], tls=tls, mech=mech)
        c.inbox = Inbox(c, '%s/%s' % (name, resource))
        self.clients.append(c)
        await connect(c, a.address, tls, a.step_timeout)
        return c

    async def online(self, name, resource, *, caps=True):
        """Logs in as a client does at start: roster get, then initial
        presence. The xep_0369 plugin lists urn:xmpp:mix:core:1 in the
        client's disco#info, which is how the server learns that the client
        is MIX capable (XEP-0405 §2.1). With caps, the presence carries the
        XEP-0115 hash of that disco#info (slixmpp adds <c/> only once
        update_caps has computed it); without, the server has only the
        client's disco#info to ask.
        """
        c = await self.login(name, resource)
        await within(c.get_roster(), self.args.step_timeout, '%s roster' % name)
        if caps:
            await within(c['xep_0115'].update_caps(broadcast=False), self.args.step_timeout, 'caps computed')
        c.send_presence()
        return c

    async def disconnect(self, c):
        """Ends c's stream and waits until the server closed it too."""
        if c in self.clients:
            self.clients.remove(c)
        await c.disconnect(wait=self.args.step_timeout)

    def abort(self, c):
        """Drops c's connection without ending the stream, as a client that
        loses its network does."""
        self.clients.remove(c)
        c.abort()
