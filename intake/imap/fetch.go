package imap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// codeExpungeIssued is RFC 9051's EXPUNGEISSUED: some of the messages asked
// for were expunged by another session.
const codeExpungeIssued imap.ResponseCode = "EXPUNGEISSUED"

// do runs one IMAP exchange under the watchdog.
func (s *session) do(f func() error) error {
	s.dog.arm()
	defer s.dog.disarm()
	return f()
}

// check looks for new mail and takes all of it.
func (s *session) check(ctx context.Context) error {
	p := s.p
	p.status.update(func(st *Status) { st.State = StateFetching; st.Idle = false })
	p.drainWake()
	if s.checked {
		// A folder deleted or re-created under a live session keeps
		// answering from its old state on some servers: ask afresh.
		var st *imap.StatusData
		err := s.do(func() (err error) {
			st, err = s.c.Status(p.cfg.Folder, &imap.StatusOptions{UIDValidity: true}).Wait()
			return err
		})
		if err != nil {
			return wrap("status "+p.cfg.Folder, KindMailbox, err)
		}
		if st.UIDValidity != s.validity {
			return &Error{Kind: KindMailbox, Op: "status " + p.cfg.Folder,
				Err: fmt.Errorf("UIDVALIDITY changed from %d to %d under the session", s.validity, st.UIDValidity)}
		}
	}
	s.checked = true
	s.undone = false

	uids, err := s.newUIDs()
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(uids, p.cfg.BatchSize) {
		if err := s.batch(ctx, chunk); err != nil {
			return err
		}
	}
	if s.rescan && !s.undone {
		s.rescan = false
		s.last = max(s.last, s.rescanTo)
		s.log.Info("rescan after UIDVALIDITY change finished", slog.Uint64("uidvalidity", uint64(s.validity)))
	}
	if err := s.saveCheckpoint(ctx); err != nil {
		return err
	}
	p.status.update(func(st *Status) {
		st.LastPoll = time.Now()
		st.Polls++
		st.Failing = false
		st.Rescanning = s.rescan
	})
	return nil
}

