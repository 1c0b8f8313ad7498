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

// check looks for new mail and takes all of it. woke says the server
// announced new mail (rather than a timer firing).
func (s *session) check(ctx context.Context, woke bool) error {
	p := s.p
	p.status.update(func(st *Status) { st.State = StateFetching; st.Idle = false })
	p.drainWake()
	if s.checked && (!woke || time.Since(s.verified) >= s.verifyEvery()) {
		// A folder deleted or re-created under a live session keeps
		// answering from its old state on some servers: ask afresh. Not
		// on every wake-up: a server announcing new mail in the selected
		// folder is talking about the live folder, and new mail in a
		// re-created one is not announced to this session, so the
		// session's safety-net timer (or this bound under a steady flow
		// of announcements) brings the check that notices.
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
		s.verified = time.Now()
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

// fetchBodies fetches the whole messages of items in one UID FETCH with
// BODY.PEEK[] (which leaves \Seen alone) and sets each item's raw, noBody
// or gone.
func (s *session) fetchBodies(items []item) error {
	uids := make([]imap.UID, len(items))
	for i := range items {
		uids[i] = items[i].uid
	}
	section := &imap.FetchItemBodySection{Peek: true}
	var bufs []*imapclient.FetchMessageBuffer
	err := s.do(func() (err error) {
		bufs, err = s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
			UID: true, BodySection: []*imap.FetchItemBodySection{section},
		}).Collect()
		return err
	})
	if err != nil && !isExpungeIssued(err) {
		return wrap(fmt.Sprintf("fetch %d messages", len(uids)), KindServer, err)
	}
	got := make(map[imap.UID]*imapclient.FetchMessageBuffer, len(bufs))
	for _, b := range bufs {
		if b.UID != 0 {
			got[b.UID] = b
		}
	}
	for i := range items {
		it := &items[i]
		b, ok := got[it.uid]
		switch {
		case !ok: // expunged by someone else meanwhile
			it.gone = true
		default:
			it.raw = b.FindBodySection(section)
			it.noBody = it.raw == nil
		}
	}
	return nil
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
