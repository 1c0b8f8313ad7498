// Package pipeline turns an accepted inbound message into registered,
// acknowledged, routed work: normalise → classify → register → acknowledge
// → route. One asynq task (TypeProcess) takes a message through every step,
// committing each to the SQL ledger, so a re-run resumes where it stopped
// (DESIGN.md invariant 2); the acknowledgement, the one external side
// effect, falls back to its own task (TypeAck) with its own retries when
// it cannot be sent at once. Tasks are keyed by the inbound id. The
// ledger, not Redis, says where each message is; the Sweeper re-enqueues
// what Redis lost (invariant 1).
package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hibiken/asynq"
)

// Task types.
const (
	// TypeProcess takes an accepted message through every step.
	TypeProcess = "inbound:process"
	// TypeAck sends an acknowledgement that could not be sent inline.
	TypeAck = "inbound:ack"
)

// Queues. Acknowledgement retries have their own queue and the highest
// weight, so a backlog of new mail does not delay them; OCR will get a low
// one.
const (
	QueueAck     = "ack"
	QueueDefault = "default"
)

// queueOf maps a task type to its asynq queue.
func queueOf(typ string) string {
	if typ == TypeAck {
		return QueueAck
	}
	return QueueDefault
}

// payload is the body of every pipeline task.
type payload struct {
	InboundID int64 `json:"inbound_id"`
}

// NewTask returns the task of type typ for inbound id. Its TaskID is
// "<type>:<id>", so the same step of the same message is never queued twice
// at once.
func NewTask(typ string, inboundID int64) *asynq.Task {
	b, _ := json.Marshal(payload{InboundID: inboundID}) // cannot fail
	return asynq.NewTask(typ, b)
}

// TaskID is the asynq task id of step typ for inbound id.
func TaskID(typ string, inboundID int64) string {
	return typ + ":" + strconv.FormatInt(inboundID, 10)
}

func inboundID(t *asynq.Task) (int64, error) {
	var p payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.InboundID <= 0 {
		return 0, fmt.Errorf("pipeline: bad %s payload %q: %w", t.Type(), t.Payload(), asynq.SkipRetry)
	}
	return p.InboundID, nil
}