// newUIDs returns the UIDs above the checkpoint that are not taken, in
// ascending order.
func (s *session) newUIDs() ([]imap.UID, error) {
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: s.last + 1, Stop: 0}}}}
	if s.keywords {
		crit.NotFlag = []imap.Flag{imap.Flag(s.p.cfg.Flag), TooLargeFlag}
	}
	var data *imap.SearchData
	err := s.do(func() (err error) {
		data, err = s.c.UIDSearch(crit, nil).Wait()
		return err
	})
	if err != nil {
		return nil, wrap("search "+s.p.cfg.Folder, KindServer, err)
	}
	// "n:*" matches the highest UID even when it is below n (RFC 9051
	// §6.4.4 / §9 seq-range): keep only what is really new.
	var uids []imap.UID
	for _, u := range data.AllUIDs() {
		if u > s.last {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	return uids, nil
}

// highestUID returns the highest UID in the folder, 0 when it is empty.
func (s *session) highestUID() (imap.UID, error) {
	var data *imap.SearchData
	err := s.do(func() (err error) {
		data, err = s.c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		return err
	})
	if err != nil {
		return 0, wrap("search "+s.p.cfg.Folder, KindServer, err)
	}
	var top imap.UID
	for _, u := range data.AllUIDs() {
		top = max(top, u)
	}
	return top, nil
}

// meta is what the first fetch of a batch learns about a message.
type meta struct {
	size  int64
	flags []imap.Flag
}

// batch takes the messages uids (ascending): accept each, then flag or
// move the accepted ones, then advance the checkpoint over the prefix that
// is finished. An accept failure ends the batch after that bookkeeping.
func (s *session) batch(ctx context.Context, uids []imap.UID) error {
	p := s.p
	metas, err := s.fetchMeta(uids)
	if err != nil {
		return err
	}
	done := make(map[imap.UID]bool, len(uids))
	var taken, tooLarge []imap.UID
	var stopErr error
	for _, uid := range uids {
		m, ok := metas[uid]
		switch {
		case !ok: // expunged by someone else meanwhile
			done[uid] = true
			continue
		case hasFlag(m.flags, imap.Flag(p.cfg.Flag)) || hasFlag(m.flags, TooLargeFlag):
			done[uid] = true
			continue
		case p.cfg.MaxBytes > 0 && m.size > p.cfg.MaxBytes:
			s.log.Warn("message too large; left in the folder for a person",
				slog.Uint64("uid", uint64(uid)), slog.Int64("size", m.size), slog.Int64("max_bytes", p.cfg.MaxBytes))
			tooLarge = append(tooLarge, uid)
			continue
		}
		raw, gone, err := s.fetchBody(uid)
		if err != nil {
			stopErr = err
			break
		}
		if gone {
			done[uid] = true
			continue
		}
		if raw == nil { // answered without the body: try again next check
			continue
		}
		key := SourceKey(p.cfg.Name, s.validity, uid)
		if s.rescan && uid <= s.rescanTo {
			key = RescanKey(p.cfg.Name, raw, s.validity, uid)
		}
		res, err := p.acc.Accept(ctx, intake.Submission{
			Channel:   message.ChannelIMAP,
			Source:    p.source,
			SourceKey: key,
			Intent:    p.cfg.Intent,
			Queue:     p.cfg.Queue,
			Raw:       raw,
		})
		if errors.Is(err, intake.ErrTooLarge) {
			s.log.Warn("message refused as too large; left in the folder for a person",
				slog.Uint64("uid", uint64(uid)), slog.Int("size", len(raw)), slog.Any("err", err))
			tooLarge = append(tooLarge, uid)
			continue
		}
		if err != nil {
			// The server keeps the message: no flag, no move (invariant 1).
			stopErr = &Error{Kind: KindAccept, Op: fmt.Sprintf("accept uid %d", uid), Err: err}
			break
		}
		s.log.Info("message accepted", slog.Uint64("uid", uint64(uid)), slog.String("source_key", key),
			slog.Int64("inbound_id", res.InboundID), slog.Bool("duplicate", res.Duplicate))
		p.status.update(func(st *Status) {
			st.Accepted++
			if res.Duplicate {
				st.Duplicates++
			}
		})
		taken = append(taken, uid)
	}

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

// fetchMeta fetches size and flags of uids. A UID missing from the answer
// is gone.
func (s *session) fetchMeta(uids []imap.UID) (map[imap.UID]meta, error) {
	var bufs []*imapclient.FetchMessageBuffer
	err := s.do(func() (err error) {
		bufs, err = s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
			UID: true, Flags: true, RFC822Size: true,
		}).Collect()
		return err
	})
	if err != nil && !isExpungeIssued(err) {
		return nil, wrap("fetch flags and sizes", KindServer, err)
	}
	metas := make(map[imap.UID]meta, len(bufs))
	for _, b := range bufs {
		if b.UID != 0 {
			metas[b.UID] = meta{size: b.RFC822Size, flags: b.Flags}
		}
	}
	return metas, nil
}

// fetchBody fetches the whole message uid with BODY.PEEK[] (which leaves
// \Seen alone). gone is true when the message no longer exists; raw is nil
// without gone when the server answered without the body.
func (s *session) fetchBody(uid imap.UID) (raw []byte, gone bool, err error) {
	section := &imap.FetchItemBodySection{Peek: true}
	var bufs []*imapclient.FetchMessageBuffer
	err = s.do(func() (err error) {
		bufs, err = s.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{
			UID: true, BodySection: []*imap.FetchItemBodySection{section},
		}).Collect()
		return err
	})
	if err != nil && !isExpungeIssued(err) {
		return nil, false, wrap(fmt.Sprintf("fetch uid %d", uid), KindServer, err)
	}
	for _, b := range bufs {
		if b.UID == uid {
			if body := b.FindBodySection(section); body != nil {
				return body, false, nil
			}
			return nil, false, nil
		}
	}
	return nil, true, nil
}

func isExpungeIssued(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo && ie.Code == codeExpungeIssued
}

// saveCheckpoint stores the checkpoint when it moved. During a rescan it
// keeps the old UIDVALIDITY, so that an interrupted rescan starts over.
func (s *session) saveCheckpoint(ctx context.Context) error {
	p := s.p
	p.status.update(func(st *Status) { st.LastUID = uint32(s.last) })
	if s.rescan {
		return nil
	}
	cp := store.Checkpoint{Source: p.source, UIDValidity: s.validity, LastUID: uint32(s.last)}
	if cp == s.saved {
		return nil
	}
	if err := p.cp.SaveCheckpoint(ctx, cp); err != nil {
		return &Error{Kind: KindCheckpoint, Op: "save checkpoint", Err: err}
	}
	s.saved = cp
	return nil
}
