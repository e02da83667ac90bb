package sim

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"time"

	"kioskwall/rfb"
)

// never is the time of a timer that does not run.
const never = time.Duration(math.MaxInt64)

// Sliding page transitions move the old page out with CopyRect, a few frames
// apart, painting only the strip of the new page that slides in.
const (
	slideFrames   = 4
	slideInterval = 60 * time.Millisecond
)

// script is a kiosk's scripted activity in script time (time since the fleet
// started): a seeded random walk through what patients do at a kiosk. It is
// advanced by the fleet's one scheduler, never by a goroutine of its own.
type script struct {
	rng   *rand.Rand
	tick  time.Duration // next clock tick, on a whole second of the wall clock
	act   time.Duration // next step
	step  step
	left  int // repetitions left of step
	total int // repetitions step started with
	slide time.Duration
	frame int  // frames of the current slide done
	stale bool // the view changed during a slide: repaint when it ends
}

// step is what a kiosk's script does next.
type step int

const (
	stepChoose step = iota // a patient touches a service on the home page
	stepOpen               // its page opens
	stepType               // the patient types their ID, a key a step
	stepTick               // ticks options, one a step
	stepPress              // presses the action button
	stepWork               // the progress bar advances
	stepFinish             // back to the home page
	stepSlide              // carousel: the next slide
)

// between returns a random duration in [lo, hi).
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// due is when the kiosk next has something to do.
func (s *script) due() time.Duration { return min(s.slide, s.act, s.tick) }

// begin sets up the first screen of a kiosk and its timers, at script time 0.
func (k *Kiosk) begin() {
	v, s := &k.v, &k.s
	v.selected, v.progress = -1, -1
	s.tick, s.act, s.slide = k.nextTick(0), never, never
	switch k.behaviour {
	case Interactive:
		s.step, s.act = stepChoose, between(s.rng, 3*time.Second, 20*time.Second)
	case Carousel:
		v.page, v.slide = pageSlide, s.rng.IntN(len(slides))
		s.step, s.act = stepSlide, between(s.rng, time.Second, 5*time.Second)
	case ErrorDialog:
		v.page, v.dialog = pageError, s.rng.IntN(len(errorMessages))
	case Black:
		v.page, s.tick = pageBlack, never
	case Frozen:
		s.tick = never
	}
	v.clock = k.clockText(0)
	k.drawAll()
}

// advance runs everything due up to now and returns when the kiosk next
// has something to do (never if it has nothing left to do).
func (k *Kiosk) advance(now time.Duration) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		s := &k.s
		switch t := s.due(); {
		case t > now:
			return t
		case t == s.slide:
			k.slideFrame(t)
		case t == s.act:
			k.runStep(t)
		default:
			k.tickClock(now)
		}
	}
}

// The clock shows the wall time of the script, and ticks on whole seconds:
// every kiosk of a fleet changes its clock at the same instant, as real
// kiosks synchronised by NTP do.

// lastTick is the latest whole second at or before script time t.
func (k *Kiosk) lastTick(t time.Duration) time.Duration {
	return t - (t+time.Duration(k.start.Nanosecond()))%time.Second
}

func (k *Kiosk) nextTick(t time.Duration) time.Duration { return k.lastTick(t) + time.Second }

func (k *Kiosk) clockText(t time.Duration) string { return k.start.Add(t).Format("15:04:05") }

// tickClock shows the time of the latest whole second; when the scheduler
// fell behind, the seconds missed are skipped, not replayed.
func (k *Kiosk) tickClock(now time.Duration) {
	sec := k.lastTick(now)
	k.s.tick = sec + time.Second
	if text := k.clockText(sec); text != k.v.clock {
		k.v.clock = text
		k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawClock(c, &k.v) })
	}
}

