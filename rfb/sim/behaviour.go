package sim

import (
	"fmt"
	"strconv"
	"strings"
)

// Behaviour is what a synthetic kiosk does all day. The first three are
// healthy kiosks; the rest are the kinds of trouble a wall must show.
type Behaviour int

const (
	Idle        Behaviour = iota // the home page; only the clock changes
	Interactive                  // patients use it: small changes every few seconds, a page change about every 30 s
	Carousel                     // information slides, a full-screen change every 5 s
	ErrorDialog                  // an application error dialog over the home page; the clock still ticks
	Black                        // display off: a black screen that never changes
	Frozen                       // hung: the screen never changes, not even the clock, and input does nothing
	Refusing                     // nothing listens: a TCP connect is refused
	HangingUp                    // accepts a connection and closes it at once
	numBehaviours
)

var behaviourNames = [numBehaviours]string{
	Idle: "idle", Interactive: "interactive", Carousel: "carousel", ErrorDialog: "error-dialog",
	Black: "black", Frozen: "frozen", Refusing: "refusing", HangingUp: "hanging-up",
}

func (b Behaviour) String() string {
	if b >= 0 && b < numBehaviours {
		return behaviourNames[b]
	}
	return fmt.Sprintf("behaviour(%d)", int(b))
}

// ParseBehaviour maps a name such as "carousel" to its Behaviour.
func ParseBehaviour(name string) (Behaviour, error) {
	for b, n := range behaviourNames {
		if n == name {
			return Behaviour(b), nil
		}
	}
	return 0, fmt.Errorf("sim: unknown behaviour %q (known: %s)", name, strings.Join(behaviourNames[:], ", "))
}

// serves reports whether a kiosk with this behaviour speaks RFB at all.
func (b Behaviour) serves() bool { return b != Refusing && b != HangingUp }

// Mix weighs the behaviours of a fleet. Kiosks are dealt behaviours from
// consecutive blocks of Total() kiosks; each block is a seeded shuffle holding
// exactly Mix[b] kiosks of behaviour b. So any whole block has the mix
// exactly, and a kiosk's behaviour depends on the seed and its index only,
// never on the fleet's size.
type Mix [numBehaviours]int

// DefaultMix: mostly idle kiosks, a quarter in use, a few carousels, and one
// of each kind of trouble in every hundred.
var DefaultMix = Mix{Idle: 66, Interactive: 24, Carousel: 5, ErrorDialog: 1, Black: 1, Frozen: 1, Refusing: 1, HangingUp: 1}

// maxMixTotal bounds a block, whose shuffle is built for every kiosk.
const maxMixTotal = 10000

// Total is the size of a block.
func (m Mix) Total() int {
	n := 0
	for _, w := range m {
		n += w
	}
	return n
}

// Validate reports a mix that cannot deal behaviours.
func (m Mix) Validate() error {
	for b, w := range m {
		if w < 0 || w > maxMixTotal {
			return fmt.Errorf("sim: mix weight %d for %s is out of range 0..%d", w, Behaviour(b), maxMixTotal)
		}
	}
	if t := m.Total(); t < 1 || t > maxMixTotal {
		return fmt.Errorf("sim: mix weights add up to %d; they must add up to 1..%d", t, maxMixTotal)
	}
	return nil
}

// String formats the mix as ParseMix reads it, leaving out zero weights.
func (m Mix) String() string {
	var parts []string
	for b, w := range m {
		if w != 0 {
			parts = append(parts, behaviourNames[b]+"="+strconv.Itoa(w))
		}
	}
	return strings.Join(parts, ",")
}

// ParseMix reads weights such as "idle=70,interactive=25,carousel=5";
// behaviours left out weigh nothing.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for _, part := range strings.Split(s, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Mix{}, fmt.Errorf("sim: mix entry %q is not name=weight (e.g. idle=70)", part)
		}
		b, err := ParseBehaviour(strings.TrimSpace(name))
		if err != nil {
			return Mix{}, err
		}
		w, err := strconv.Atoi(strings.TrimSpace(num))
		if err != nil {
			return Mix{}, fmt.Errorf("sim: mix weight %q for %s is not a whole number", num, b)
		}
		m[b] = w
	}
	return m, m.Validate()
}

// deal returns the behaviour of kiosk i.
func (m Mix) deal(seed uint64, i int) Behaviour {
	total := m.Total()
	block, slot := i/total, i%total
	p := newRand(seed, streamMix, uint64(block)).Perm(total)[slot]
	b := Behaviour(0)
	for ; b < numBehaviours-1 && p >= m[b]; b++ {
		p -= m[b]
	}
	return b
}
