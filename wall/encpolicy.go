package wall

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"kioskwall/rfb"
)

// Candidate is one way of asking a kiosk for thumbnail pixels: a pixel
// format and encodings, measured against the others in a trial.
type Candidate struct {
	Name    string
	Profile Profile
}

// candidateEncodings lists first, then every other lossless encoding as a
// fallback, so that a server without first answers in the next best one
// rather than in Raw; then the pseudo-encodings a thumbnail session needs.
// The fallback order is ThumbnailProfile's.
func candidateEncodings(first rfb.Encoding, levels ...rfb.Encoding) []rfb.Encoding {
	encs := []rfb.Encoding{rfb.EncCopyRect, first}
	for _, e := range []rfb.Encoding{rfb.EncZRLE, rfb.EncTight, rfb.EncHextile, rfb.EncZlib, rfb.EncCoRRE, rfb.EncRRE, rfb.EncRaw} {
		if e != first {
			encs = append(encs, e)
		}
	}
	encs = append(encs, levels...)
	return append(encs, rfb.EncCompressLevel0+9,
		rfb.EncCursor, rfb.EncDesktopSize, rfb.EncLastRect, rfb.EncDesktopName)
}

func candidate(name string, pf rfb.PixelFormat, first rfb.Encoding, levels ...rfb.Encoding) Candidate {
	return Candidate{Name: name, Profile: Profile{Format: pf, Encodings: candidateEncodings(first, levels...),
		Interval: ThumbnailProfile.Interval}}
}

// EncodingCandidates are what a trial measures, in this order.
//
//   - 32bpp-lossless is the reference every thumbnail is compared with:
//     ZRLE, else Tight without a quality level (lossless on every server
//     kioskwall knows), else Hextile. It is measured first and again last.
//   - 8bpp-zrle is ThumbnailProfile, the default until a kind is measured:
//     the fewest bytes before compression, but BGR233 has four levels of
//     blue and eight of red and green, which tints light grey-blue kiosk
//     backgrounds cyan.
//   - 8bpp-tight: the same pixels through Tight's zlib paths (JPEG is not
//     allowed at 8 bpp), for servers whose Tight beats their ZRLE.
//   - 16bpp-zrle and 16bpp-tight: RGB565 is within 4 levels of every colour,
//     at twice the raw bytes of 8 bpp; flat screens compress it nearly as
//     well.
//   - 32bpp-tight-jpeg-q2: Tight at JPEG quality level 2, low enough for a
//     narrow line, and still 40 dB on a 640-pixel thumbnail of a busy screen.
//     Servers send flat areas losslessly even then and JPEG only for busy
//     ones, so the cost follows the screen.
//
// JPEG at 16 bpp is left out: it adds RGB565's error to JPEG's.
var EncodingCandidates = []Candidate{
	candidate("32bpp-lossless", rfb.Format32, rfb.EncZRLE),
	{Name: "8bpp-zrle", Profile: ThumbnailProfile},
	candidate("8bpp-tight", rfb.Format8, rfb.EncTight),
	candidate("16bpp-zrle", rfb.Format16, rfb.EncZRLE),
	candidate("16bpp-tight", rfb.Format16, rfb.EncTight),
	candidate("32bpp-tight-jpeg-q2", rfb.Format32, rfb.EncTight, rfb.EncQualityLevel0+2),
}

// DefaultMinPSNR is the least PSNR, against the lossless reference, of a
// thumbnail whose candidate may be chosen. 35 dB is an RMS error of 4.5 of
// 255 levels: RGB565's rounding (at most 4) and JPEG's smoothed ringing pass,
// while BGR233's tint of a light background (10 to 40 levels in a channel,
// about 26 dB) fails; the same error spread evenly over a tile is at the edge
// of what an eye sees on a wall.
const DefaultMinPSNR = 35.0

