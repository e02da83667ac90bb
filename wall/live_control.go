package wall

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"time"

	"kioskwall/rfb"
)

// The control policy of the live view.
//
// Every viewer starts view-only. A viewer asks for control when it connects
// (?control=1 on the WebSocket URL) or later through the control endpoint;
// a kiosk has at most one controller, and a second request is refused with
// a message naming the holder, never taking over: the operator at the
// kiosk's keyboard must not lose it mid-sentence to a colleague's click.
// Control ends when the viewer releases it or leaves. Input of a viewer
// without control is dropped here, in the server, whatever its browser
// sends: noVNC's view-only switch is a convenience, not the rule.

// viewer is one RFB client watching a kiosk live.
type viewer struct {
	id           string // chosen by the page, so it can name itself to the control endpoint
	kioskID      string
	site         string
	remoteAddr   string
	forwardedFor string // what a proxy in front says the browser is; recorded, not trusted
	userAgent    string
	since        time.Time
	session      *Session

	mu      sync.Mutex // guards control, and orders input against its end
	control *controlSession
	dropped int // input events dropped because the viewer had no control
}

// controlSession is one stretch of control, as the audit records it.
type controlSession struct {
	start       time.Time
	keys        int   // key presses
	pointer     int   // pointer events (moves and buttons)
	clicks      int   // button presses
	cutTexts    int   // clipboard pastes
	undelivered int   // events the kiosk did not get: it was offline
	buttons     uint8 // buttons held now
	x, y        int   // where the pointer is
	// held are the keys pressed and not yet released, so that ending
	// control never leaves Ctrl or Alt stuck down on the kiosk.
	held map[uint32]bool
}

// maxHeldKeys bounds held: a keyboard has about a hundred keys, and a
// client that claims more is pressing keysyms that do not exist.
const maxHeldKeys = 256

// input forwards ev to the kiosk if the viewer has control, and drops it
// otherwise. It runs on the goroutine reading the viewer's connection.
func (v *viewer) input(ev rfb.InputEvent) {
	v.mu.Lock()
	defer v.mu.Unlock()
	cs := v.control
	if cs == nil {
		v.dropped++
		return
	}
	switch ev.Kind {
	case rfb.InputKey:
		if ev.Down {
			cs.keys++
			if len(cs.held) < maxHeldKeys {
				cs.held[ev.Key] = true
			}
		} else {
			delete(cs.held, ev.Key)
		}
	case rfb.InputPointer:
		cs.pointer++
		cs.clicks += bits.OnesCount8(ev.Buttons &^ cs.buttons)
		cs.buttons, cs.x, cs.y = ev.Buttons, ev.X, ev.Y
	case rfb.InputCutText:
		cs.cutTexts++
	}
	if err := v.session.Input(ev); err != nil {
		cs.undelivered++
	}
}

// startControl gives the viewer control from now on.
func (v *viewer) startControl(now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.control = &controlSession{start: now, held: map[uint32]bool{}}
}

// endControl takes control away and releases whatever keys and buttons the
// viewer still holds on the kiosk, before any later controller's input can
// arrive. It returns the finished stretch, or nil if there was none.
func (v *viewer) endControl() *controlSession {
	v.mu.Lock()
	defer v.mu.Unlock()
	cs := v.control
	if cs == nil {
		return nil
	}
	v.control = nil
	for k := range cs.held {
		v.session.Input(rfb.InputEvent{Kind: rfb.InputKey, Down: false, Key: k})
	}
	if cs.buttons != 0 {
		v.session.Input(rfb.InputEvent{Kind: rfb.InputPointer, Buttons: 0, X: cs.x, Y: cs.y})
	}
	return cs
}

// hasControl reports whether the viewer has control now.
func (v *viewer) hasControl() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.control != nil
}

// droppedInputs is how many events were dropped for lack of control.
func (v *viewer) droppedInputs() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.dropped
}

// controlHeldError is the refusal of control while another viewer has it.
type controlHeldError struct {
	Kiosk      string
	RemoteAddr string
	UserAgent  string
	Since      time.Time
}

func (e *controlHeldError) Error() string {
	return fmt.Sprintf("kiosk %s is already controlled by %s (%s) since %s; ask them to release control, or wait until they close their page",
		e.Kiosk, e.RemoteAddr, browserName(e.UserAgent), e.Since.Format("15:04:05 MST"))
}

// errUnknownViewer is returned for a control request naming no live viewer.
var errUnknownViewer = errors.New("no live view with that viewer id is open")

// controlBoard knows every live viewer and who controls each kiosk.
type controlBoard struct {
	mu          sync.Mutex
	viewers     map[string]map[string]*viewer // kiosk -> viewer id -> viewer
	controllers map[string]controller         // kiosk -> the viewer with control
	audit       *auditLog
}

type controller struct {
	v     *viewer
	since time.Time
}

func newControlBoard(audit *auditLog) *controlBoard {
	return &controlBoard{viewers: map[string]map[string]*viewer{}, controllers: map[string]controller{}, audit: audit}
}

// join registers v; a viewer id may be open once per kiosk.
func (b *controlBoard) join(v *viewer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.viewers[v.kioskID]
	if m == nil {
		m = map[string]*viewer{}
		b.viewers[v.kioskID] = m
	}
	if _, dup := m[v.id]; dup {
		return fmt.Errorf("viewer id %q is already watching kiosk %s; each page needs its own id", v.id, v.kioskID)
	}
	m[v.id] = v
	return nil
}

// leave ends v's control, if any, and forgets v.
func (b *controlBoard) leave(v *viewer, now time.Time) {
	b.release(v, now, "viewer left")
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.viewers[v.kioskID]
	delete(m, v.id)
	if len(m) == 0 {
		delete(b.viewers, v.kioskID)
	}
}

// lookup finds a live viewer of a kiosk by id.
func (b *controlBoard) lookup(kioskID, viewerID string) (*viewer, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.viewers[kioskID][viewerID]
	return v, ok
}

// grant gives v control of its kiosk unless another viewer has it. Asking
// again while holding control changes nothing.
func (b *controlBoard) grant(v *viewer, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, live := b.viewers[v.kioskID][v.id]; !live {
		return errUnknownViewer
	}
	switch cur, held := b.controllers[v.kioskID]; {
	case cur.v == v:
		return nil
	case held:
		err := &controlHeldError{Kiosk: v.kioskID, RemoteAddr: cur.v.remoteAddr, UserAgent: cur.v.userAgent, Since: cur.since}
		b.audit.refused(v, now, err)
		return err
	}
	b.controllers[v.kioskID] = controller{v, now}
	v.startControl(now)
	b.audit.started(v, now)
	return nil
}

// release takes control from v, if it has it, and audits the stretch. The
// board stays locked while held keys are released, so no other viewer's
// input can reach the kiosk before those releases do.
func (b *controlBoard) release(v *viewer, now time.Time, why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.controllers[v.kioskID].v != v {
		return
	}
	delete(b.controllers, v.kioskID)
	if cs := v.endControl(); cs != nil {
		b.audit.ended(v, cs, now, why)
	}
}

// controllerOf returns who controls a kiosk and since when; ok is false
// when nobody does.
func (b *controlBoard) controllerOf(kioskID string) (c controller, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok = b.controllers[kioskID]
	return c, ok
}

// viewerCount is how many viewers watch a kiosk.
func (b *controlBoard) viewerCount(kioskID string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.viewers[kioskID])
}
