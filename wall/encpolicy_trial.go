package wall

import (
	"errors"
	"fmt"
	"image"
	"math"
	"time"
)

// Trial measures each candidate once on one kiosk. It is a small state
// machine, because in a session the connection is read by another goroutine:
// the session asks Next for a candidate, switches to its pixel format and
// encodings while nothing is outstanding, sends one non-incremental
// full-screen FramebufferUpdateRequest, counts the RFB bytes of the updates
// with pixels that answer it (until the screen is covered and nothing more
// came for a settle period), and Records them with the thumbnail made from
// the decoded framebuffer (the Thumbnailer's master: the largest rendition).
// TigerVNC answers a non-incremental request from a client that takes
// ExtendedDesktopSize with the screen layout alone and keeps the area as
// changed; an incremental request then brings the pixels (see
// updateReader.ask, which MeasureEncodings uses).
//
// After the last candidate Next returns the reference once more: what
// changed between the two reference thumbnails (a clock) is left out of
// every comparison. Finish then decides by the rule of Decide.
//
// A Trial is driven by one goroutine.
type Trial struct {
	policy  *EncodingPolicy // nil for MeasureEncodings' own trial
	kind    string
	started time.Time

	cands []Candidate
	steps []Candidate // cands, then the reference again
	next  int         // index of the step Next returns next
	got   []trialStep
	err   error // the first misuse, which voids the trial
	ended bool
}

type trialStep struct {
	bytes int64
	thumb *image.RGBA
}

func newTrial(cands []Candidate) *Trial {
	steps := append(append([]Candidate(nil), cands...), cands[0])
	return &Trial{cands: cands, steps: steps, got: make([]trialStep, len(steps))}
}

// Kind is the kind of kiosk the trial measures.
func (t *Trial) Kind() string { return t.kind }

// Next returns the candidate to measure next, or false when every one has
// been recorded (or the trial went wrong: Finish says why).
func (t *Trial) Next() (Candidate, bool) {
	if t.ended || t.err != nil || t.next >= len(t.steps) {
		return Candidate{}, false
	}
	if t.next > 0 && t.got[t.next-1].thumb == nil {
		t.err = fmt.Errorf("candidate %s was not recorded before the next was asked for", t.steps[t.next-1].Name)
		return Candidate{}, false
	}
	t.next++
	return t.steps[t.next-1], true
}

// Record gives the cost of the candidate Next returned last: the RFB bytes of
// its answer, and the thumbnail of the framebuffer it left. Record keeps a
// copy of thumb. A name other than that candidate's, a second Record, no
// bytes or no thumbnail void the trial.
func (t *Trial) Record(name string, bytes int64, thumb *image.RGBA) {
	if t.ended || t.err != nil {
		return
	}
	i := t.next - 1
	switch {
	case i < 0 || t.steps[i].Name != name || t.got[i].thumb != nil:
		t.err = fmt.Errorf("a cost for %q was recorded out of turn", name)
	case bytes <= 0 || thumb == nil || thumb.Rect.Empty():
		t.err = fmt.Errorf("candidate %s: no answer was measured", name)
	default:
		c := *thumb
		c.Pix = append([]byte(nil), thumb.Pix...)
		t.got[i] = trialStep{bytes: bytes, thumb: &c}
	}
}

// Abort ends the trial without a decision; the kind is tried again after the
// policy's retry period. Call it whenever a started trial cannot finish.
func (t *Trial) Abort() {
	if t.ended {
		return
	}
	t.ended = true
	if t.policy != nil {
		t.policy.end(t, nil, errors.New("the trial was aborted before it measured every candidate"))
	}
}

// Finish decides and stores the decision for the trial's kind. A trial that
// did not record every candidate, or whose screen changed too much while it
// ran, decides nothing: the error says why, and the kind is tried again
// after the retry period.
func (t *Trial) Finish(now time.Time) (KindReport, error) {
	if t.ended {
		return KindReport{}, errors.New("the encoding trial has already ended")
	}
	t.ended = true
	costs, masked, err := t.evaluate()
	if err == nil && blank(t.got[0].thumb) {
		// A black or single-colour screen looks the same in every format
		// and says nothing of the kind's screens.
		err = errors.New("the kiosk's screen was blank (one colour); tried again on another kiosk")
	}
	if err != nil {
		err = fmt.Errorf("encoding trial of kind %q: %w", t.kind, err)
		if t.policy != nil {
			t.policy.end(t, nil, err)
		}
		return KindReport{}, err
	}
	minPSNR := DefaultMinPSNR
	if t.policy != nil {
		minPSNR = t.policy.cfg.MinPSNR
	}
	r := KindReport{Kind: t.kind, Choice: Decide(costs, minPSNR), Measured: now, MinPSNR: minPSNR, Masked: masked, Candidates: costs}
	if t.policy != nil {
		if err := t.policy.end(t, &r, nil); err != nil {
			return KindReport{}, err
		}
	}
	return r, nil
}