// PolicyConfig tunes an EncodingPolicy; the zero value of each field means
// its default.
type PolicyConfig struct {
	// Candidates to measure; the first is the lossless reference. Default
	// EncodingCandidates.
	Candidates []Candidate
	// Default is the name of the candidate used for a kind not yet measured;
	// default "8bpp-zrle" (ThumbnailProfile).
	Default string
	// MinPSNR in dB; default DefaultMinPSNR.
	MinPSNR float64
	// Remeasure is how old a decision may get before the kind is measured
	// again, in case its screens changed; default 24 h.
	Remeasure time.Duration
	// Retry is how long after a trial that decided nothing (aborted, or the
	// screen changed meanwhile) the next may start; default 10 min.
	Retry time.Duration
	// Abandon is how long a trial may run before it counts as abandoned by a
	// session that died, and another may start; default 5 min.
	Abandon time.Duration
}

func (c PolicyConfig) withDefaults() (PolicyConfig, error) {
	if c.Candidates == nil {
		c.Candidates = EncodingCandidates
	}
	if c.Default == "" {
		c.Default = "8bpp-zrle"
	}
	if c.MinPSNR == 0 {
		c.MinPSNR = DefaultMinPSNR
	}
	if c.Remeasure == 0 {
		c.Remeasure = 24 * time.Hour
	}
	if c.Retry == 0 {
		c.Retry = 10 * time.Minute
	}
	if c.Abandon == 0 {
		c.Abandon = 5 * time.Minute
	}
	if err := validateCandidates(c.Candidates); err != nil {
		return c, err
	}
	if !slices.ContainsFunc(c.Candidates, func(cd Candidate) bool { return cd.Name == c.Default }) {
		return c, fmt.Errorf("encoding policy: default candidate %q is not among the candidates", c.Default)
	}
	if c.MinPSNR < 0 || math.IsNaN(c.MinPSNR) || c.Remeasure < 0 || c.Retry < 0 || c.Abandon < 0 {
		return c, errors.New("encoding policy: MinPSNR, Remeasure, Retry and Abandon must not be negative")
	}
	return c, nil
}

// validateCandidates checks what a trial relies on: at least one candidate
// beside the reference, unique names, valid formats, and a reference that is
// 32 bpp true colour without a JPEG quality level.
func validateCandidates(cands []Candidate) error {
	if len(cands) < 2 {
		return fmt.Errorf("encoding policy: %d candidates; need a reference and at least one more", len(cands))
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if c.Name == "" || seen[c.Name] {
			return fmt.Errorf("encoding policy: candidate name %q is empty or used twice", c.Name)
		}
		seen[c.Name] = true
		if err := c.Profile.Format.Validate(); err != nil {
			return fmt.Errorf("encoding policy: candidate %s: %w", c.Name, err)
		}
	}
	ref := cands[0].Profile
	lossy := slices.ContainsFunc(ref.Encodings, func(e rfb.Encoding) bool {
		return e >= rfb.EncQualityLevel0 && e <= rfb.EncQualityLevel0+9 || e >= rfb.EncFineQuality0 && e <= rfb.EncFineQuality0+100
	})
	if ref.Format.BitsPerPixel != 32 || ref.Format.Depth < 24 || !ref.Format.TrueColour || lossy {
		return fmt.Errorf("encoding policy: the reference %s must be 32 bpp true colour without a JPEG quality level", cands[0].Name)
	}
	return nil
}

// CandidateCost is what one candidate cost in a trial.
type CandidateCost struct {
	Name string `json:"name"`
	// Bytes is the RFB bytes of the answer to one non-incremental
	// full-screen request.
	Bytes int64 `json:"bytes"`
	// PSNR of its thumbnail against the reference's, over the parts of the
	// screen that did not change during the trial.
	PSNR Decibels `json:"psnr_db"`
	// Used is the encodings the server sent ("zrle", "tight+copyrect"),
	// when the driver knows them.
	Used string `json:"used,omitempty"`
	// DecodeCPU is the CPU time kioskwall spent reading and decoding the
	// answer (0 where the system cannot tell). MeasureEncodings fills it; a
	// session's trial does not.
	DecodeCPU time.Duration `json:"-"`
}

