"""Clients in the orders real clients use, not the one the server's own
tests used to (roster get, presence at priority 0, then everything else).

alice has three clients:

  - early: gets the roster and joins the channel before sending any
    presence (XEP-0405 §2.7 does not ask for presence first);
  - quiet: never gets the roster and never sends presence;
  - low: gets the roster and sends presence at priority -1.

bob, who created the channel, joins too, subscribed to the participants node: its notification is a
normal message to alice's bare JID while none of her clients may take it
(RFC 6121 §8.5.2.1.1), the sequence that once corrupted the server's
session registry. Then:

  - early sends presence at priority 1: the channel relays it back
    (XEP-0405 §2.9), which shows the server knows early is MIX capable;
  - bob's groupchat reaches early and low (both MIX clients; priority does
    not matter for the fan-out, XEP-0405 §2.2), not quiet;
  - bob's chat to alice's bare JID reaches early only (the highest
    non-negative priority, RFC 6121 §8.5.2.1.1);
  - bob's client-join sent to alice's bare JID is refused with forbidden
    (RFC 6120 §8.3.3.5);
  - a fourth client of alice comes and goes three times while bob sends
    groupchat: early gets every message;
  - early leaves: the roster push goes to early and low, which requested
    the roster (RFC 6121 §2.1.6), not to quiet.

quiet's inbox is reported whole: it must have received nothing.
"""

import asyncio

from slixmpp import JID
from slixmpp.exceptions import IqError

import channel
import interop
from interop import within


async def scenario(args):
    t = args.step_timeout
    room = channel.room_of(args)
    alice_bare = JID('alice@%s' % args.domain)
    out = {}
    async with interop.Clients(args) as clients:
        bob = await clients.online('bob', 'mix')
        await channel.create(bob, args)

        early = await clients.login('alice', 'early')
        await within(early.get_roster(), t, 'early roster')
        await within(early['xep_0115'].update_caps(broadcast=False), t, 'caps computed')
        quiet = await clients.login('alice', 'quiet')
        low = await clients.login('alice', 'low')
        await within(low.get_roster(), t, 'low roster')
        low.send_presence(ppriority=-1)

        # early joins before it has sent any presence.
        _, sub, early_pid = await channel.join(early, room, 'alice', t)
        out['early_join_push_subscription'] = sub
        out['low_got_join_push'] = bool(await _maybe(low, 'join push on low',
                                                      lambda st: channel.roster_item(st, room) is not None, t))

        _, _, bob_pid = await channel.join(bob, room, 'bob', t)
        await channel.set_status(bob, room, bob_pid, 'stirring', t)

        # Now early comes online, above low.
        early.send_presence(pstatus='brewing', ppriority=1)
        await early.inbox.expect('own channel presence', channel.channel_presence(early_pid, room, 'early', status='brewing'), t)

        body = 'Double, double toil and trouble'
        bob.send_message(mto=room, mbody=body, mtype='groupchat')
        await bob.inbox.expect('own groupchat', channel.groupchat(room, body), t)
        for c, key in ((early, 'early_got_groupchat'), (low, 'low_got_groupchat')):
            out[key] = bool(await _maybe(c, 'groupchat', channel.groupchat(room, body), t))

        chat = 'Fire burn and cauldron bubble'
        bob.send_message(mto=alice_bare, mbody=chat, mtype='chat')
        is_chat = lambda st: st.name == 'message' and st['type'] == 'chat' and st['body'] == chat
        out['early_got_chat'] = bool(await _maybe(early, 'chat to the bare JID', is_chat, t))

        try:
            await bob['xep_0405'].join_channel(room, 'bob', ito=alice_bare, timeout=t)
            out['foreign_join'] = 'result'
        except IqError as e:
            out['foreign_join'] = e.iq['error']['condition']

        # A client comes and goes while the channel's traffic flows.
        bodies = ['By the pricking of my thumbs %d' % i for i in range(6)]
        for i, b in enumerate(bodies):
            bob.send_message(mto=room, mbody=b, mtype='groupchat')
            if i % 2 == 0:
                extra = await clients.online('alice', 'extra')
                await clients.disconnect(extra)
        got = []
        for b in bodies:
            m = await _maybe(early, 'groupchat "%s"' % b, channel.groupchat(room, b), t)
            got.append(m['body'] if m else '')
        out['early_groupchat_while_churning'] = got

        await within(early['xep_0405'].leave_channel(room, timeout=t), t, 'client-leave result')
        removed = lambda st: (channel.roster_item(st, room) or {'subscription': ''})['subscription'] == 'remove'
        out['early_got_leave_push'] = bool(await _maybe(early, 'leave push', removed, t))
        out['low_got_leave_push'] = bool(await _maybe(low, 'leave push', removed, t))

        # A request of low and then of quiet to the server, answered in
        # order with what the server queued for each before: after it,
        # their inboxes hold whatever the server had for them.
        for c in (low, quiet):
            await within(c['xep_0030'].get_info(jid=JID(args.domain), timeout=t), t, 'disco#info of the server')
        out['low_got_chat'] = len(low.inbox.find(is_chat))
        out['quiet_received'] = [str(st) for st in quiet.inbox.items]
    return out


async def _maybe(c, what, predicate, seconds):
    """The first stanza matching predicate, or None after seconds."""
    try:
        return await c.inbox.expect(what, predicate, seconds)
    except interop.Failure:
        return None


if __name__ == '__main__':
    interop.main(scenario, channel.add_arguments)
