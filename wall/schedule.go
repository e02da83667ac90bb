package wall

import "time"

// Schedule decides how often each kiosk is asked for a thumbnail update, so
// that the budget goes where people look. A kiosk is in one of three
// classes:
//
//   - watched and lively: some wall page shows its tile, and its screen
//     changed (beyond a ticking clock) within Lively, or it came back from a
//     failure within Alarm;
//   - watched;
//   - unwatched: asked once a minute whether its screen changes or not.
//     Nobody sees its picture until a page shows it, and then the page gets
//     the latest picture at once and the kiosk is due at once as watched; a
//     busy unwatched kiosk asked more often cost a quarter of the fleet's
//     bytes in the benchmark for pictures nobody looked at.
//
// Each class has an interval: the least time between the starts of two
// update requests. An incremental request is answered at the screen's next
// change, so a watched kiosk that stays quiet keeps its request outstanding
// and shows the next change at once; the interval bounds how often a busy
// screen is fetched. Where a line has more kiosks due than request slots,
// slots go first to watched kiosks, those whose screens are changing
// before quiet ones (see grace); an unwatched kiosk overdue by more than its
// own interval goes with them, ranked from the moment that interval ran
// out, so nobody starves and a line short of slots still asks the watched
// kiosks first.
//
// MaxAge is what a page may expect: a watched tile confirmed current (the
// kiosk answered) less than MaxAge ago. A tile older than that is overdue
// and pages mark it: the budget did not allow keeping it.
type Schedule struct {
	WatchedLively time.Duration
	Watched       time.Duration
	Unwatched     time.Duration
	Lively        time.Duration
	Alarm         time.Duration
	MaxAge        time.Duration
	// TickerRefresh is how long a change confined to a ticker area (a clock)
	// may wait before it is encoded: such a change is not news, and a
	// thousand clocks re-encoded every second would cost most of the CPU.
	TickerRefresh time.Duration
	// UnwatchedRefresh is how long a rendition no page shows may lag behind
	// the screen before it is encoded anyway, for the API and for a restart.
	UnwatchedRefresh time.Duration
	// PublishEvery is the least time between two pictures of a tile: a
	// screen that changes all the time (typing, an animation) is encoded
	// once in that time, its last change included, instead of at every
	// update. JPEG encoding is most of the wall's CPU.
	PublishEvery time.Duration
}

// DefaultSchedule keeps watched tiles within a second of the screen on a
// line with room for it, and asks unwatched kiosks once a minute: bytes go
// where people look.
var DefaultSchedule = Schedule{
	WatchedLively:    500 * time.Millisecond,
	Watched:          time.Second,
	Unwatched:        time.Minute,
	Lively:           30 * time.Second,
	Alarm:            2 * time.Minute,
	MaxAge:           5 * time.Second,
	TickerRefresh:    10 * time.Second,
	UnwatchedRefresh: time.Minute,
	PublishEvery:     time.Second,
}

// withDefaults fills the zero fields of s from DefaultSchedule.
func (s Schedule) withDefaults() Schedule {
	d := DefaultSchedule
	for _, f := range []struct{ v, def *time.Duration }{
		{&s.WatchedLively, &d.WatchedLively}, {&s.Watched, &d.Watched},
		{&s.Unwatched, &d.Unwatched},
		{&s.Lively, &d.Lively}, {&s.Alarm, &d.Alarm}, {&s.MaxAge, &d.MaxAge},
		{&s.TickerRefresh, &d.TickerRefresh}, {&s.UnwatchedRefresh, &d.UnwatchedRefresh},
		{&s.PublishEvery, &d.PublishEvery},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return s
}

// grace is how long a due request of a kiosk of the class may wait behind
// others for a request slot (see SlotClaim): none for a watched kiosk whose
// screen is changing, half of MaxAge for a quiet watched one, whose request
// only catches a first change and confirms the tile, and the class interval
// for an unwatched one. On a line short of slots the changing screens are
// asked first, and nobody waits for ever.
func (s Schedule) grace(watched, lively bool) time.Duration {
	switch {
	case watched && lively:
		return 0
	case watched:
		return s.MaxAge / 2
	}
	return s.Unwatched
}

// interval is the class interval of a kiosk.
func (s Schedule) interval(watched, lively bool) time.Duration {
	switch {
	case watched && lively:
		return s.WatchedLively
	case watched:
		return s.Watched
	}
	return s.Unwatched
}
