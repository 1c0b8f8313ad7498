package imap

import (
	"errors"
	"log/slog"

	"github.com/emersion/go-imap/v2"
)

// take tells the server that uids are accepted: it adds the flag and, in
// move mode, moves them. The flag comes first so that a move interrupted
// by a crash is finished by the next session (moveFlagged) instead of the
// message being taken again.
func (s *session) take(uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	set := imap.UIDSetNum(uids...)
	if s.keywords {
		if err := s.addFlags(set, imap.Flag(s.p.cfg.Flag)); err != nil {
			return wrap("flag taken messages", KindServer, err)
		}
	}
	if s.p.cfg.MoveTo == "" {
		return nil
	}
	return s.move(set)
}

// markTooLarge flags uids TooLargeFlag so that they are never fetched
// again. Without keyword support they only stay behind the checkpoint.
func (s *session) markTooLarge(uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	if !s.keywords {
		s.log.Error("server keeps no keywords: too-large messages cannot be marked",
			slog.Any("uids", uids))
		return nil
	}
	return wrap("flag too-large messages", KindServer, s.addFlags(imap.UIDSetNum(uids...), TooLargeFlag))
}

func (s *session) addFlags(set imap.UIDSet, flags ...imap.Flag) error {
	return s.do(func() error {
		return s.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close()
	})
}

// moveFlagged moves messages that carry the flag but are still in the
// folder (a move cut short) to MoveTo.
func (s *session) moveFlagged() error {
	var data *imap.SearchData
	err := s.do(func() (err error) {
		// \Deleted ones were copied already (the fallback without UIDPLUS).
		data, err = s.c.UIDSearch(&imap.SearchCriteria{
			Flag:    []imap.Flag{imap.Flag(s.p.cfg.Flag)},
			NotFlag: []imap.Flag{imap.FlagDeleted},
		}, nil).Wait()
		return err
	})
	if err != nil {
		return wrap("search flagged", KindServer, err)
	}
	uids := data.AllUIDs()
	if len(uids) == 0 {
		return nil
	}
	s.log.Info("moving taken messages left in the folder", slog.Int("count", len(uids)))
	return s.move(imap.UIDSetNum(uids...))
}

// move moves set to MoveTo: UID MOVE (RFC 6851) where offered, else UID
// COPY, STORE \Deleted and UID EXPUNGE (RFC 4315). Without UIDPLUS the
// originals stay marked \Deleted: a bare EXPUNGE would also remove mail
// that others marked \Deleted and that is not ours to remove.
func (s *session) move(set imap.UIDSet) error {
	dest := s.p.cfg.MoveTo
	retried := false
	for {
		err := s.moveOnce(set, dest)
		var ie *imap.Error
		if err != nil && !retried && errors.As(err, &ie) && ie.Code == imap.ResponseCodeTryCreate {
			retried = true
			if err := s.ensureFolderGuarded(dest); err != nil {
				return err
			}
			continue
		}
		return wrap("move to "+dest, KindServer, err)
	}
}

func (s *session) moveOnce(set imap.UIDSet, dest string) error {
	if s.caps.Has(imap.CapMove) {
		return s.do(func() error {
			_, err := s.c.Move(set, dest).Wait()
			return err
		})
	}
	if err := s.do(func() error {
		_, err := s.c.Copy(set, dest).Wait()
		return err
	}); err != nil {
		return err
	}
	if err := s.addFlags(set, imap.FlagDeleted); err != nil {
		return err
	}
	if !s.caps.Has(imap.CapUIDPlus) {
		if !s.warnedExpunge {
			s.warnedExpunge = true
			s.log.Warn("server has neither MOVE nor UIDPLUS: moved messages stay in the folder marked \\Deleted until it is expunged")
		}
		return nil
	}
	return s.do(func() error { return s.c.UIDExpunge(set).Close() })
}

func (s *session) ensureFolderGuarded(name string) error {
	return s.do(func() error { return s.ensureFolder(name) })
}
