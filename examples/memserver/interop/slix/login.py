"""Logs in with one SASL mechanism and reports how the stream was set up.

Output: {"ok": true, "jid": bound full JID, "mechanism": the SASL mechanism
slixmpp used, "tls": whether the stream runs over TLS, "offered": the
mechanisms the server offered, "disco_pam": whether the account's disco#info
lists urn:xmpp:mix:pam:2 (the xep_0405 capability check, XEP-0405 §2.4)}.
"""

import interop


def arguments(p):
    p.add_argument('--mech', required=True, help='the only SASL mechanism to use')


async def scenario(args):
    name, = args.accounts
    async with interop.Clients(args) as clients:
        c = await clients.login(name, 'login', mech=args.mech)
        pam = await interop.within(c['xep_0405'].check_server_capability(),
                                   args.step_timeout, 'disco#info of the account')
        return {
            'jid': str(c.boundjid),
            'mechanism': c['feature_mechanisms'].mech.name,
            'offered': sorted(c['feature_mechanisms'].mech_list),
            'tls': interop.tls_active(c),
            'disco_pam': pam,
        }


if __name__ == '__main__':
    interop.main(scenario, arguments)
