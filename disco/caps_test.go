package disco_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mixpam/mixpam/disco"
)

func TestParseCaps(t *testing.T) {
	exodus := disco.Caps{Hash: "sha-1", Node: "http://code.google.com/p/exodus", Ver: "QgayPKawpkPSDYmwT/WM94uAlu0="}
	for _, tc := range []struct {
		name    string
		payload string
		want    disco.Caps
		found   bool
		err     error // nil with wantErr: any error
		wantErr bool
	}{
		{name: "XEP-0115 §6.1", payload: xep0115Presence, want: exodus, found: true},
		{name: "among other children", payload: `<show>away</show><status>x</status>` + xep0115Presence + `<priority>5</priority>`, want: exodus, found: true},
		{name: "legacy without hash", payload: `<c xmlns='http://jabber.org/protocol/caps' node='http://psi-im.org/caps' ver='0.9.1' ext='voice-v1'/>`,
			want: disco.Caps{Node: "http://psi-im.org/caps", Ver: "0.9.1"}, found: true},
		{name: "none", payload: `<show>dnd</show>`},
		{name: "empty presence", payload: ``},
		{name: "c in another namespace", payload: `<c xmlns='urn:example' hash='sha-1' node='n' ver='v'/>`},
		{name: "nested caps ignored", payload: `<x xmlns='urn:example'>` + xep0115Presence + `</x>`},
		{name: "two caps", payload: xep0115Presence + xep0115Presence, err: disco.ErrInvalidCaps, wantErr: true},
		{name: "no ver", payload: `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n'/>`, err: disco.ErrInvalidCaps, wantErr: true},
		{name: "no node", payload: `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' ver='v'/>`, err: disco.ErrInvalidCaps, wantErr: true},
		{name: "broken XML", payload: `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'>`, wantErr: true},
		{name: "stray end", payload: `</presence>`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := disco.ParseCaps(tokensOf(tc.payload))
			if tc.wantErr {
				require.Error(t, err)
				if tc.err != nil {
					require.ErrorIs(t, err, tc.err)
				}
				require.False(t, found)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.found, found)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestCapsInfoNode(t *testing.T) {
	c := disco.Caps{Hash: "sha-1", Node: "http://code.google.com/p/exodus", Ver: "QgayPKawpkPSDYmwT/WM94uAlu0="}
	// XEP-0115 §6.2 Example 3.
	require.Equal(t, "http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0=", c.InfoNode())
}
