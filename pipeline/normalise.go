package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/blob"
)

// normalise parses the raw message of an inbound row and saves the
// normalised form. Bad input (over a limit, unparseable, a damaged blob) is
// recorded and routed to a person; it is not retried.
func (h *Handlers) normalise(ctx context.Context, j *job) error {
	in := j.in
	raw, err := h.Blobs.Get(ctx, in.Blob)
	if errors.Is(err, blob.ErrCorrupt) || errors.Is(err, blob.ErrNotFound) {
		// Damaged on disk (RELIABILITY F9): quarantined, never half-processed.
		reason := fmt.Sprintf("raw message damaged: %v", err)
		if errors.Is(err, blob.ErrCorrupt) {
			if qerr := h.Blobs.Quarantine(in.Blob, reason); qerr != nil {
				h.Log.Error("quarantine damaged blob", "inbound_id", in.ID, "err", qerr)
			}
		}
		return h.fail(ctx, in, reason)
	}
	if err != nil {
		return fmt.Errorf("pipeline: read raw of inbound %d: %w", in.ID, err)
	}
	m, err := h.Normaliser.Parse(ctx, in.Channel, raw)
	if message.IsPermanent(err) {
		return h.fail(ctx, in, err.Error())
	}
	if err != nil {
		return fmt.Errorf("pipeline: normalise inbound %d: %w", in.ID, err)
	}
	if err := h.Store.SaveNormalised(ctx, in.ID, m); err != nil {
		return fmt.Errorf("pipeline: save inbound %d: %w", in.ID, err)
	}
	j.m = m
	in.Status = store.StatusNormalised
	return nil
}
