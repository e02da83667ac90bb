package sim

import (
	"image"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"kioskwall/rfb"
)

// Kiosk is one synthetic kiosk: an RFB desktop drawing a hospital
// self-service screen, with scripted activity and a record of the input it
// received. All methods are safe for concurrent use.
type Kiosk struct {
	identity
	index     int
	behaviour Behaviour
	host      string
	port      int          // where it listens (or listened, for a refusing kiosk)
	desk      *rfb.Desktop // nil for kiosks that never serve
	scr       screen
	start     time.Time // script time zero

	mu     sync.Mutex // guards v, s, inputs, buttons
	v      view
	s      script
	inputs inputLog
	// buttons is the last pointer button mask, so a click is a press edge.
	buttons uint8

	sent     atomic.Int64
	conns    atomic.Int64
	accepted atomic.Int64

	// watch learns when the kiosk's content changes leave in an update, for
	// the benchmark's freshness (see changes.go).
	watch updateWatch
}

// newKiosk builds kiosk index and draws its first screen at script time 0.
func newKiosk(index int, id identity, b Behaviour, h hospital, size image.Point, seed uint64, start time.Time) *Kiosk {
	k := &Kiosk{
		identity:  id,
		index:     index,
		behaviour: b,
		start:     start,
		scr: screen{
			l:        layout{size.X, size.Y},
			hospital: h.name + " - " + titleCase(id.site) + " Campus",
			label:    id.name + " | " + id.id,
		},
		s: script{rng: newRand(seed, streamScript, uint64(index))},
	}
	if !b.serves() {
		return k
	}
	k.desk = rfb.NewDesktop(size.X, size.Y, rfb.ColourMapped())
	k.desk.SetColourMap(0, palette())
	k.begin()
	return k
}

// ID is the kiosk's inventory code, "K0001" for the first.
func (k *Kiosk) ID() string { return k.id }

// Name is its human name, such as "Registration West 1".
func (k *Kiosk) Name() string { return k.name }

// Site is the campus it stands on, such as "west".
func (k *Kiosk) Site() string { return k.site }

// Behaviour is what it was dealt.
func (k *Kiosk) Behaviour() Behaviour { return k.behaviour }

// Addr is where it listens, "127.0.1.1:5900". A refusing kiosk has an
// address too: nothing listens there.
func (k *Kiosk) Addr() string { return net.JoinHostPort(k.host, strconv.Itoa(k.port)) }

// Desktop is the framebuffer it serves, nil for a kiosk that never serves.
// Tests read pixels from it; drawing into it confuses the script.
func (k *Kiosk) Desktop() *rfb.Desktop { return k.desk }

// BytesSent counts the bytes all its connections wrote, handshakes included.
func (k *Kiosk) BytesSent() int64 { return k.sent.Load() }

// Connections is how many RFB connections it serves now.
func (k *Kiosk) Connections() int { return int(k.conns.Load()) }

// Accepted counts every connection the kiosk ever accepted, so a test can
// prove that kioskwall held exactly one throughout.
func (k *Kiosk) Accepted() int { return int(k.accepted.Load()) }

// Buttons lists the buttons of the page it shows now, with their labels and
// where they are, so a test can click one and look for the highlight.
func (k *Kiosk) Buttons() []Button {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.desk == nil || !k.reacts() {
		return nil
	}
	var out []Button
	for _, b := range k.scr.buttons(&k.v) {
		out = append(out, Button{Label: b.label, Rect: b.r})
	}
	return out
}

// Button is a clickable button on a kiosk's screen.
type Button struct {
	Label string
	Rect  image.Rectangle
}

// Field is the text in the patient ID field and where the field is drawn.
func (k *Kiosk) Field() (text string, where image.Rectangle) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return string(k.v.field), k.scr.l.field()
}

// reacts reports whether the screen answers input; a hung or dark kiosk
// only records it.
func (k *Kiosk) reacts() bool { return k.behaviour != Frozen && k.behaviour != Black }

// drawAll repaints the whole screen.
func (k *Kiosk) drawAll() {
	k.desk.Draw(func(b *rfb.Buffer) []image.Rectangle {
		k.scr.draw(newCanvas(b), &k.v)
		k.watch.drew(b.Bounds())
		return []image.Rectangle{b.Bounds()}
	})
}

// drawPart repaints one part of the page with f, which returns the area it
// changed. While a page slides in, parts wait for the slide's end: the page
// is not where f would paint it yet.
func (k *Kiosk) drawPart(f func(c canvas) image.Rectangle) {
	if k.s.slide != never {
		k.s.stale = true
		return
	}
	k.desk.Draw(func(b *rfb.Buffer) []image.Rectangle {
		changed := f(newCanvas(b))
		// Only the clock repaints exactly the clock's area; a tick is not a
		// change of content.
		if changed != k.scr.l.clock() {
			k.watch.drew(changed)
		}
		return []image.Rectangle{changed}
	})
}

// selectButton highlights button i of the page (-1: none), repainting the
// button that loses the highlight and the one that gains it.
func (k *Kiosk) selectButton(i int) {
	old := k.v.selected
	if old == i {
		return
	}
	k.v.selected = i
	for _, j := range []int{old, i} {
		if j >= 0 {
			k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawButton(c, &k.v, j) })
		}
	}
}

// typeKey adds ch to the patient ID field, if it has room.
func (k *Kiosk) typeKey(ch byte) {
	if len(k.v.field) >= maxField {
		return
	}
	k.v.field = append(k.v.field, ch)
	k.drawPart(func(c canvas) image.Rectangle { return k.scr.drawField(c, &k.v) })
}
