package mixload

import "fmt"

// plan is who joins which channel and who posts which message, fixed
// before anything is sent so that every delivery can be accounted for.
type plan struct {
	resources []int   // per participant: 1 or 2
	members   [][]int // per channel: participant indices
	channels  [][]int // per participant: channel indices
	msgs      []planned
	perChan   []int // messages per channel
}

// planned is one message: its channel, its sequence number in the channel,
// and who posts it (a participant, and its index among the channel's
// members).
type planned struct {
	ch, seq, member, participant int
}

// newPlan spreads participants over channels and messages over channels
// and members. Participant p joins the perParticipant channels
// (p·perParticipant + j) mod channels, which gives every channel the same
// number of members when the numbers divide evenly; message i goes to
// channel i mod channels, posted by its members in turn.
func newPlan(participants int, resources string, channels, perParticipant, messages int) (*plan, error) {
	p := &plan{
		resources: make([]int, participants),
		members:   make([][]int, channels),
		channels:  make([][]int, participants),
		perChan:   make([]int, channels),
	}
	for i := range participants {
		switch resources {
		case "1":
			p.resources[i] = 1
		case "2":
			p.resources[i] = 2
		case "mixed":
			p.resources[i] = 1 + i%2
		default:
			return nil, fmt.Errorf("resources must be 1, 2 or mixed, not %q", resources)
		}
		for j := range perParticipant {
			c := (i*perParticipant + j) % channels
			p.channels[i] = append(p.channels[i], c)
			p.members[c] = append(p.members[c], i)
		}
	}
	for c, m := range p.members {
		if len(m) == 0 {
			return nil, fmt.Errorf("channel %d has no members: use fewer channels or more channels per participant", c)
		}
	}
	p.msgs = make([]planned, messages)
	for i := range p.msgs {
		c := i % channels
		k := i / channels
		m := k % len(p.members[c])
		p.msgs[i] = planned{ch: c, seq: k, member: m, participant: p.members[c][m]}
		p.perChan[c]++
	}
	return p, nil
}

// recipients returns the number of resources a message to channel c
// reaches: every resource of every member, the sender's included.
func (p *plan) recipients(c int) int {
	n := 0
	for _, m := range p.members[c] {
		n += p.resources[m]
	}
	return n
}

// memberIndex returns participant's index among channel c's members.
func (p *plan) memberIndex(c, participant int) int {
	for i, m := range p.members[c] {
		if m == participant {
			return i
		}
	}
	return -1
}
