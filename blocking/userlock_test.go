package blocking

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUserLocks(t *testing.T) {
	l := newUserLocks()
	ctx := context.Background()

	unlock, err := l.lock(ctx, "juliet@capulet.lit")
	require.NoError(t, err)

	// Another user is not held up.
	unlockRomeo, err := l.lock(ctx, "romeo@montague.net")
	require.NoError(t, err)
	unlockRomeo()

	// The same user waits, and gives up when ctx ends.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = l.lock(cancelled, "juliet@capulet.lit")
	require.ErrorIs(t, err, context.Canceled)

	// A waiter gets the lock once it is released.
	got := make(chan func())
	go func() {
		unlock, err := l.lock(ctx, "juliet@capulet.lit")
		if err != nil {
			close(got)
			return
		}
		got <- unlock
	}()
	unlock()
	unlockWaiter, ok := <-got
	require.True(t, ok)
	unlockWaiter()

	require.Empty(t, l.locks, "locks exist only while held or awaited")
}
