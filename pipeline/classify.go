package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/store"
)

// Classifier decides intent, category, priority and queue from the source's
// defaults and the configured rules (mailbox, sender, subject/body keywords).
// Rules are tried in order; a field is set by the first matching rule that
// names it. A later release adds a learned model behind the same method.
type Classifier struct {
	rules []rule
}

type rule struct {
	config.Rule
	keywords []string // lower case
}

// NewClassifier compiles rules (validated by config.Validate).
func NewClassifier(rules []config.Rule) *Classifier {
	c := &Classifier{}
	for _, r := range rules {
		cr := rule{Rule: r}
		for _, k := range r.Keywords {
			cr.keywords = append(cr.keywords, strings.ToLower(k))
		}
		c.rules = append(c.rules, cr)
	}
	return c
}

// Classify returns the classification of m, which arrived at in.
func (c *Classifier) Classify(in *store.Inbound, m *message.Message) store.Classification {
	cl := store.Classification{
		Intent:   in.Intent,
		Priority: store.PriorityNormal,
		Queue:    in.Queue,
		Category: "general",
		Rule:     "default:" + in.Source,
	}
	if !cl.Intent.Valid() {
		cl.Intent = message.IntentCase
	}
	var set struct{ intent, category, priority, queue bool }
	var text string // lower-cased subject and body, built on first need
	for _, r := range c.rules {
		if !r.matches(in, m, &text) {
			continue
		}
		if r.Intent != "" && !set.intent {
			cl.Intent, set.intent = message.Intent(r.Intent), true
			cl.Rule = r.Name
		}
		if r.Category != "" && !set.category {
			cl.Category, set.category = r.Category, true
		}
		if r.Priority != "" && !set.priority {
			cl.Priority, set.priority = store.Priority(r.Priority), true
		}
		if r.Queue != "" && !set.queue {
			cl.Queue, set.queue = r.Queue, true
		}
		if cl.Rule == "default:"+in.Source {
			cl.Rule = r.Name
		}
	}
	if cl.Queue == "" {
		cl.Queue = string(cl.Intent) + "s"
	}
	return cl
}

func (r *rule) matches(in *store.Inbound, m *message.Message, text *string) bool {
	if r.Mailbox != "" && !strings.EqualFold(r.Mailbox, in.Source) {
		return false
	}
	if r.From != "" {
		from := strings.ToLower(m.From.Addr)
		want := strings.ToLower(r.From)
		if strings.HasPrefix(want, "@") {
			if !strings.HasSuffix(from, want) {
				return false
			}
		} else if from != want {
			return false
		}
	}
	if len(r.keywords) > 0 {
		if *text == "" {
			*text = strings.ToLower(m.Subject + "\n" + m.Text)
		}
		found := false
		for _, k := range r.keywords {
			if strings.Contains(*text, k) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// classify classifies a message normalised by an earlier version (which
// saved the two steps apart) and records automation.
func (h *Handlers) classify(ctx context.Context, j *job) error {
	in := j.in
	m, err := j.message(ctx, h.Store)
	if err != nil {
		return fmt.Errorf("pipeline: classify inbound %d: %w", in.ID, err)
	}
	if sig, ok := m.Automated(); ok {
		if err := h.Store.SetAutomated(ctx, in.ID, sig.Rule); err != nil {
			return fmt.Errorf("pipeline: classify inbound %d: %w", in.ID, err)
		}
		in.Automated = sig.Rule
	}
	cl := h.Classifier.Classify(in, m)
	if err := h.Store.SaveClassification(ctx, in.ID, cl); err != nil {
		return fmt.Errorf("pipeline: classify inbound %d: %w", in.ID, err)
	}
	j.cl = &cl
	in.Status = store.StatusClassified
	return nil
}
