package disco

import (
	"mellium.im/xmpp/disco/info"

	"github.com/mixpam/mixpam/ns"
)

// Features are the service discovery features mixpam gives an account's bare
// JID: urn:xmpp:mix:pam:2, which tells the account's clients that the server
// supports MIX for them (XEP-0405 §2.4), and urn:xmpp:mix:pam:2#archive when
// the server archives MIX messages in the user's archive (XEP-0405 §2.11).
//
// Features is an info.FeatureIter, for hosts that assemble their disco#info
// answers from mellium FeatureIters. Account uses it for its own answers.
type Features struct {
	// Archive reports that the server archives every MIX message in the
	// user's own archive, also when no client is online (XEP-0405 §2.11).
	Archive bool
}

// ForFeatures implements info.FeatureIter. It yields the features for the
// account itself (node ""); other nodes have none.
func (f Features) ForFeatures(node string, yield func(info.Feature) error) error {
	if node != "" {
		return nil
	}
	for _, v := range f.vars() {
		if err := yield(info.Feature{Var: v}); err != nil {
			return err
		}
	}
	return nil
}

// vars returns the features' names.
func (f Features) vars() []string {
	if f.Archive {
		return []string{ns.PAM, ns.PAMArchive}
	}
	return []string{ns.PAM}
}
