"""Channel presence through the participant server (XEP-0405 §2.9,
XEP-0403), as slixmpp clients see it.

alice is in the channel with a status (channel.set_status). bob is online
with a MIX client whose capability the server already knows: bob first
joins a channel of his own and sets a status there, which comes back only
once the server found him MIX capable (XEP-0405 §2.1). Then bob joins
alice's channel, subscribing to the presence node, and:

  - bob gets alice's presence: the channel's full update on subscription
    (XEP-0405 §2.9.3), passed on by bob's server (§2.9.2);
  - alice gets bob's current presence without bob sending any after the
    join: the join puts the channel in bob's roster with one-way presence, which
    "will lead to the user's server correctly sending user's presence from
    all the user's MIX clients to the MIX channel" (§2.9; RFC 6121 §3.1.5
    has the server send current presence when a subscription is approved);
  - bob changes status: alice gets the update (§2.9.1);
  - bob disconnects without unavailable presence: alice gets unavailable
    presence from bob's encoded JID (§2.9.4).

Each check is reported rather than raised, so that one failure does not
hide the others; the Go test asserts them all.
"""

from slixmpp import JID

import channel
import interop


async def scenario(args):
    t = args.step_timeout
    room = channel.room_of(args)
    out = {}
    async with interop.Clients(args) as clients:
        alice = await clients.online('alice', 'mix')
        await channel.create(alice, args)
        _, _, alice_pid = await channel.join(alice, room, 'alice', t)
        await channel.set_status(alice, room, alice_pid, 'brewing', t)

        bob = await clients.online('bob', 'mix')
        lab = JID('%s-lab@%s' % (args.channel, args.mix))
        await channel.create(bob, args, name=lab.user)
        _, _, lab_pid = await channel.join(bob, lab, 'bob', t)
        await channel.set_status(bob, lab, lab_pid, 'warming up', t)

        _, _, bob_pid = await channel.join(bob, room, 'bob', t)
        out['participant_ids'] = {'alice': alice_pid, 'bob': bob_pid}

        async def check(key, c, what, predicate):
            try:
                p = await c.inbox.expect(what, predicate, t)
            except interop.Failure as e:
                out[key] = {'error': str(e)}
                return
            out[key] = {'from': str(p['from']), 'status': p['status'], 'type': p['type'],
                        'mix_jid': str(channel.presence_jid(p) or '')}

        await check('bob_got_alice', bob, "alice's presence",
                    channel.channel_presence(alice_pid, room, 'mix', status='brewing'))
        await check('alice_got_bob_on_join', alice, "bob's presence after his join",
                    channel.channel_presence(bob_pid, room, 'mix', status='warming up'))
        bob.send_presence(pstatus='stirring')
        await check('alice_got_bob_status', alice, "bob's new status",
                    channel.channel_presence(bob_pid, room, 'mix', status='stirring'))
        clients.abort(bob)  # the stream ends without unavailable presence
        await check('alice_got_bob_offline', alice, "bob's unavailable presence",
                    channel.channel_presence(bob_pid, room, 'mix', available=False))
    return out


if __name__ == '__main__':
    interop.main(scenario, channel.add_arguments)
