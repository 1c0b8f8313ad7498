package templates

import (
	"strconv"
	"time"
)

// HumanDuration writes d the way the acknowledgement says when to expect an
// answer: "30 minutes", "4 hours", "1 hour 30 minutes", "2 days". It rounds
// up to the minute; d under a minute is "1 minute".
func HumanDuration(d time.Duration) string {
	mins := int64((d + time.Minute - 1) / time.Minute)
	if mins < 1 {
		mins = 1
	}
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	switch {
	case days > 0 && hours == 0 && m == 0:
		return plural(days, "day")
	case days > 0 && m == 0:
		return plural(days*24+hours, "hour")
	case days > 0:
		return plural(days*24+hours, "hour") + " " + plural(m, "minute")
	case hours > 0 && m == 0:
		return plural(hours, "hour")
	case hours > 0:
		return plural(hours, "hour") + " " + plural(m, "minute")
	}
	return plural(m, "minute")
}

func plural(n int64, unit string) string {
	s := strconv.FormatInt(n, 10) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}
