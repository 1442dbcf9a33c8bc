"""MIX steps shared by the scenarios: creating and joining a channel through
slixmpp's xep_0369 and xep_0405 plugins, and recognising what the channel
sends back through the participant server."""

from slixmpp import JID

import interop
from interop import within

ALL_NODES = frozenset((interop.NODE_MESSAGES, interop.NODE_PRESENCE,
                       interop.NODE_PARTICIPANTS, interop.NODE_INFO))


def add_arguments(p):
    p.add_argument('--mix', default='mix.localhost', help='domain of the MIX service')
    p.add_argument('--channel', default='coven', help='name of the channel to create')


def room_of(args):
    return JID('%s@%s' % (args.channel, args.mix))


async def create(c, args, name=None):
    """Creates the channel (XEP-0369 §7.3.2), args.channel unless name is
    given, and returns its name as the service answered."""
    return await within(c['xep_0369'].create_channel(JID(args.mix), name or args.channel),
                        args.step_timeout, 'create result')


async def join(c, room, nick, seconds, nodes=ALL_NODES):
    """Joins through the participant server (xep_0405 client-join, XEP-0405
    §2.7), waits for the roster push adding the channel (§2.9) and returns
    (nodes that could not be subscribed, the pushed item's subscription,
    the participant id from the annotated roster, §2.10)."""
    failed = await within(c['xep_0405'].join_channel(room, nick, subscribe=set(nodes)),
                          seconds, '%s client-join result' % nick)
    push = await c.inbox.expect('roster push adding %s' % room,
                                lambda st: roster_item(st, room) is not None, seconds)
    return failed, roster_item(push, room)['subscription'], await participant_id(c, room, seconds)


async def participant_id(c, room, seconds):
    """The participant id of room in c's annotated roster ('' if absent)."""
    _, mix = await within(c['xep_0405'].get_mix_roster(), seconds, 'annotated roster')
    return next((it['channel']['participant-id'] for it in mix if it['jid'] == room), '')


def encoded(pid, room):
    """The participant's encoded JID pid#channel@service (XEP-0369 §4.6)."""
    return JID('%s#%s' % (pid, room.bare))


def roster_item(stanza, jid):
    """The roster item for jid in a roster push, or None."""
    if stanza.name != 'iq':
        return None
    for item_jid, item in stanza['roster']['items'].items():
        if JID(item_jid) == jid:
            return item
    return None


def groupchat(room, body):
    """Matches a groupchat message from room with body."""
    return lambda st: (st.name == 'message' and st['type'] == 'groupchat' and
                       st['from'].bare == room.bare and st['body'] == body)


def channel_presence(pid, room, resource, *, status=None, available=True):
    """Matches presence relayed by the channel from pid#room/resource."""
    sender = encoded(pid, room)

    def match(st):
        if st.name != 'presence' or st['from'].bare != sender.bare or st['from'].resource != resource:
            return False
        if (st['type'] == 'unavailable') == available:
            return False
        return status is None or st['status'] == status

    return match


def presence_jid(p):
    """The real JID in the <mix xmlns='urn:xmpp:mix:presence:0'/> of channel
    presence (XEP-0403 §4), or None."""
    el = p.xml.find('{%s}mix/{%s}jid' % (interop.NS_MIX_PRESENCE, interop.NS_MIX_PRESENCE))
    return None if el is None else JID(el.text)


async def set_status(c, room, pid, status, seconds):
    """c sets a status; waits until the channel relays it back to c (XEP-0405
    §2.9.1, §2.9.2), which shows that the server knows c is MIX capable
    (§2.1) and that channel traffic reaches it."""
    c.send_presence(pstatus=status)
    p = await c.inbox.expect('own presence "%s" from %s/%s' % (status, encoded(pid, room), c.boundjid.resource),
                             channel_presence(pid, room, c.boundjid.resource, status=status), seconds)
    if presence_jid(p) != c.boundjid:
        raise interop.Failure('channel presence without <mix xmlns="%s"><jid>%s</jid>: %s'
                              % (interop.NS_MIX_PRESENCE, c.boundjid, p))


def stanza_ids(m):
    """The XEP-0359 stanza-ids of a message, by their 'by'."""
    return {e.get('by'): e.get('id') for e in m.xml.findall('{%s}stanza-id' % interop.NS_SID)}
