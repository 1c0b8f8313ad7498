package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
	"github.com/frontdesk/frontdesk/store/blob"
)

// analyse normalises and classifies an accepted message and saves both in
// one write. Bad input (over a limit, unparseable, a damaged blob) is
// recorded and routed to a person; it is not retried.
func (h *Handlers) analyse(ctx context.Context, j *job) error {
	m, err := h.parse(ctx, j.in)
	if err != nil || m == nil {
		return err
	}
	var rule string
	if sig, ok := m.Automated(); ok {
		rule = sig.Rule
	}
	cl := h.Classifier.Classify(j.in, m)
	if err := h.Store.SaveAnalysis(ctx, j.in.ID, m, cl, rule); err != nil {
		return fmt.Errorf("pipeline: save inbound %d: %w", j.in.ID, err)
	}
	j.m, j.cl = m, &cl
	if rule != "" {
		j.in.Automated = rule
	}
	j.in.Status = store.StatusClassified
	return nil
}

// parse reads and parses the raw message of in. A nil message without an
// error means in failed for good: it is recorded and routed to a person.
func (h *Handlers) parse(ctx context.Context, in *store.Inbound) (*message.Message, error) {
	raw, err := h.Blobs.Get(ctx, in.Blob)
	if errors.Is(err, blob.ErrCorrupt) || errors.Is(err, blob.ErrNotFound) {
		// Damaged on disk (RELIABILITY F9): quarantined, never half-processed.
		reason := fmt.Sprintf("raw message damaged: %v", err)
		if errors.Is(err, blob.ErrCorrupt) {
			// Known bad: the task's cancellation must not cut this short.
			qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			qerr := h.Blobs.Quarantine(qctx, in.Blob, reason)
			cancel()
			if qerr != nil {
				h.Log.Error("quarantine damaged blob", "inbound_id", in.ID, "err", qerr)
			}
		}
		return nil, h.fail(ctx, in, reason)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: read raw of inbound %d: %w", in.ID, err)
	}
	m, err := h.Normaliser.Parse(ctx, in.Channel, raw)
	if message.IsPermanent(err) {
		return nil, h.fail(ctx, in, err.Error())
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: normalise inbound %d: %w", in.ID, err)
	}
	return m, nil
}
