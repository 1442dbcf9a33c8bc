package pam_test

import (
	"github.com/mixpam/mixpam/pam"
	"github.com/mixpam/mixpam/presence"
)

// The presence handler is what JoinConfig.Presence is for.
var _ pam.ChannelPresence = (*presence.Handler)(nil)
