package sim

import (
	"strings"
	"testing"
)

// Every whole block of Mix.Total() kiosks holds exactly the mix, so 1000
// kiosks with the default mix have exactly ten times each weight.
func TestMixCounts(t *testing.T) {
	tests := []struct {
		name   string
		mix    Mix
		kiosks int
		seed   uint64
	}{
		{"default", DefaultMix, 1000, 1},
		{"default other seed", DefaultMix, 500, 99},
		{"custom", Mix{Idle: 3, Carousel: 1}, 400, 7},
		{"one behaviour", Mix{Frozen: 1}, 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Mix
			for i := 0; i < tt.kiosks; i++ {
				got[tt.mix.deal(tt.seed, i)]++
			}
			blocks := tt.kiosks / tt.mix.Total()
			for b := range numBehaviours {
				if want := tt.mix[b] * blocks; got[b] != want {
					t.Errorf("%s: %d kiosks, want %d (counts %v)", b, got[b], want, got)
				}
			}
		})
	}
}

// Behaviours are shuffled within a block: the first kiosks are not all idle,
// and another seed deals differently.
func TestMixShuffles(t *testing.T) {
	same, idleRun := 0, 0
	for i := 0; i < 100; i++ {
		a, b := DefaultMix.deal(1, i), DefaultMix.deal(2, i)
		if a == b {
			same++
		}
		if a == Idle && idleRun == i {
			idleRun++
		}
	}
	if same == 100 {
		t.Error("seeds 1 and 2 deal the same behaviours to the first 100 kiosks")
	}
	if idleRun == 66 {
		t.Error("the first 66 kiosks are all idle: the block is not shuffled")
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix("idle=70, interactive=25,carousel=5,frozen=2")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Mix{Idle: 70, Interactive: 25, Carousel: 5, Frozen: 2}); m != want {
		t.Fatalf("got %v, want %v", m, want)
	}
	again, err := ParseMix(m.String())
	if err != nil || again != m {
		t.Fatalf("String %q does not parse back: %v, %v", m.String(), again, err)
	}
	for _, bad := range []struct{ in, says string }{
		{"idle", "name=weight"},
		{"idle=x", "whole number"},
		{"sleepy=3", "unknown behaviour"},
		{"idle=-1", "out of range"},
		{"idle=0", "add up to"},
		{"idle=10001", "out of range"},
	} {
		if _, err := ParseMix(bad.in); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("ParseMix(%q) = %v, want an error saying %q", bad.in, err, bad.says)
		}
	}
}

func TestBehaviourNames(t *testing.T) {
	for b := range numBehaviours {
		got, err := ParseBehaviour(b.String())
		if err != nil || got != b {
			t.Errorf("ParseBehaviour(%q) = %v, %v", b.String(), got, err)
		}
	}
}