// runStep performs the scripted step due at t and schedules the next.
func (k *Kiosk) runStep(t time.Duration) {
	v, s := &k.v, &k.s
	next := func(st step, lo, hi time.Duration) { s.step, s.act = st, t+between(s.rng, lo, hi) }
	switch s.step {
	case stepChoose:
		k.selectButton(s.rng.IntN(len(services)))
		v.service = v.selected
		next(stepOpen, 300*time.Millisecond, 700*time.Millisecond)
	case stepOpen:
		v.page, v.selected, v.checked, v.progress, v.status, v.field = pageService, -1, 0, -1, "", v.field[:0]
		k.transition(t)
		s.left = 6 + s.rng.IntN(5)
		next(stepType, time.Second, 2500*time.Millisecond)
	case stepType:
		k.typeKey('0' + byte(s.rng.IntN(10)))
		if s.left--; s.left > 0 {
			next(stepType, 150*time.Millisecond, 500*time.Millisecond)
			break
		}
		s.left = 1 + s.rng.IntN(3)
		next(stepTick, time.Second, 2500*time.Millisecond)
	case stepTick:
		i := s.rng.IntN(len(services[v.service].options))
		v.checked |= 1 << i
		k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawOption(c, v, i) })
		if s.left--; s.left > 0 {
			next(stepTick, time.Second, 2500*time.Millisecond)
			break
		}
		next(stepPress, time.Second, 2*time.Second)
	case stepPress:
		k.selectButton(0)
		v.progress, v.status = 0, services[v.service].working
		k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawProgress(c, v) })
		k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawStatus(c, v) })
		s.left = 5 + s.rng.IntN(6)
		s.total = s.left
		next(stepWork, 500*time.Millisecond, 1200*time.Millisecond)
	case stepWork:
		s.left--
		v.progress = 100 * (s.total - s.left) / s.total
		k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawProgress(c, v) })
		if s.left > 0 {
			next(stepWork, 500*time.Millisecond, 1200*time.Millisecond)
			break
		}
		v.status = fmt.Sprintf(services[v.service].done, 1+s.rng.IntN(999))
		k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawStatus(c, v) })
		k.selectButton(-1)
		next(stepFinish, 4*time.Second, 8*time.Second)
	case stepFinish:
		v.page, v.selected, v.field = pageHome, -1, v.field[:0]
		k.transition(t)
		next(stepChoose, 15*time.Second, 40*time.Second)
	case stepSlide:
		v.slide = (v.slide + 1) % len(slides)
		k.transition(t)
		s.act = t + 5*time.Second
	}
}

// transition shows the page the view now holds: repainted at once, or, one
// time in three, sliding in from the right over a few frames.
func (k *Kiosk) transition(t time.Duration) {
	s := &k.s
	if s.rng.IntN(3) != 0 {
		s.slide = never
		k.drawAll()
		return
	}
	s.slide, s.frame, s.stale = t+slideInterval, 0, false
}

// slideFrame moves the old page one step left with CopyRect and paints the
// strip of the new page that came in.
func (k *Kiosk) slideFrame(t time.Duration) {
	s := &k.s
	body := k.scr.l.body()
	w := body.Dx()
	s.frame++
	before, after := w*(s.frame-1)/slideFrames, w*s.frame/slideFrames
	step := after - before
	k.desk.CopyRect(image.Rect(body.Min.X, body.Min.Y, body.Max.X-step, body.Max.Y), image.Pt(body.Min.X+step, body.Min.Y))
	strip := image.Rect(body.Max.X-step, body.Min.Y, body.Max.X, body.Max.Y)
	k.desk.Draw(func(b *rfb.Buffer) []image.Rectangle {
		c := newCanvas(b)
		c.clip, c.off = strip, image.Pt(w-after, 0)
		k.scr.drawBody(c, &k.v)
		// The first frame is when the page change shows; the others
		// continue it.
		if s.frame == 1 {
			k.watch.drew(body)
		}
		return []image.Rectangle{strip}
	})
	if s.frame < slideFrames {
		s.slide = t + slideInterval
		return
	}
	s.slide = never
	if s.stale {
		k.drawAll()
	}
}
