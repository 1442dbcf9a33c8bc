package blocking

import (
	"context"
	"sync"
)

// userLocks serialises the blocklist changes of each user, so that the
// pushes announcing them reach the user's resources in the order the
// changes were made. Locks exist only while held or awaited.
type userLocks struct {
	mu    sync.Mutex
	locks map[string]*userLock
}

type userLock struct {
	held  chan struct{} // holds a token while the lock is held
	users int           // goroutines holding or awaiting the lock
}

func newUserLocks() *userLocks {
	return &userLocks{locks: make(map[string]*userLock)}
}

// lock acquires the lock for key, or gives up when ctx ends. On success the
// caller must call the returned unlock function exactly once.
func (l *userLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	u := l.locks[key]
	if u == nil {
		u = &userLock{held: make(chan struct{}, 1)}
		l.locks[key] = u
	}
	u.users++
	l.mu.Unlock()

	select {
	case u.held <- struct{}{}:
		return func() {
			<-u.held
			l.release(key, u)
		}, nil
	case <-ctx.Done():
		l.release(key, u)
		return nil, ctx.Err()
	}
}

func (l *userLocks) release(key string, u *userLock) {
	l.mu.Lock()
	u.users--
	if u.users == 0 {
		delete(l.locks, key)
	}
	l.mu.Unlock()
}
