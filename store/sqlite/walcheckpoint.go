package sqlite

import (
	"log/slog"
	"time"
)

// WAL checkpoints. A checkpoint copies the pages the writer appended to the
// WAL into the database file, with an fsync on each side (the durability of
// db.go). The writer does not run them itself: a goroutine of its own does,
// on a connection of its own, PASSIVE (it never waits for a reader and the
// writer never waits for it), once the writer has committed
// checkpointCommits transactions since the last one. The writer's own
// wal_autocheckpoint stays, four times further out, as a backstop should
// this goroutine fall behind. The writer's time is the scarcest there is:
// every write waits for it.

// checkpointCommits is how many commits start a checkpoint: about 3,000
// pages of WAL at full batches, fewer when the load is light.
const checkpointCommits = 64

type checkpointer struct {
	c    *rconn
	log  *slog.Logger
	kick chan struct{} // buffered: a request while one runs is kept
	done chan struct{}
	n    int // commits since the last kick (the writer's)
}

func startCheckpointer(path string, busy time.Duration, log *slog.Logger) (*checkpointer, error) {
	c, err := openRaw(path, busy, "synchronous = NORMAL")
	if err != nil {
		return nil, err
	}
	k := &checkpointer{c: c, log: log, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go k.run()
	return k, nil
}

func (k *checkpointer) run() {
	defer close(k.done)
	for range k.kick {
		if _, _, err := k.c.exec("PRAGMA wal_checkpoint(PASSIVE)", nil); err != nil {
			k.log.Warn("sqlite: WAL checkpoint failed", slog.Any("err", err))
		}
	}
}

// committed counts a commit of the writer and starts a checkpoint when due.
func (k *checkpointer) committed() {
	if k.n++; k.n < checkpointCommits {
		return
	}
	k.n = 0
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// stop waits for the checkpoint in progress and closes the connection. The
// writer must have stopped.
func (k *checkpointer) stop() error {
	close(k.kick)
	<-k.done
	return k.c.close()
}