// Decibels is a PSNR. +Inf, a picture identical to the reference, is null in
// JSON, which has no infinity.
type Decibels float64

// MarshalJSON writes +Inf as null.
func (d Decibels) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(d), 1) {
		return []byte("null"), nil
	}
	if math.IsNaN(float64(d)) || math.IsInf(float64(d), -1) {
		return nil, fmt.Errorf("PSNR %v cannot be written", float64(d))
	}
	return strconv.AppendFloat(nil, float64(d), 'f', -1, 64), nil
}

// UnmarshalJSON reads null as +Inf.
func (d *Decibels) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Decibels(math.Inf(1))
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("PSNR %s is not a number", b)
	}
	*d = Decibels(f)
	return nil
}

// Decide is the policy's rule: of the candidates whose thumbnail PSNR is at
// least minPSNR, the one with the fewest bytes; the earlier one on a tie.
// The reference always qualifies (its PSNR is infinite), so only a list
// without it yields "". 8 bpp wins only on screens where its tint does not
// show; where nothing cheaper is faithful enough, 32 bpp lossless does.
func Decide(costs []CandidateCost, minPSNR float64) string {
	best := -1
	for i, c := range costs {
		if c.Bytes <= 0 || float64(c.PSNR) < minPSNR {
			continue
		}
		if best < 0 || c.Bytes < costs[best].Bytes {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return costs[best].Name
}

// KindReport is what the policy knows of one kind of kiosk, for the API.
type KindReport struct {
	Kind string `json:"kind"`
	// Choice is the candidate in use; empty until a trial decided.
	Choice string `json:"choice,omitempty"`
	// Measured is when the choice was made.
	Measured time.Time `json:"measured"`
	MinPSNR  float64   `json:"min_psnr_db"`
	// Masked is the share of the thumbnail left out of the PSNR because the
	// screen changed there during the trial (a clock).
	Masked     float64         `json:"masked_fraction"`
	Candidates []CandidateCost `json:"candidates"`
	// InUse is the candidate thumbnails of the kind use now: Choice, unless
	// the server's memory does not allow its pixel format for the whole
	// fleet (see SetMaxBytesPerPixel).
	InUse string `json:"in_use,omitempty"`
	// Error is why the latest trial decided nothing, if it did not.
	Error string `json:"error,omitempty"`
}

// EncodingPolicy chooses the thumbnail pixel format and encodings per kind of
// kiosk (VNC server family and screen design), not per kiosk: kiosks of a
// kind show alike screens, so one trial on one of them at a quiet moment
// serves them all. It is safe for concurrent use.
type EncodingPolicy struct {
	cfg PolicyConfig

	mu     sync.Mutex
	kinds  map[string]*kindPolicy
	maxBpp int // bytes a pixel the server's memory allows (SetMaxBytesPerPixel); 0: any
}

// SetMaxBytesPerPixel bounds the pixel formats in use to what the server's
// memory allows: every session holds its kiosk's screen in the thumbnail
// format, so a thousand 1920x1080 kiosks take 2 GB at 8 bpp and 4 GB at 16.
// A kind whose choice is wider uses the cheapest candidate that fits (by the
// same rule, else by bytes alone). 0 lifts the bound.
func (p *EncodingPolicy) SetMaxBytesPerPixel(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.maxBpp = n
}

// fits reports whether c's pixel format is within the memory bound; p.mu is
// held.
func (p *EncodingPolicy) fits(c Candidate) bool {
	return p.maxBpp <= 0 || c.Profile.Format.BytesPerPixel() <= p.maxBpp
}

// inUse is the candidate kind k's thumbnails use; p.mu is held.
func (p *EncodingPolicy) inUse(k *kindPolicy) Candidate {
	def, _ := p.candidate(p.cfg.Default)
	if k == nil || k.report.Choice == "" {
		return def
	}
	if c, ok := p.candidate(k.report.Choice); ok && p.fits(c) {
		return c
	}
	var fitting []CandidateCost
	for _, cost := range k.report.Candidates {
		if c, ok := p.candidate(cost.Name); ok && p.fits(c) {
			fitting = append(fitting, cost)
		}
	}
	name := Decide(fitting, p.cfg.MinPSNR)
	if name == "" {
		name = Decide(fitting, math.Inf(-1))
	}
	if c, ok := p.candidate(name); ok {
		return c
	}
	return def
}

// kindPolicy is the state of one kind.
type kindPolicy struct {
	report  KindReport // Choice is empty until decided
	running *Trial
	failed  time.Time // when the latest trial that decided nothing started
}

// NewEncodingPolicy returns a policy that has measured nothing yet.
func NewEncodingPolicy(cfg PolicyConfig) (*EncodingPolicy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &EncodingPolicy{cfg: cfg, kinds: map[string]*kindPolicy{}}, nil
}

// MinPSNR is the threshold of the policy's rule, in dB.
func (p *EncodingPolicy) MinPSNR() float64 { return p.cfg.MinPSNR }

// Candidates are what a trial measures; the first is the reference.
func (p *EncodingPolicy) Candidates() []Candidate { return slices.Clone(p.cfg.Candidates) }

// kind returns the state of kind, creating it; p.mu is held.
func (p *EncodingPolicy) kind(kind string) *kindPolicy {
	k := p.kinds[kind]
	if k == nil {
		k = &kindPolicy{report: KindReport{Kind: kind, MinPSNR: p.cfg.MinPSNR}}
		p.kinds[kind] = k
	}
	return k
}

// candidate returns the candidate named name.
func (p *EncodingPolicy) candidate(name string) (Candidate, bool) {
	i := slices.IndexFunc(p.cfg.Candidates, func(c Candidate) bool { return c.Name == name })
	if i < 0 {
		return Candidate{}, false
	}
	return p.cfg.Candidates[i], true
}

// Thumbnail returns the candidate whose profile thumbnails of kind use: the
// choice of the latest trial, or the default until one decided.
func (p *EncodingPolicy) Thumbnail(kind string) Candidate {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse(p.kinds[kind])
}

// StartTrial starts a trial for kind if one is due: the kind has no decision
// or it is older than the re-measure period, no other trial of the kind is
// running, and the latest trial that decided nothing started at least the
// retry period ago. The caller drives the trial on a kiosk of that kind at a
// quiet moment and ends it with Finish or Abort.
func (p *EncodingPolicy) StartTrial(kind string, now time.Time) (*Trial, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.kind(kind)
	switch {
	case k.running != nil && now.Sub(k.running.started) < p.cfg.Abandon:
		return nil, false
	case k.report.Choice != "" && now.Sub(k.report.Measured) < p.cfg.Remeasure:
		return nil, false
	case !k.failed.IsZero() && now.Sub(k.failed) < p.cfg.Retry:
		return nil, false
	}
	t := newTrial(p.cfg.Candidates)
	t.policy, t.kind, t.started = p, kind, now
	k.running = t
	return t, true
}

// end records how trial t ended: with a report when it decided, else with
// err. A trial that was abandoned and replaced changes nothing.
func (p *EncodingPolicy) end(t *Trial, report *KindReport, err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.kind(t.kind)
	if k.running != t {
		return fmt.Errorf("the encoding trial of kind %q ran longer than %v and was given up; its result is not used", t.kind, p.cfg.Abandon)
	}
	k.running = nil
	if report != nil {
		k.report, k.failed = *report, time.Time{}
		return nil
	}
	k.failed = t.started
	if err != nil {
		k.report.Error = err.Error()
	}
	return nil
}

// Report returns, per kind in kind order, the latest decision and what each
// candidate cost in it, or why no trial decided yet.
func (p *EncodingPolicy) Report() []KindReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]KindReport, 0, len(p.kinds))
	for _, k := range p.kinds {
		if k.report.Choice == "" && k.report.Error == "" {
			continue
		}
		r := k.report
		r.Candidates = slices.Clone(r.Candidates)
		r.InUse = p.inUse(k).Name
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b KindReport) int { return strings.Compare(a.Kind, b.Kind) })
	return out
}
