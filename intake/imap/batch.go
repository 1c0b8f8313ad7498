package imap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/message"
)

// meta is what the first fetch of a batch learns about a message.
type meta struct {
	size  int64
	flags []imap.Flag
}

// item is one message of a batch on its way to the acceptor.
type item struct {
	uid  imap.UID
	size int64 // RFC822.SIZE

	raw    []byte // the body, once fetched
	gone   bool   // missing from the body fetch: expunged meanwhile
	noBody bool   // answered without the body: try again next check

	tried bool // handed to the acceptor (not when the batch stopped first)
	key   string
	res   intake.Result
	err   error
}

// batch takes the messages uids (ascending): it learns their sizes and
// flags, fetches the bodies of those to take (one UID FETCH per FetchBytes
// worth), accepts them AcceptWorkers at a time, then flags or moves the
// accepted ones and advances the checkpoint over the prefix that is
// finished. An accept failure stops the batch after that bookkeeping;
// messages accepted meanwhile, before or after the failing one, are still
// flagged or moved (they are durable and queued), the rest stay untouched.
func (s *session) batch(ctx context.Context, uids []imap.UID) error {
	p := s.p
	metas, err := s.fetchMeta(uids)
	if err != nil {
		return err
	}
	done := make(map[imap.UID]bool, len(uids))
	var want []item
	var taken, tooLarge []imap.UID
	for _, uid := range uids {
		m, ok := metas[uid]
		switch {
		case !ok: // expunged by someone else meanwhile
			done[uid] = true
		case hasFlag(m.flags, imap.Flag(p.cfg.Flag)) || hasFlag(m.flags, TooLargeFlag):
			done[uid] = true
		case p.cfg.MaxBytes > 0 && m.size > p.cfg.MaxBytes:
			// Never downloaded.
			s.log.Warn("message too large; left in the folder for a person",
				slog.Uint64("uid", uint64(uid)), slog.Int64("size", m.size), slog.Int64("max_bytes", p.cfg.MaxBytes))
			tooLarge = append(tooLarge, uid)
		default:
			want = append(want, item{uid: uid, size: m.size})
		}
	}

	var stopErr error
	for _, group := range fetchGroups(want, p.cfg.FetchBytes) {
		if stopErr = s.fetchBodies(group); stopErr != nil {
			break
		}
		s.acceptAll(ctx, group)
		for i := range group {
			it := &group[i]
			it.raw = nil // done with it: let the memory go
			switch {
			case it.gone:
				done[it.uid] = true
			case it.noBody, !it.tried:
				// Left for the next check (or the next session).
			case errors.Is(it.err, intake.ErrTooLarge):
				s.log.Warn("message refused as too large; left in the folder for a person",
					slog.Uint64("uid", uint64(it.uid)), slog.Int64("size", it.size), slog.Any("err", it.err))
				tooLarge = append(tooLarge, it.uid)
			case it.err != nil:
				// The server keeps the message: no flag, no move (invariant 1).
				if stopErr == nil {
					stopErr = &Error{Kind: KindAccept, Op: fmt.Sprintf("accept uid %d", it.uid), Err: it.err}
				}
			default:
				s.log.Info("message accepted", slog.Uint64("uid", uint64(it.uid)), slog.String("source_key", it.key),
					slog.Int64("inbound_id", it.res.InboundID), slog.Bool("duplicate", it.res.Duplicate))
				taken = append(taken, it.uid)
			}
		}
		if stopErr != nil {
			break
		}
	}
	p.status.update(func(st *Status) {
		for i := range want {
			if it := &want[i]; it.tried && it.err == nil {
				st.Accepted++
				if it.res.Duplicate {
					st.Duplicates++
				}
			}
		}
	})

	if err := s.markTooLarge(tooLarge); err != nil {
		return errors.Join(stopErr, err)
	}
	for _, uid := range tooLarge {
		done[uid] = true
	}
	p.status.update(func(st *Status) { st.TooLarge += uint64(len(tooLarge)) })
	if err := s.take(taken); err != nil {
		return errors.Join(stopErr, err)
	}
	for _, uid := range taken {
		done[uid] = true
	}
	for _, uid := range uids {
		if !done[uid] {
			s.undone = true
			break
		}
		s.last = uid
	}
	if err := s.saveCheckpoint(ctx); err != nil {
		return errors.Join(stopErr, err)
	}
	return stopErr
}

// fetchGroups cuts items into runs whose sizes add up to at most limit
// bytes; an item larger than limit is a run of its own.
func fetchGroups(items []item, limit int64) [][]item {
	var groups [][]item
	start, sum := 0, int64(0)
	for i, it := range items {
		if i > start && sum+it.size > limit {
			groups = append(groups, items[start:i])
			start, sum = i, 0
		}
		sum += it.size
	}
	if start < len(items) {
		groups = append(groups, items[start:])
	}
	return groups
}

// acceptAll hands the fetched messages of items to the acceptor, at most
// AcceptWorkers at once, started in UID order. After the first failure
// (other than a message refused as too large) no further message is
// started; those under way finish. Every message before the first failing
// one is tried, as when accepting one by one.
func (s *session) acceptAll(ctx context.Context, items []item) {
	var next atomic.Int64
	var failed atomic.Bool
	work := func() {
		// failed is checked before a message is claimed: every message
		// before a failing one was claimed before it failed, and is tried.
		for !failed.Load() {
			i := int(next.Add(1) - 1)
			if i >= len(items) {
				return
			}
			it := &items[i]
			if it.raw == nil {
				continue
			}
			it.tried = true
			it.key = s.sourceKey(it.uid, it.raw)
			it.res, it.err = s.p.acc.Accept(ctx, intake.Submission{
				Channel:   message.ChannelIMAP,
				Source:    s.p.source,
				SourceKey: it.key,
				Intent:    s.p.cfg.Intent,
				Queue:     s.p.cfg.Queue,
				Raw:       it.raw,
			})
			if it.err != nil && !errors.Is(it.err, intake.ErrTooLarge) {
				failed.Store(true)
			}
		}
	}
	n := 0
	for i := range items {
		if items[i].raw != nil {
			n++
		}
	}
	n = min(n, s.p.cfg.AcceptWorkers)
	if n <= 1 {
		work()
		return
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(work)
	}
	wg.Wait()
}

// sourceKey is the key of message uid: the UID key, or during a rescan
// after a UIDVALIDITY change the content key (RescanKey).
func (s *session) sourceKey(uid imap.UID, raw []byte) string {
	if s.rescan && uid <= s.rescanTo {
		return RescanKey(s.p.cfg.Name, raw, s.validity, uid)
	}
	return SourceKey(s.p.cfg.Name, s.validity, uid)
}
