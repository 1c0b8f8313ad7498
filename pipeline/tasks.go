// Package pipeline turns an accepted inbound message into registered,
// acknowledged, routed work. Each step is its own asynq task, keyed by the
// inbound id and idempotent (DESIGN.md invariant 2): normalise → classify →
// register → (ack, route). The SQL ledger, not Redis, says where each message
// is; the Sweeper re-enqueues what Redis lost (invariant 1).
package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hibiken/asynq"
)

// Task types, one per step.
const (
	TypeNormalise = "inbound:normalise"
	TypeClassify  = "inbound:classify"
	TypeRegister  = "inbound:register"
	TypeAck       = "inbound:ack"
	TypeRoute     = "inbound:route"
)

// Queues. Acknowledgements have their own queue and the highest weight, so
// a backlog elsewhere does not delay them; OCR will get a low one.
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
