package templates

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "1 minute",
		10 * time.Second:                "1 minute",
		time.Minute:                     "1 minute",
		90 * time.Second:                "2 minutes",
		30 * time.Minute:                "30 minutes",
		time.Hour:                       "1 hour",
		4 * time.Hour:                   "4 hours",
		90 * time.Minute:                "1 hour 30 minutes",
		24 * time.Hour:                  "1 day",
		48 * time.Hour:                  "2 days",
		26 * time.Hour:                  "26 hours",
		24*time.Hour + time.Minute:      "24 hours 1 minute",
		-time.Hour:                      "1 minute",
		3*time.Hour + 59*time.Minute:    "3 hours 59 minutes",
		3*time.Hour + 1*time.Nanosecond: "3 hours 1 minute",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
