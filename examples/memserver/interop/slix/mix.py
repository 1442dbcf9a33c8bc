"""MIX through the participant server, as slixmpp's MIX plugins do it.

alice creates a channel (xep_0369) and alice and bob join it through their
own server (xep_0405 client-join, XEP-0405 §2.7). Then:

  - the roster pushes and each annotated roster (xep_0405 get_mix_roster,
    XEP-0405 §2.9, §2.10) list the channel, with the participant id;
  - the channel's participants node lists both, and alice is notified of
    bob's join (XEP-0369 §7.1.2);
  - each client sets a status and sees it come back from the channel
    (channel.set_status): the synchronisation point before any groupchat;
  - a groupchat message from alice reaches bob's MIX client and alice's own
    (XEP-0405 §2.2);
  - bob goes offline, alice sends a second message, bob comes back with
    another client, sends a third, and finds all three in his own archive
    with xep_0313, in one page and paged one by one with RSM (XEP-0405
    §2.11, XEP-0313, XEP-0059);
  - bob's account advertises urn:xmpp:mam:2#extended, and bob uses it as
    xep_0313 offers it: the archive metadata, single-item retrieval (ids),
    after-id, and after-id with before-id (XEP-0313 §4.1.3, §6, §7);
  - bob leaves through xep_0405 (XEP-0405 §2.8): the roster push removes the
    channel and the annotated roster no longer lists it.

The output reports what was observed; the Go test checks it.
"""

from slixmpp import JID

import channel
import interop
from interop import within


async def scenario(args):
    t = args.step_timeout
    service = JID(args.mix)
    room = channel.room_of(args)
    out = {}
    async with interop.Clients(args) as clients:
        alice = await clients.online('alice', 'mix')
        bob = await clients.online('bob', 'mix')

        # Channel creation and discovery (XEP-0369 §6.1, §6.2, §7.3.2).
        out['can_create'] = await within(alice['xep_0369'].can_create_channel(service), t, 'disco#info of the MIX service')
        out['created'] = await channel.create(alice, args)
        listed = await within(alice['xep_0369'].list_channels(service), t, 'disco#items of the MIX service')
        out['listed'] = sorted(str(j) for j, _ in listed)

        # Join through the participant server, roster push and annotated
        # roster (XEP-0405 §2.7, §2.9, §2.10).
        pids = {}
        out['join'] = {}
        for c, nick in ((alice, 'alice'), (bob, 'bob')):
            failed, subscription, pids[nick] = await channel.join(c, room, nick, t)
            out['join'][nick] = {'failed_nodes': sorted(failed), 'push_subscription': subscription,
                                 'participant_id': pids[nick]}
        participants = await within(alice['xep_0369'].list_participants(room), t, 'participants node items')
        out['participants'] = sorted([pid, nick] for pid, nick, _ in participants)

        # bob joined after alice: alice hears of it on the participants node
        # (XEP-0369 §7.1.2), through her server.
        await alice.inbox.expect('participants node notification for bob',
                                 lambda st: participant_event(st, room, pids['bob']), t)
        out['alice_saw_bob_join'] = True

        for c, nick in ((alice, 'alice'), (bob, 'bob')):
            await channel.set_status(c, room, pids[nick], 'brewing', t)

        # Groupchat fan-out (XEP-0405 §2.2).
        body1 = 'When shall we three meet again?'
        alice.send_message(mto=room, mbody=body1, mtype='groupchat')
        out['live'] = {}
        for c, nick in ((bob, 'bob'), (alice, 'alice')):
            m = await c.inbox.expect('groupchat "%s"' % body1, channel.groupchat(room, body1), t)
            out['live'][nick] = describe(m, c)

        # An offline recipient: only the archive has it (XEP-0405 §2.11).
        await clients.disconnect(bob)
        body2 = 'In thunder, lightning, or in rain?'
        alice.send_message(mto=room, mbody=body2, mtype='groupchat')
        await alice.inbox.expect('groupchat "%s"' % body2, channel.groupchat(room, body2), t)
        # bob comes back with another client and sends a message himself.
        # The channel sent body2 to bob's bare JID before body3, and the
        # server archives before it delivers, so once body3 is here body2
        # and body3 are in the archive.
        bob = await clients.online('bob', 'mam')
        await channel.set_status(bob, room, pids['bob'], 'back', t)
        body3 = 'When the hurlyburly\'s done.'
        bob.send_message(mto=room, mbody=body3, mtype='groupchat')
        await bob.inbox.expect('groupchat "%s"' % body3, channel.groupchat(room, body3), t)
        page = await within(bob['xep_0313'].retrieve(with_jid=room, rsm={'max': 50}), t, 'MAM result')
        out['mam'] = [describe_archived(r) for r in page['mam']['results']]
        fin = page.xml.find('{urn:xmpp:mam:2}fin')
        out['mam_complete'] = fin is not None and fin.get('complete') in ('true', '1')
        out['mam_count'] = page['mam_fin']['rsm']['count']
        paged = []
        async for r in bob['xep_0313'].iterate(with_jid=room, rsm={'max': 1}):
            paged.append(r['mam_result']['id'])
            if len(paged) > 10:
                raise interop.Failure('RSM paging does not end: %s' % paged)
        out['mam_paged'] = paged

        # urn:xmpp:mam:2#extended (XEP-0313 §4.1.3, §6, §7).
        info = await within(bob['xep_0030'].get_info(jid=bob.boundjid.bare), t, "disco#info of bob's account")
        out['account_features'] = sorted(info['disco_info']['features'])
        meta = (await within(bob['xep_0313'].get_archive_metadata(), t, 'MAM metadata'))['mam_metadata']
        out['mam_metadata'] = {'start': meta['start']['id'], 'end': meta['end']['id'],
                               'start_stamp': str(meta['start']['timestamp']),
                               'end_stamp': str(meta['end']['timestamp'])}
        if len(paged) == 3:
            out['mam_by_ids'] = await extended_query(bob, t, 'MAM ids', ids=[paged[1]])
            out['mam_after_id'] = await extended_query(bob, t, 'MAM after-id', after_id=paged[0])
            out['mam_between_ids'] = await extended_query(bob, t, 'MAM after-id and before-id',
                                                          after_id=paged[0], before_id=paged[2])

        # Leave through the participant server (XEP-0405 §2.8).
        await within(bob['xep_0405'].leave_channel(room), t, 'client-leave result')
        push = await bob.inbox.expect('roster push removing the channel',
                                      lambda st: channel.roster_item(st, room) is not None, t)
        out['leave_push_subscription'] = channel.roster_item(push, room)['subscription']
        _, mix = await within(bob['xep_0405'].get_mix_roster(), t, 'annotated roster after leave')
        out['roster_after_leave'] = [str(it['jid']) for it in mix]
    return out


