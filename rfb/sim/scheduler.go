package sim

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// scheduler runs every kiosk's script from one place: a heap of kiosks by
// the script time they next have something to do. A fleet of a thousand
// kiosks is one goroutine and one timer, asleep between clock ticks.
//
// Script time is the time since the fleet started. In real time it follows
// the monotonic clock; in virtual time it moves only when the owner says
// (advance), so tests run a minute of kiosk life in milliseconds.
type scheduler struct {
	start   time.Time // the wall time of script time zero
	origin  time.Time // when the scheduler started, for real script time
	virtual bool
	now     atomic.Int64 // virtual script time, in nanoseconds

	mu    sync.Mutex // guards queue; held while kiosks advance
	queue wakeQueue
}

func newScheduler(start time.Time, virtual bool, kiosks []*Kiosk) *scheduler {
	s := &scheduler{start: start, origin: time.Now(), virtual: virtual}
	for _, k := range kiosks {
		if k.desk != nil {
			if t := k.s.due(); t != never {
				s.queue = append(s.queue, wake{t, k})
			}
		}
	}
	heap.Init(&s.queue)
	return s
}

// elapsed is the script time now.
func (s *scheduler) elapsed() time.Duration {
	if s.virtual {
		return time.Duration(s.now.Load())
	}
	return time.Since(s.origin)
}

// wallTime is the time input is stamped with.
func (s *scheduler) wallTime() time.Time { return s.start.Add(s.elapsed()) }

// runDue advances every kiosk with something due by now and returns when the
// next one is due (never if none is).
func (s *scheduler) runDue(now time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runDueLocked(now)
}

func (s *scheduler) runDueLocked(now time.Duration) time.Duration {
	for len(s.queue) > 0 && s.queue[0].at <= now {
		w := &s.queue[0]
		if w.at = w.k.advance(now); w.at == never {
			heap.Pop(&s.queue)
		} else {
			heap.Fix(&s.queue, 0)
		}
	}
	if len(s.queue) == 0 {
		return never
	}
	return s.queue[0].at
}

// advance moves virtual time forward by d and runs what fell due.
func (s *scheduler) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := time.Duration(s.now.Load()) + d
	s.now.Store(int64(t))
	s.runDueLocked(t)
}

// run drives the kiosks in real time until ctx ends.
func (s *scheduler) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		next := s.runDue(s.elapsed())
		if next == never {
			<-ctx.Done()
			return
		}
		timer.Reset(next - s.elapsed())
	}
}

// wake is a kiosk and when it next has something to do.
type wake struct {
	at time.Duration
	k  *Kiosk
}

// wakeQueue is a min-heap of wakes; equal times wake in kiosk order, so a
// run is the same every time.
type wakeQueue []wake

func (q wakeQueue) Len() int { return len(q) }
func (q wakeQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].k.index < q[j].k.index
}
func (q wakeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *wakeQueue) Push(x any)   { *q = append(*q, x.(wake)) }
func (q *wakeQueue) Pop() any {
	old := *q
	w := old[len(old)-1]
	*q = old[:len(old)-1]
	return w
}