// maxMasked is the largest share of the thumbnail that may change during a
// trial: beyond it the screen was not quiet (a page change, a carousel), and
// what is left may not stand for the screen.
const maxMasked = 0.2

// evaluate compares every candidate's thumbnail with the first reference's
// over the blocks where the two reference thumbnails agree.
func (t *Trial) evaluate() (costs []CandidateCost, masked float64, err error) {
	if t.err != nil {
		return nil, 0, t.err
	}
	for i, s := range t.got {
		if s.thumb == nil {
			return nil, 0, fmt.Errorf("finished after %d of %d measurements", i, len(t.steps))
		}
	}
	ref := t.got[0].thumb
	for i, s := range t.got {
		if s.thumb.Rect != ref.Rect {
			return nil, 0, fmt.Errorf("the screen size changed during the trial (thumbnail %v for %s, %v for the reference)",
				s.thumb.Rect.Size(), t.steps[i].Name, ref.Rect.Size())
		}
	}
	mask := changedBlocks(ref, t.got[len(t.got)-1].thumb)
	if masked = mask.fraction(); masked > maxMasked {
		return nil, masked, fmt.Errorf("the screen changed in %.0f%% of the picture while the trial ran; a trial needs a quiet moment", 100*masked)
	}
	for i, c := range t.cands {
		costs = append(costs, CandidateCost{Name: c.Name, Bytes: t.got[i].bytes, PSNR: Decibels(psnr(ref, t.got[i].thumb, mask))})
	}
	return costs, masked, nil
}

// blockSide is the side of the thumbnail blocks a trial masks: small enough
// that a clock masks little beyond itself.
const blockSide = 8

// blockMask marks the blocks of a thumbnail left out of comparisons.
type blockMask struct {
	cols, rows int
	skip       []bool
}

// changedBlocks marks the blocks where a and b (the same size) differ.
func changedBlocks(a, b *image.RGBA) blockMask {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	m := blockMask{cols: (w + blockSide - 1) / blockSide, rows: (h + blockSide - 1) / blockSide}
	m.skip = make([]bool, m.cols*m.rows)
	for y := range h {
		pa := a.Pix[y*a.Stride : y*a.Stride+4*w]
		pb := b.Pix[y*b.Stride : y*b.Stride+4*w]
		for x := range w {
			if pa[4*x] != pb[4*x] || pa[4*x+1] != pb[4*x+1] || pa[4*x+2] != pb[4*x+2] {
				m.skip[(y/blockSide)*m.cols+x/blockSide] = true
			}
		}
	}
	return m
}

func (m blockMask) fraction() float64 {
	n := 0
	for _, s := range m.skip {
		if s {
			n++
		}
	}
	return float64(n) / float64(len(m.skip))
}

// psnr is the peak signal-to-noise ratio of got against ref (the same size)
// over the red, green and blue of the pixels m leaves in: +Inf when they are
// identical there.
func psnr(ref, got *image.RGBA, m blockMask) float64 {
	w, h := ref.Rect.Dx(), ref.Rect.Dy()
	var sse float64
	n := 0
	for y := range h {
		pr := ref.Pix[y*ref.Stride : y*ref.Stride+4*w]
		pg := got.Pix[y*got.Stride : y*got.Stride+4*w]
		skip := m.skip[(y/blockSide)*m.cols : (y/blockSide+1)*m.cols]
		for x := range w {
			if skip[x/blockSide] {
				continue
			}
			for c := range 3 {
				d := float64(pr[4*x+c]) - float64(pg[4*x+c])
				sse += d * d
			}
			n += 3
		}
	}
	if sse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(n)/sse)
}

// blank reports whether a thumbnail is all one colour, give or take a level.
func blank(img *image.RGBA) bool {
	lo, hi := [3]uint8{255, 255, 255}, [3]uint8{}
	for i := 0; i+3 < len(img.Pix); i += 4 {
		for c := range 3 {
			lo[c], hi[c] = min(lo[c], img.Pix[i+c]), max(hi[c], img.Pix[i+c])
		}
	}
	for c := range 3 {
		if hi[c] > lo[c]+1 {
			return false
		}
	}
	return true
}