async def extended_query(c, t, what, **fields):
    """Queries c's own archive with the xep_0313 query interfaces given
    (after_id, before_id, ids) and returns the ids of the results, in the
    order they came. The server sends the results before the IQ answer."""
    iq = c.make_iq_set()
    qid = iq['id']
    iq['mam']['queryid'] = qid
    for k, v in fields.items():
        iq['mam'][k] = v
    await within(iq.send(), t, what)
    return [st['mam_result']['id'] for st in c.inbox.find(
        lambda st: st.name == 'message' and st['mam_result']['queryid'] == qid)]


def participant_event(st, room, pid):
    """Matches a participants node notification publishing pid."""
    if st.name != 'message' or st['from'] != room:
        return False
    for items in st.xml.iter('{http://jabber.org/protocol/pubsub#event}items'):
        if items.get('node') == interop.NODE_PARTICIPANTS:
            return any(it.get('id') == pid for it in items)
    return False


def describe(m, c):
    """What the test checks of a groupchat message a client received."""
    return {
        'from': str(m['from']),
        'to': str(m['to']),
        'bound': str(c.boundjid),
        'body': m['body'],
        'nick': m['mix']['nick'],
        'mix_jid': m['mix']['jid'],
        'stanza_ids': channel.stanza_ids(m),
    }


def describe_archived(r):
    """What the test checks of a MAM result (XEP-0313 §4.2)."""
    m = r['mam_result']['forwarded']['stanza']
    d = {
        'result_id': r['mam_result']['id'],
        'from': str(m['from']),
        'body': m['body'],
        'type': m['type'],
        'nick': m['mix']['nick'],
        'stanza_ids': channel.stanza_ids(m),
    }
    # The XEP-0203 stamp as slixmpp parses it (xep_0082); a stamp it cannot
    # parse is reported, so that the other checks still run.
    try:
        d['stamp'] = r['mam_result']['forwarded']['delay']['stamp'].isoformat()
    except ValueError as e:
        d['stamp_error'] = str(e)
    return d


if __name__ == '__main__':
    interop.main(scenario, channel.add_arguments)
