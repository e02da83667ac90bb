package wall

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func decodeStatus(t *testing.T, raw []byte) statusMsgIn {
	t.Helper()
	var m statusMsgIn
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("status message is not JSON: %v: %s", err, raw)
	}
	if m.Type != "status" {
		t.Fatalf("type %q; want status", m.Type)
	}
	return m
}

// statusMsgIn is a status message as a page reads it.
type statusMsgIn struct {
	Type    string
	Full    bool
	Kiosks  []map[string]any
	Removed []string
}

func (m statusMsgIn) ids() string {
	s := ""
	for _, k := range m.Kiosks {
		s += fmt.Sprint(k["id"], ":", k["state"], " ")
	}
	return s
}

func TestStatusBookDeltas(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	k := func(id string, state State, lastUpdate time.Duration) kioskStatus {
		ks := kioskStatus{ID: id, Name: "Kiosk " + id, Site: "west", State: state, Since: t0}
		if lastUpdate >= 0 {
			ks.LastUpdate = jsonTime{t0.Add(lastUpdate)}
		}
		return ks
	}
	steps := []struct {
		name    string
		snap    []kioskStatus
		changed bool
		ids     string // changed kiosks in the delta
		removed []string
	}{
		{"first snapshot", []kioskStatus{k("A", StateConnecting, -1), k("B", StateConnecting, -1)}, true, "A:connecting B:connecting ", nil},
		{"nothing new", []kioskStatus{k("A", StateConnecting, -1), k("B", StateConnecting, -1)}, false, "", nil},
		{"A online with a picture", []kioskStatus{k("A", StateOnline, 0), k("B", StateConnecting, -1)}, true, "A:online ", nil},
		{"A's picture 10 s newer: not worth a message", []kioskStatus{k("A", StateOnline, 10*time.Second), k("B", StateConnecting, -1)}, false, "", nil},
		{"A's picture 29 s newer than told", []kioskStatus{k("A", StateOnline, 29*time.Second), k("B", StateConnecting, -1)}, false, "", nil},
		{"A's picture 31 s newer than told", []kioskStatus{k("A", StateOnline, 31*time.Second), k("B", StateConnecting, -1)}, true, "A:online ", nil},
		{"B offline, C new", []kioskStatus{k("A", StateOnline, 31*time.Second), k("B", StateOffline, -1), k("C", StateConnecting, -1)}, true, "B:offline C:connecting ", nil},
		{"A removed", []kioskStatus{k("B", StateOffline, -1), k("C", StateConnecting, -1)}, true, "", []string{"A"}},
	}
	b := newStatusBook(func() time.Time { return t0 }, quietLog())
	var v uint64
	for _, st := range steps {
		if got := b.update(st.snap); got != st.changed {
			t.Fatalf("%s: update = %v; want %v", st.name, got, st.changed)
		}
		msgs, at := b.since(v)
		if !st.changed {
			if len(msgs) != 0 {
				t.Errorf("%s: %d messages for a page that is up to date", st.name, len(msgs))
			}
			continue
		}
		if len(msgs) != 1 {
			t.Fatalf("%s: %d messages; want 1", st.name, len(msgs))
		}
		m := decodeStatus(t, msgs[0])
		if v == 0 {
			if !m.Full {
				t.Errorf("%s: a new page got a delta", st.name)
			}
		} else if m.Full || m.ids() != st.ids || fmt.Sprint(m.Removed) != fmt.Sprint(st.removed) {
			t.Errorf("%s: full=%v changed %q removed %v; want changed %q removed %v", st.name, m.Full, m.ids(), m.Removed, st.ids, st.removed)
		}
		v = at
	}
	full := decodeStatus(t, mustOne(t, b, 0))
	if !full.Full || full.ids() != "B:offline C:connecting " {
		t.Errorf("full list %q; want B and C", full.ids())
	}
}

func mustOne(t *testing.T, b *statusBook, v uint64) []byte {
	t.Helper()
	msgs, _ := b.since(v)
	if len(msgs) != 1 {
		t.Fatalf("%d messages; want 1", len(msgs))
	}
	return msgs[0]
}

func TestStatusBookPageFarBehindGetsFullList(t *testing.T) {
	b := newStatusBook(time.Now, quietLog())
	b.update(nil)
	_, start := b.since(0)
	for i := range statusRing + 1 {
		b.update([]kioskStatus{{ID: "A", State: StateOnline, Message: fmt.Sprint(i)}})
	}
	msgs, at := b.since(start)
	if len(msgs) != 1 || !decodeStatus(t, msgs[0]).Full {
		t.Fatalf("a page %d changes behind got %d messages; want one full list", statusRing+1, len(msgs))
	}
	if m := decodeStatus(t, msgs[0]); len(m.Kiosks) != 1 || m.Kiosks[0]["message"] != fmt.Sprint(statusRing) {
		t.Errorf("full list %v; want A with the latest message", m.Kiosks)
	}
	// One change later, a page exactly statusRing behind still gets deltas.
	for range statusRing {
		b.update([]kioskStatus{{ID: "A", State: StateOnline, Message: fmt.Sprint(time.Now().UnixNano())}})
	}
	msgs, _ = b.since(at)
	if len(msgs) != statusRing {
		t.Fatalf("a page %d changes behind got %d messages; want the %d deltas", statusRing, len(msgs), statusRing)
	}
	for _, raw := range msgs {
		if decodeStatus(t, raw).Full {
			t.Fatalf("got a full list among the deltas")
		}
	}
	if msgs, _ := b.since(at + 1000); len(msgs) != 1 || !decodeStatus(t, msgs[0]).Full {
		t.Errorf("a page claiming a version from the future gets %d messages; want a full list", len(msgs))
	}
	// The empty fleet's full list says [] rather than null.
	e := newStatusBook(time.Now, quietLog())
	e.update(nil)
	if raw := mustOne(t, e, 0); !json.Valid(raw) || decodeStatus(t, raw).Kiosks == nil {
		t.Errorf("empty full list: %s; want kiosks: []", raw)
	}
}

