package roster

import (
	"context"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"
)

// Errors of the Handler's channel and subscription operations.
const (
	// ErrChannel is returned for an operation on ordinary contacts that
	// names a channel item.
	ErrChannel = constError("roster: the item is a MIX channel")
	// ErrNotChannel is returned for a channel operation that names an
	// ordinary contact.
	ErrNotChannel = constError("roster: the item is not a MIX channel")
)

// ChannelItem returns the roster item for a channel the user joined
// (XEP-0405 §2.9): subscription from when the user shares presence with the
// channel, none when not (XEP-0404), named name (the channel's name from the
// join result or the channel's information node) or, when name is empty,
// after the channel's localpart.
func ChannelItem(channel jid.JID, participantID, name string, share bool) Item {
	if name == "" {
		name = channel.Localpart()
	}
	return Item{
		JID:           channel.Bare(),
		Name:          name,
		Subscription:  channelSubscription(share),
		Channel:       true,
		ParticipantID: participantID,
	}
}

func channelSubscription(share bool) Subscription {
	if share {
		return From
	}
	return None
}

// AddChannel puts a channel item (see ChannelItem) in user's roster, after
// the channel confirmed the join (XEP-0405 §2.7), and pushes it to every
// resource of user. The roster version changes, so a client that reconnects
// with a cached version gets the new roster. item.Channel is set whatever it
// was; an item with the same JID is replaced.
//
// The error is the store's, or wraps ErrRosterFull or ErrItemTooLarge when
// the Handler's Limits refuse the item; a failed push is logged, not
// returned: the change is stored and a client that missed the push sees it
// at its next roster get.
func (h *Handler) AddChannel(ctx context.Context, user jid.JID, item Item) error {
	if item.JID.String() == "" {
		return errors.New("roster: a channel item needs the channel's JID")
	}
	user = user.Bare()
	item.JID, item.Channel = item.JID.Bare(), true
	unlock := h.lock(user)
	defer unlock()
	_, err := h.store.Item(ctx, user, item.JID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("roster: reading %s: %w", item.JID, err)
	}
	if err := h.checkWrite(ctx, user, item, err == nil); err != nil {
		return fmt.Errorf("roster: adding channel %s: %w", item.JID, err)
	}
	ver, err := h.store.Put(ctx, user, item)
	if err != nil {
		return fmt.Errorf("roster: adding channel %s: %w", item.JID, err)
	}
	h.push(ctx, user, item, ver)
	return nil
}

// RemoveChannel removes the channel item for channel from user's roster,
// after the channel confirmed the leave (XEP-0405 §2.8), and pushes the
// removal. It returns ErrNotFound when there is no such item (nothing
// changes) and ErrNotChannel when the item is an ordinary contact (which it
// leaves alone). Failed pushes are logged as for AddChannel.
func (h *Handler) RemoveChannel(ctx context.Context, user, channel jid.JID) error {
	user, channel = user.Bare(), channel.Bare()
	unlock := h.lock(user)
	defer unlock()
	if _, err := h.channelItem(ctx, user, channel); err != nil {
		return err
	}
	ver, err := h.store.Delete(ctx, user, channel)
	if err != nil {
		return fmt.Errorf("roster: removing channel %s: %w", channel, err)
	}
	h.push(ctx, user, Item{JID: channel, Subscription: Remove}, ver)
	return nil
}

// SetChannelPresence records whether user shares presence with channel
// (the XEP-0404 presence preference): the channel item's subscription
// becomes from when share is true and none when not (XEP-0405 §2.9), and
// the change is pushed. Nothing changes, and nothing is pushed, when the
// subscription already matches. Errors are as for RemoveChannel.
func (h *Handler) SetChannelPresence(ctx context.Context, user, channel jid.JID, share bool) error {
	user, channel = user.Bare(), channel.Bare()
	unlock := h.lock(user)
	defer unlock()
	it, err := h.channelItem(ctx, user, channel)
	if err != nil {
		return err
	}
	sub := channelSubscription(share)
	if it.Subscription == sub {
		return nil
	}
	it.Subscription = sub
	ver, err := h.store.Put(ctx, user, it)
	if err != nil {
		return fmt.Errorf("roster: updating channel %s: %w", channel, err)
	}
	h.push(ctx, user, it, ver)
	return nil
}

// SetSubscription records a presence subscription change that the host's
// presence handling decided (RFC 6121 §3): contact's item in user's roster
// gets subscription sub (None, To, From or Both) and the pending-out flag
// ask, keeping its name and groups, and the change is pushed. An item is
// created when there is none, unless the Limits refuse it (ErrRosterFull,
// ErrItemTooLarge). Channel items are refused with ErrChannel:
// their subscription follows the presence preference (SetChannelPresence).
// Failed pushes are logged as for AddChannel.
func (h *Handler) SetSubscription(ctx context.Context, user, contact jid.JID, sub Subscription, ask bool) error {
	switch sub {
	case None, To, From, Both:
	default:
		return fmt.Errorf("roster: %q is not a subscription state", sub)
	}
	user, contact = user.Bare(), contact.Bare()
	unlock := h.lock(user)
	defer unlock()
	it, err := h.store.Item(ctx, user, contact)
	found := err == nil
	switch {
	case errors.Is(err, ErrNotFound):
		it = Item{JID: contact}
	case err != nil:
		return fmt.Errorf("roster: reading %s: %w", contact, err)
	case it.Channel:
		return ErrChannel
	}
	it.Subscription, it.Ask = sub, ask
	if err := h.checkWrite(ctx, user, it, found); err != nil {
		return fmt.Errorf("roster: updating %s: %w", contact, err)
	}
	ver, err := h.store.Put(ctx, user, it)
	if err != nil {
		return fmt.Errorf("roster: updating %s: %w", contact, err)
	}
	h.push(ctx, user, it, ver)
	return nil
}

// Channel returns user's channel item for channel (the item AddChannel
// stored), ErrNotFound when there is none, or ErrNotChannel when the item
// with that JID is an ordinary contact. Other errors are the store's.
func (h *Handler) Channel(ctx context.Context, user, channel jid.JID) (Item, error) {
	return h.channelItem(ctx, user.Bare(), channel.Bare())
}

// channelItem returns user's channel item for channel, or ErrNotFound or
// ErrNotChannel.
func (h *Handler) channelItem(ctx context.Context, user, channel jid.JID) (Item, error) {
	it, err := h.store.Item(ctx, user, channel)
	switch {
	case errors.Is(err, ErrNotFound):
		return Item{}, ErrNotFound
	case err != nil:
		return Item{}, fmt.Errorf("roster: reading %s: %w", channel, err)
	case !it.Channel:
		return Item{}, ErrNotChannel
	}
	return it, nil
}
