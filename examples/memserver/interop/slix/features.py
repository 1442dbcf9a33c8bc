"""Reports the first stream features the server offers to a client that
has not negotiated TLS (RFC 6120 §5.3.1, §6.3.1), then hangs up.

Output: {"ok": true, "features": names of the features offered,
"starttls_required": whether <starttls/> holds <required/>,
"mechanisms": the SASL mechanisms offered}. With -tls auto the server must
offer only STARTTLS, required; SASL, and so PLAIN, comes after TLS.
"""

import asyncio

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import interop

NS_STREAMS = 'http://etherx.jabber.org/streams'
NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls'
NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl'


async def scenario(args):
    (name, password), = args.accounts.items()
    # TLS is disabled on the client, so it cannot get past these features
    # when the server requires STARTTLS; the stream is cut right after them
    # either way.
    c = interop.new_client('%s@%s/features' % (name, args.domain), password, tls=False)
    first = asyncio.get_running_loop().create_future()
    c.register_handler(Callback(
        'interop first features', MatchXPath('{%s}features' % NS_STREAMS),
        lambda st: first.done() or first.set_result(st.xml)))
    c.connect(args.address, force_starttls=False, disable_starttls=True)
    try:
        xml = await interop.within(first, args.step_timeout, 'stream features')
    finally:
        c.abort()
    starttls = xml.find('{%s}starttls' % NS_TLS)
    return {
        'features': sorted(child.tag for child in xml),
        'starttls_required': starttls is not None and starttls.find('{%s}required' % NS_TLS) is not None,
        'mechanisms': sorted(m.text for m in xml.iterfind('{%s}mechanisms/{%s}mechanism' % (NS_SASL, NS_SASL))),
    }


if __name__ == '__main__':
    interop.main(scenario)
