package sim

import (
	"encoding/binary"
	"image"
	"testing"
	"time"
)

// inputChunk is the size of one event in a fuzz script: kind, down, key (4),
// buttons, x (2), y (2).
const inputChunk = 11

// encodeInputs writes events as a fuzz script.
func encodeInputs(events ...Input) []byte {
	var b []byte
	for _, in := range events {
		kind := map[string]byte{"key": 0, "pointer": 1, "cut-text": 2}[in.Kind]
		down := byte(0)
		if in.Down {
			down = 1
		}
		b = append(b, kind, down)
		b = binary.BigEndian.AppendUint32(b, in.Key)
		b = append(b, in.Buttons)
		b = binary.BigEndian.AppendUint16(b, uint16(in.X))
		b = binary.BigEndian.AppendUint16(b, uint16(in.Y))
	}
	return b
}

// FuzzKioskInput feeds arbitrary viewer input to kiosks on every kind of
// page: nothing may panic, the field stays bounded and printable, and a
// frozen kiosk never changes.
func FuzzKioskInput(f *testing.F) {
	click := func(x, y int) []Input {
		return []Input{{Kind: "pointer", Buttons: 1, X: x, Y: y}, {Kind: "pointer", X: x, Y: y}}
	}
	l := layout{320, 200}
	pay := l.homeButton(2).Min.Add(image.Pt(5, 5))
	f.Add(encodeInputs(click(pay.X, pay.Y)...))
	f.Add(encodeInputs(Input{Kind: "key", Down: true, Key: '7'}, Input{Kind: "key", Key: '7'},
		Input{Kind: "key", Down: true, Key: keyBackSpace}, Input{Kind: "key", Down: true, Key: keyEscape}))
	f.Add(encodeInputs(append(click(65535, 65535), Input{Kind: "cut-text"}, Input{Kind: "key", Down: true, Key: 0xffffffff})...))
	f.Fuzz(func(t *testing.T, script []byte) {
		h := hospital{name: "Fuzz Hospital", sites: []string{"west"}}
		id := identity{id: "K0001", name: "Registration West 1", site: "west"}
		for _, b := range []Behaviour{Idle, Interactive, Carousel, ErrorDialog, Frozen} {
			k := newKiosk(0, id, b, h, image.Pt(320, 200), 1, testStart)
			if b == Interactive {
				k.advance(25 * time.Second) // on its way to a service page
			}
			before, now := pixels(k), 25*time.Second
			for i := 0; i+inputChunk <= len(script); i += inputChunk {
				c := script[i : i+inputChunk]
				in := Input{
					Kind:    [...]string{"key", "pointer", "cut-text", "bogus"}[c[0]%4],
					Down:    c[1]&1 != 0,
					Key:     binary.BigEndian.Uint32(c[2:]),
					Buttons: c[6],
					X:       int(binary.BigEndian.Uint16(c[7:])),
					Y:       int(binary.BigEndian.Uint16(c[9:])),
				}
				k.input(in, nil)
				if i%(8*inputChunk) == 0 {
					now += time.Duration(c[1]) * 100 * time.Millisecond
					k.advance(now)
				}
			}
			text, _ := k.Field()
			if len(text) > maxField {
				t.Fatalf("%s: field holds %d characters, more than %d", b, len(text), maxField)
			}
			for _, ch := range []byte(text) {
				if ch < ' ' || ch > '~' {
					t.Fatalf("%s: field holds byte %#x", b, ch)
				}
			}
			if b == Frozen && !shows(k, before) {
				t.Fatal("a frozen kiosk changed on input")
			}
		}
	})
}
