package sim

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"sync"
	"time"
)

// Input is one input event a kiosk received from a viewer, as the kiosk
// records it: in-process tests read them with Kiosk.Inputs, out-of-process
// tests from the event log, one JSON object a line.
type Input struct {
	Time    time.Time `json:"time"`
	Kiosk   string    `json:"kiosk"`
	Kind    string    `json:"kind"` // "key", "pointer" or "cut-text"
	Down    bool      `json:"down,omitempty"`
	Key     uint32    `json:"key,omitempty"` // an X keysym
	Buttons uint8     `json:"buttons,omitempty"`
	X       int       `json:"x,omitempty"`
	Y       int       `json:"y,omitempty"`
	Text    string    `json:"text,omitempty"`
}

// maxInputs bounds what a kiosk keeps in memory: a viewer moving the mouse
// sends dozens of events a second. The event log keeps everything.
const maxInputs = 4096

// inputLog is a kiosk's last maxInputs inputs, oldest first once full.
type inputLog struct {
	ring []Input
	next int // where the next input goes once ring is full
}

func (l *inputLog) add(in Input) {
	if len(l.ring) < maxInputs {
		l.ring = append(l.ring, in)
		return
	}
	l.ring[l.next] = in
	l.next = (l.next + 1) % maxInputs
}

func (l *inputLog) all() []Input {
	out := make([]Input, 0, len(l.ring))
	out = append(out, l.ring[l.next:]...)
	return append(out, l.ring[:l.next]...)
}

// Inputs returns the inputs the kiosk received, oldest first (at most the
// last 4096).
func (k *Kiosk) Inputs() []Input {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.inputs.all()
}

// Keysyms the patient ID field understands.
const (
	keyBackSpace = 0xff08
	keyEscape    = 0xff1b
)

// input records in and lets the screen react: a click highlights the
// button under the pointer, a printable key goes into the patient ID field.
// A modal error dialog takes clicks but no typing; slides take neither.
func (k *Kiosk) input(in Input, events *eventLog) {
	in.Kiosk = k.id
	events.write(in)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.inputs.add(in)
	if k.desk == nil || !k.reacts() {
		return
	}
	switch in.Kind {
	case "pointer":
		pressed := in.Buttons&1 != 0 && k.buttons&1 == 0
		k.buttons = in.Buttons
		if !pressed {
			return
		}
		for i, b := range k.scr.buttons(&k.v) {
			if image.Pt(in.X, in.Y).In(b.r) {
				k.selectButton(i)
				return
			}
		}
	case "key":
		if !in.Down || (k.v.page != pageHome && k.v.page != pageService) {
			return
		}
		switch {
		case in.Key >= ' ' && in.Key <= '~':
			k.typeKey(byte(in.Key))
		case in.Key == keyBackSpace && len(k.v.field) > 0:
			k.v.field = k.v.field[:len(k.v.field)-1]
			k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawField(c, &k.v) })
		case in.Key == keyEscape && len(k.v.field) > 0:
			k.v.field = k.v.field[:0]
			k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawField(c, &k.v) })
		}
	}
}

// eventLog appends every kiosk's inputs to one JSON-lines file, unbuffered,
// so a test in another process sees an event as soon as it happened. A nil
// eventLog discards.
type eventLog struct {
	mu  sync.Mutex
	f   *os.File
	enc *json.Encoder
	err error // the first write error; later events are dropped
}

func openEventLog(path string) (*eventLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sim: event log: %w", err)
	}
	return &eventLog{f: f, enc: json.NewEncoder(f)}, nil
}

func (l *eventLog) write(in Input) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.enc.Encode(in)
	}
}

// close closes the file and reports the first error writing it.
func (l *eventLog) close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.f.Close(); l.err == nil && err != nil {
		l.err = err
	}
	if l.err != nil {
		return fmt.Errorf("sim: event log %s: %w", l.f.Name(), l.err)
	}
	return nil
}
