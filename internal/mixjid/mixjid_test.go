package mixjid_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/jid"

	"github.com/mixpam/mixpam/internal/mixjid"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		in          string
		ok          bool
		participant string
		channel     string
	}{
		// XEP-0405 §2.9.3 and §2.12, XEP-0403 examples.
		{in: "123435#coven@mix.shakespeare.example", ok: true, participant: "123435", channel: "coven@mix.shakespeare.example"},
		{in: "123435#coven@mix.shakespeare.example/UUID-a1j/7533", ok: true, participant: "123435", channel: "coven@mix.shakespeare.example"},
		{in: "989898#coven@mix.shakespeare.example", ok: true, participant: "989898", channel: "coven@mix.shakespeare.example"},
		// The participant id has no '#' (XEP-0369 §4.6): split at the first.
		{in: "123456##coven@mix.shakespeare.example", ok: true, participant: "123456", channel: "#coven@mix.shakespeare.example"},
		{in: "a#b#c@mix.shakespeare.example", ok: true, participant: "a", channel: "b#c@mix.shakespeare.example"},
		// jid.Parse case-folds localparts; domainparts are lowered too.
		{in: "ABC#Coven@MIX.Shakespeare.Example/Res", ok: true, participant: "abc", channel: "coven@mix.shakespeare.example"},
		{in: "ΣΑΣ#Ω@mix.example", ok: true, participant: "σασ", channel: "ω@mix.example"},
		// Not encoded.
		{in: "#coven@mix.shakespeare.example"},
		{in: "123456#@mix.shakespeare.example"},
		{in: "#@mix.shakespeare.example"},
		{in: "coven@mix.shakespeare.example"},
		{in: "coven@mix.shakespeare.example/123456"},
		{in: "coven@mix.shakespeare.example/123#456"},
		{in: "mix.shakespeare.example"},
		{in: "hag66@shakespeare.example/UUID-a1j/7533"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			j := jid.MustParse(tc.in)
			participant, channel, ok := mixjid.Split(j)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.participant, participant)
			if !tc.ok {
				require.Empty(t, channel.String())
				return
			}
			require.Equal(t, tc.channel, channel.String())
			encoded, err := mixjid.Encode(participant, channel)
			require.NoError(t, err)
			require.Equal(t, j.Bare().String(), encoded.String(), "Encode(Split(j)) must give j's bare JID")
		})
	}
}

func TestChannel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"123435#coven@mix.shakespeare.example/UUID-a1j/7533", "coven@mix.shakespeare.example"},
		{"123435#coven@mix.shakespeare.example", "coven@mix.shakespeare.example"},
		{"coven@mix.shakespeare.example/123456", "coven@mix.shakespeare.example"},
		{"coven@mix.shakespeare.example", "coven@mix.shakespeare.example"},
		{"#coven@mix.shakespeare.example/x", "#coven@mix.shakespeare.example"},
		{"123456#@mix.shakespeare.example", "123456#@mix.shakespeare.example"},
		{"mix.shakespeare.example/res", "mix.shakespeare.example"},
		{"romeo@montague.example/orchard", "romeo@montague.example"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, mixjid.Channel(jid.MustParse(tc.in)).String(), "Channel(%s)", tc.in)
	}
}

func TestEncode(t *testing.T) {
	coven := jid.MustParse("coven@mix.shakespeare.example")
	tests := []struct {
		participant string
		channel     jid.JID
		want        string // "" for an error
	}{
		{"123435", coven, "123435#coven@mix.shakespeare.example"},
		{"123435", jid.MustParse("coven@mix.shakespeare.example/res"), "123435#coven@mix.shakespeare.example"},
		{"ABC", coven, "abc#coven@mix.shakespeare.example"},
		{"", coven, ""},
		{"1#2", coven, ""},
		{"1/2", coven, ""},
		{"1@2", coven, ""},
		{"1 2", coven, ""},
		{strings.Repeat("1", 1024), coven, ""},
		{"123435", jid.MustParse("mix.shakespeare.example"), ""},
	}
	for _, tc := range tests {
		got, err := mixjid.Encode(tc.participant, tc.channel)
		if tc.want == "" {
			require.Error(t, err, "Encode(%q, %s)", tc.participant, tc.channel)
			continue
		}
		require.NoError(t, err, "Encode(%q, %s)", tc.participant, tc.channel)
		require.Equal(t, tc.want, got.String(), "Encode(%q, %s)", tc.participant, tc.channel)
	}
}

// FuzzSplit parses arbitrary strings as JIDs and checks that Split never
// panics, that what it accepts round-trips through Encode, and that Channel
// agrees with it. The seed corpus in testdata/fuzz/FuzzSplit holds the JIDs
// of XEP-0369, 0403 and 0405 examples and edge cases.
func FuzzSplit(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		j, err := jid.Parse(s)
		if err != nil {
			return
		}
		participant, channel, ok := mixjid.Split(j)
		if !ok {
			if participant != "" || channel.String() != "" {
				t.Fatalf("Split(%s) = %q, %s, false: want zero values", j, participant, channel)
			}
			if got := mixjid.Channel(j); !got.Equal(j.Bare()) {
				t.Fatalf("Channel(%s) = %s, want the bare JID", j, got)
			}
			return
		}
		if participant == "" || strings.ContainsAny(participant, "#/@") {
			t.Fatalf("Split(%s): participant %q must be non-empty without '#', '/', '@'", j, participant)
		}
		if channel.Localpart() == "" || channel.Resourcepart() != "" || channel.Domainpart() != j.Domainpart() {
			t.Fatalf("Split(%s): channel %s must be a bare JID with a localpart on %s", j, channel, j.Domainpart())
		}
		if got := mixjid.Channel(j); !got.Equal(channel) {
			t.Fatalf("Channel(%s) = %s, Split gave %s", j, got, channel)
		}
		encoded, err := mixjid.Encode(participant, channel)
		if err != nil {
			t.Fatalf("Encode(%q, %s) after Split(%s): %v", participant, channel, j, err)
		}
		if !encoded.Equal(j.Bare()) {
			t.Fatalf("Encode(Split(%s)) = %s, want %s", j, encoded, j.Bare())
		}
	})
}

// BenchmarkChannel maps a channel participant's presence sender to its
// channel, as presence and blocking do for every stanza from a channel,
// next to taking the bare JID (what a non-MIX sender costs).
func BenchmarkChannel(b *testing.B) {
	sender := jid.MustParse("123435#coven@mix.shakespeare.example/UUID-a1j/7533")
	b.Run("baseline-Bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = sender.Bare()
		}
	})
	b.Run("Channel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = mixjid.Channel(sender)
		}
	})
}