// TestPushWorthy: an overdue flip is news for pages; a moving confirmed
// alone is not, except on an overdue kiosk, whose page shows its age.
func TestPushWorthy(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	base := kioskStatus{ID: "A", Name: "Kiosk A", Site: "west", State: StateOnline, Since: t0,
		LastUpdate: jsonTime{t0}, Confirmed: jsonTime{t0}}
	with := func(f func(*kioskStatus)) kioskStatus {
		s := base
		f(&s)
		return s
	}
	tests := []struct {
		name     string
		old, new kioskStatus
		want     bool
	}{
		{"nothing changed", base, base, false},
		{"confirmed moved", base, with(func(s *kioskStatus) { s.Confirmed = jsonTime{t0.Add(time.Minute)} }), false},
		{"first confirmation", with(func(s *kioskStatus) { s.Confirmed = jsonTime{} }), base, false},
		{"turned overdue", base, with(func(s *kioskStatus) { s.Overdue = true }), true},
		{"no longer overdue", with(func(s *kioskStatus) { s.Overdue = true }),
			with(func(s *kioskStatus) { s.Confirmed = jsonTime{t0.Add(8 * time.Second)} }), true},
		{"overdue, confirmed moved", with(func(s *kioskStatus) { s.Overdue = true }),
			with(func(s *kioskStatus) { s.Overdue, s.Confirmed = true, jsonTime{t0.Add(8 * time.Second)} }), true},
		{"overdue, nothing moved", with(func(s *kioskStatus) { s.Overdue = true }), with(func(s *kioskStatus) { s.Overdue = true }), false},
		{"picture 10 s newer", base, with(func(s *kioskStatus) { s.LastUpdate = jsonTime{t0.Add(10 * time.Second)} }), false},
		{"picture 30 s newer", base, with(func(s *kioskStatus) { s.LastUpdate = jsonTime{t0.Add(lastUpdateStep)} }), true},
		{"state changed", base, with(func(s *kioskStatus) { s.State = StateOffline }), true},
	}
	for _, tt := range tests {
		if got := pushWorthy(tt.old, tt.new); got != tt.want {
			t.Errorf("%s: pushWorthy = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// TestStatusBookOverdue follows one kiosk through the book: the confirmed
// time pages hear is the one of the last message sent, and the message that
// says the kiosk is overdue carries the time it was last confirmed.
func TestStatusBookOverdue(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	k := func(confirmed time.Duration, overdue bool) []kioskStatus {
		return []kioskStatus{{ID: "A", Name: "Kiosk A", Site: "west", State: StateOnline, Since: t0,
			LastUpdate: jsonTime{t0}, Confirmed: jsonTime{t0.Add(confirmed)}, Overdue: overdue}}
	}
	b := newStatusBook(func() time.Time { return t0 }, quietLog())
	b.update(k(0, false))
	_, v := b.since(0)
	if b.update(k(2*time.Second, false)) {
		t.Fatal("a new confirmed time alone made a message")
	}
	if !b.update(k(2*time.Second, true)) {
		t.Fatal("turning overdue made no message")
	}
	msgs, v := b.since(v)
	if len(msgs) != 1 {
		t.Fatalf("%d messages; want 1", len(msgs))
	}
	a := decodeStatus(t, msgs[0]).Kiosks[0]
	if a["overdue"] != true || a["confirmed"] != t0.Add(2*time.Second).Format(time.RFC3339) {
		t.Errorf("overdue message: %v; want overdue, confirmed 10:00:02", a)
	}
	if !b.update(k(9*time.Second, false)) {
		t.Fatal("no longer overdue made no message")
	}
	msgs, _ = b.since(v)
	if a := decodeStatus(t, msgs[0]).Kiosks[0]; a["overdue"] != false || a["confirmed"] != t0.Add(9*time.Second).Format(time.RFC3339) {
		t.Errorf("message after the kiosk caught up: %v; want not overdue, confirmed 10:00:09", a)
	}
	// A kiosk never confirmed says null, as last_update does.
	fresh := newStatusBook(time.Now, quietLog())
	fresh.update([]kioskStatus{{ID: "B", State: StateConnecting}})
	if b := decodeStatus(t, mustOne(t, fresh, 0)).Kiosks[0]; b["confirmed"] != nil || b["overdue"] != false {
		t.Errorf("unconfirmed kiosk: %v; want confirmed null, not overdue", b)
	}
}
