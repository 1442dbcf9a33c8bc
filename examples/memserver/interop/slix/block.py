"""Blocking one channel participant with xep_0191 (XEP-0191, made MIX-aware
by XEP-0405 §2.12).

alice and bob are in a channel. bob blocks alice's encoded participant JID
pid#channel@service, the only JID XEP-0405 §2.12 gives him for her. Then:

  - bob's blocklist (xep_0191 get_blocked) lists it;
  - bob's client gets unavailable presence from alice's encoded JID, as if
    she had left (XEP-0191 §3.3: presence stops);
  - alice's next groupchat message and her status change do not reach bob's
    client: bob then sends a message himself and receives it, and the
    channel distributes its messages in order, so alice's would have come
    first;
  - bob unblocks alice: his client gets alice's current presence, the status
    she set while blocked (XEP-0191 §3.4), and her next message reaches him
    again.
"""

import channel
import interop
from interop import within


async def scenario(args):
    t = args.step_timeout
    room = channel.room_of(args)
    out = {}
    async with interop.Clients(args) as clients:
        alice = await clients.online('alice', 'mix')
        # bob's presence has no XEP-0115 caps: the server must ask his
        # client's disco#info to find it MIX capable (XEP-0405 §2.1), or
        # set_status below never sees his presence come back.
        bob = await clients.online('bob', 'mix', caps=False)
        await channel.create(alice, args)
        pids = {}
        for c, nick in ((alice, 'alice'), (bob, 'bob')):
            _, _, pids[nick] = await channel.join(c, room, nick, t)
            await channel.set_status(c, room, pids[nick], 'brewing', t)
        blocked = channel.encoded(pids['alice'], room)
        out['blocked_jid'] = str(blocked)

        await within(bob['xep_0191'].block(blocked), t, 'block result')
        listed = await within(bob['xep_0191'].get_blocked(), t, 'blocklist')
        out['blocklist'] = sorted(str(j) for j in listed['blocklist']['items'])
        await bob.inbox.expect('unavailable presence from %s' % blocked,
                               channel.channel_presence(pids['alice'], room, 'mix', available=False), t)
        out['unavailable_on_block'] = True

        stirring = 'stirring'
        await channel.set_status(alice, room, pids['alice'], stirring, t)
        hidden = 'Fillet of a fenny snake'
        alice.send_message(mto=room, mbody=hidden, mtype='groupchat')
        await alice.inbox.expect('own groupchat "%s"' % hidden, channel.groupchat(room, hidden), t)
        marker = 'Eye of newt, and toe of frog'
        bob.send_message(mto=room, mbody=marker, mtype='groupchat')
        await bob.inbox.expect('own groupchat "%s"' % marker, channel.groupchat(room, marker), t)
        out['delivered_while_blocked'] = len(bob.inbox.find(channel.groupchat(room, hidden)))
        out['presence_while_blocked'] = len(bob.inbox.find(
            channel.channel_presence(pids['alice'], room, 'mix', status=stirring)))

        await within(bob['xep_0191'].unblock(blocked), t, 'unblock result')
        listed = await within(bob['xep_0191'].get_blocked(), t, 'blocklist after unblock')
        out['blocklist_after_unblock'] = sorted(str(j) for j in listed['blocklist']['items'])
        await bob.inbox.expect('current presence of %s after unblocking' % blocked,
                               channel.channel_presence(pids['alice'], room, 'mix', status=stirring), t)
        out['presence_after_unblock'] = True
        again = 'Wool of bat, and tongue of dog'
        alice.send_message(mto=room, mbody=again, mtype='groupchat')
        await bob.inbox.expect('groupchat "%s" after unblocking' % again, channel.groupchat(room, again), t)
        out['delivered_after_unblock'] = True
    return out


if __name__ == '__main__':
    interop.main(scenario, channel.add_arguments)
