package wall

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kioskwall/rfb"
)

func TestDecide(t *testing.T) {
	inf := Decibels(math.Inf(1))
	cases := []struct {
		name  string
		costs []CandidateCost
		want  string
	}{
		{"cheapest faithful one", []CandidateCost{{"ref", 900, inf, "", 0}, {"8bpp", 100, 26, "", 0}, {"16bpp", 300, 42, "", 0}, {"jpeg", 200, 38, "", 0}}, "jpeg"},
		{"nothing cheaper is faithful", []CandidateCost{{"ref", 900, inf, "", 0}, {"8bpp", 100, 26, "", 0}}, "ref"},
		{"exactly at the threshold", []CandidateCost{{"ref", 900, inf, "", 0}, {"16bpp", 300, 35, "", 0}}, "16bpp"},
		{"a tie goes to the earlier", []CandidateCost{{"ref", 900, inf, "", 0}, {"a", 300, 40, "", 0}, {"b", 300, 50, "", 0}}, "a"},
		{"no bytes is not measured", []CandidateCost{{"ref", 900, inf, "", 0}, {"broken", 0, inf, "", 0}}, "ref"},
		{"none qualifies", []CandidateCost{{"8bpp", 100, 26, "", 0}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Decide(c.costs, 35); got != c.want {
				t.Errorf("Decide = %q, want %q", got, c.want)
			}
		})
	}
}

func TestDecibelsJSON(t *testing.T) {
	for _, c := range []struct {
		d    Decibels
		json string
	}{{Decibels(math.Inf(1)), "null"}, {26.304, "26.304"}, {0, "0"}} {
		b, err := json.Marshal(c.d)
		if err != nil || string(b) != c.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", c.d, b, err, c.json)
		}
		var back Decibels
		if err := json.Unmarshal(b, &back); err != nil || math.Abs(float64(back-c.d)) > 0.01 && !math.IsInf(float64(back), 1) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, back, err, c.d)
		}
	}
	if _, err := json.Marshal(Decibels(math.NaN())); err == nil {
		t.Error("NaN was written")
	}
	var d Decibels
	if err := json.Unmarshal([]byte(`"loud"`), &d); err == nil {
		t.Error("a string was read as a PSNR")
	}
}

func TestCandidates(t *testing.T) {
	if err := validateCandidates(EncodingCandidates); err != nil {
		t.Fatal(err)
	}
	p := newTestPolicy(t, PolicyConfig{})
	if got := p.Thumbnail("never-measured"); !reflect.DeepEqual(got.Profile, ThumbnailProfile) {
		t.Errorf("an unmeasured kind uses %s, want ThumbnailProfile", got.Name)
	}
	for _, c := range EncodingCandidates {
		if c.Profile.Encodings[0] != rfb.EncCopyRect {
			t.Errorf("%s: CopyRect is not first", c.Name)
		}
		if !strings.HasPrefix(c.Name, fmt.Sprintf("%dbpp-", c.Profile.Format.BitsPerPixel)) {
			t.Errorf("%s asks for %d bpp", c.Name, c.Profile.Format.BitsPerPixel)
		}
		if want := strings.Contains(c.Name, "tight"); (c.Profile.Encodings[1] == rfb.EncTight) != want {
			t.Errorf("%s prefers %v", c.Name, c.Profile.Encodings[1])
		}
	}
}

func TestPolicyConfigValidation(t *testing.T) {
	ref := EncodingCandidates[0]
	lossyRef := candidate("ref", rfb.Format32, rfb.EncTight, rfb.EncQualityLevel0+5)
	cases := []struct {
		name string
		cfg  PolicyConfig
		want string
	}{
		{"reference alone", PolicyConfig{Candidates: []Candidate{ref}, Default: ref.Name}, "need a reference and at least one more"},
		{"a name twice", PolicyConfig{Candidates: []Candidate{ref, ref}, Default: ref.Name}, "used twice"},
		{"a lossy reference", PolicyConfig{Candidates: []Candidate{lossyRef, ref}, Default: "ref"}, "without a JPEG quality level"},
		{"an 8 bpp reference", PolicyConfig{Candidates: EncodingCandidates[1:]}, "must be 32 bpp"},
		{"an unknown default", PolicyConfig{Default: "24bpp-magic"}, "not among the candidates"},
		{"a negative period", PolicyConfig{Retry: -time.Second}, "must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewEncodingPolicy(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

func newTestPolicy(t *testing.T, cfg PolicyConfig) *EncodingPolicy {
	t.Helper()
	p, err := NewEncodingPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// screen is a 64x36 test thumbnail: a light background, a dark band of
// "text", and the digit area of a clock at the top right.
func screen(clock uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 64, 36))
	for y := range 36 {
		for x := range 64 {
			c := color.RGBA{236, 242, 248, 255}
			switch {
			case y >= 16 && y < 20:
				c = color.RGBA{40, 48, 60, 255}
			case x >= 56 && y < 8:
				c = color.RGBA{clock, clock, clock, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// shifted is img with every channel moved by d: a uniform error, whose
// PSNR is 20*log10(255/|d|).
func shifted(img *image.RGBA, d int) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	for i, v := range img.Pix {
		if i%4 != 3 {
			v = uint8(min(max(int(v)+d, 0), 255))
		}
		out.Pix[i] = v
	}
	return out
}

// recordAll records thumbs (one per step: the candidates, then the closing
// reference) with bytes.
func recordAll(tr *Trial, bytes []int64, thumbs []*image.RGBA) {
	for i := 0; ; i++ {
		c, ok := tr.Next()
		if !ok {
			return
		}
		tr.Record(c.Name, bytes[i], thumbs[i])
	}
}

func runTrial(tr *Trial, bytes []int64, thumbs []*image.RGBA, now time.Time) (KindReport, error) {
	recordAll(tr, bytes, thumbs)
	return tr.Finish(now)
}

func TestTrialDecides(t *testing.T) {
	p := newTestPolicy(t, PolicyConfig{})
	t0 := time.Date(2025, 3, 1, 3, 0, 0, 0, time.UTC)
	tr, ok := p.StartTrial("tightvnc", t0)
	if !ok {
		t.Fatal("a kind never measured is not due")
	}
	var names []string
	for c, ok := tr.Next(); ok; c, ok = tr.Next() {
		names = append(names, c.Name)
		tr.Record(c.Name, 1000, screen(0))
	}
	want := []string{"32bpp-lossless", "8bpp-zrle", "8bpp-tight", "16bpp-zrle", "16bpp-tight", "32bpp-tight-jpeg-q2", "32bpp-lossless"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("steps %v, want %v", names, want)
	}
	tr.Abort() // instead of Finish: nothing is decided

	tr, _ = p.StartTrial("tightvnc", t0.Add(time.Hour))
	ref := screen(0)
	// The clock changes after the reference: the lossless 16 bpp steps see
	// it, the closing reference too; only the clock's blocks are masked.
	thumbs := []*image.RGBA{ref, shifted(ref, -12), shifted(ref, -12), screen(255), screen(255), shifted(screen(255), 2), screen(255)}
	bytes := []int64{9000, 2000, 2500, 3000, 2800, 2900, 9100}
	r, err := runTrial(tr, bytes, thumbs, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.Choice != "16bpp-tight" {
		t.Errorf("chose %s, want 16bpp-tight (the cheapest at or above 35 dB)", r.Choice)
	}
	if r.Masked <= 0 || r.Masked > 0.1 {
		t.Errorf("masked %.3f of the picture, want the clock's blocks only", r.Masked)
	}
	psnrs := map[string]float64{}
	for _, c := range r.Candidates {
		psnrs[c.Name] = float64(c.PSNR)
	}
	if !math.IsInf(psnrs["32bpp-lossless"], 1) || !math.IsInf(psnrs["16bpp-zrle"], 1) {
		t.Errorf("lossless candidates have PSNR %v and %v despite the clock; want +Inf", psnrs["32bpp-lossless"], psnrs["16bpp-zrle"])
	}
	if got, want := psnrs["8bpp-zrle"], 20*math.Log10(255.0/12); math.Abs(got-want) > 0.01 {
		t.Errorf("8bpp-zrle PSNR %.2f, want %.2f", got, want)
	}
	if got := p.Thumbnail("tightvnc").Name; got != "16bpp-tight" {
		t.Errorf("Thumbnail uses %s after the trial", got)
	}
	if got := p.Thumbnail("x11vnc").Name; got != "8bpp-zrle" {
		t.Errorf("another kind uses %s, want the default", got)
	}
	if rep := p.Report(); len(rep) != 1 || rep[0].Choice != "16bpp-tight" || len(rep[0].Candidates) != 6 || !rep[0].Measured.Equal(t0.Add(time.Hour)) {
		t.Errorf("Report = %+v", rep)
	}
	wantDue(t, p, "tightvnc", t0.Add(20*time.Hour), false)
	wantDue(t, p, "tightvnc", t0.Add(25*time.Hour), true)
}

// wantDue checks whether a trial of kind starts at the given time.
func wantDue(t *testing.T, p *EncodingPolicy, kind string, at time.Time, want bool) {
	t.Helper()
	if _, ok := p.StartTrial(kind, at); ok != want {
		t.Errorf("StartTrial(%q) at %v: %v, want %v", kind, at.Format(time.TimeOnly), ok, want)
	}
}

func TestTrialFails(t *testing.T) {
	ref := screen(0)
	ok7 := []*image.RGBA{ref, ref, ref, ref, ref, ref, ref}
	bytes := []int64{1, 1, 1, 1, 1, 1, 1}
	busy := shifted(ref, 40) // every block differs: a page change
	small := image.NewRGBA(image.Rect(0, 0, 32, 18))
	cases := []struct {
		name   string
		drive  func(tr *Trial)
		reason string
	}{
		{"the screen changed", func(tr *Trial) {
			recordAll(tr, bytes, []*image.RGBA{ref, ref, ref, ref, ref, ref, busy})
		}, "needs a quiet moment"},
		{"the screen was resized", func(tr *Trial) {
			recordAll(tr, bytes, []*image.RGBA{ref, ref, small, ref, ref, ref, ref})
		}, "size changed"},
		{"a cost recorded out of turn", func(tr *Trial) {
			tr.Next()
			tr.Record("8bpp-zrle", 1, ref)
		}, "out of turn"},
		{"a candidate without an answer", func(tr *Trial) {
			recordAll(tr, []int64{1, 0, 1, 1, 1, 1, 1}, ok7)
		}, "no answer"},
		{"a candidate skipped", func(tr *Trial) {
			tr.Next()
			tr.Next()
		}, "not recorded"},
		{"finished early", func(tr *Trial) {
			c, _ := tr.Next()
			tr.Record(c.Name, 1, ref)
		}, "after 1 of 7"},
		{"a blank screen says nothing of the kind", func(tr *Trial) {
			black := image.NewRGBA(ref.Rect)
			recordAll(tr, bytes, []*image.RGBA{black, black, black, black, black, black, black})
		}, "blank"},
	}
	t0 := time.Date(2025, 3, 1, 3, 0, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newTestPolicy(t, PolicyConfig{})
			tr, _ := p.StartTrial("k", t0)
			c.drive(tr)
			if _, err := tr.Finish(t0); err == nil || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("Finish: %v, want an error saying %q", err, c.reason)
			}
			if got := p.Thumbnail("k").Name; got != "8bpp-zrle" {
				t.Errorf("a failed trial decided %s", got)
			}
			if rep := p.Report(); len(rep) != 1 || !strings.Contains(rep[0].Error, c.reason) {
				t.Errorf("Report = %+v, want the reason", rep)
			}
			wantDue(t, p, "k", t0.Add(9*time.Minute), false)
			wantDue(t, p, "k", t0.Add(11*time.Minute), true)
		})
	}
}

func TestTrialOnePerKind(t *testing.T) {
	p := newTestPolicy(t, PolicyConfig{})
	t0 := time.Date(2025, 3, 1, 3, 0, 0, 0, time.UTC)
	first, _ := p.StartTrial("k", t0)
	wantDue(t, p, "k", t0.Add(time.Minute), false)
	wantDue(t, p, "other", t0.Add(time.Minute), true)
	// A session that died without Abort: after 5 minutes another may try.
	second, ok := p.StartTrial("k", t0.Add(6*time.Minute))
	if !ok {
		t.Fatal("an abandoned trial blocks its kind")
	}
	ref := screen(0)
	thumbs := []*image.RGBA{ref, ref, ref, ref, ref, ref, ref}
	if _, err := runTrial(first, []int64{1, 1, 1, 1, 1, 1, 1}, thumbs, t0.Add(7*time.Minute)); err == nil || !strings.Contains(err.Error(), "given up") {
		t.Errorf("the abandoned trial finished with %v, want it refused", err)
	}
	if got := p.Thumbnail("k").Name; got != "8bpp-zrle" {
		t.Errorf("the abandoned trial decided %s", got)
	}
	second.Abort()
	wantDue(t, p, "k", t0.Add(7*time.Minute), false)
}

func TestPolicyStore(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 3, 0, 0, 0, time.UTC)
	p := newTestPolicy(t, PolicyConfig{})
	tr, _ := p.StartTrial("tightvnc", t0)
	ref := screen(0)
	if _, err := runTrial(tr, []int64{9000, 2000, 2500, 3000, 2800, 2900, 9000},
		[]*image.RGBA{ref, shifted(ref, 12), shifted(ref, 12), ref, ref, shifted(ref, 2), ref}, t0); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(m) > 0 {
		t.Errorf("Save left %v behind", m)
	}

	q := newTestPolicy(t, PolicyConfig{})
	if err := q.Load(dir); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q.Report(), p.Report()) {
		t.Errorf("loaded %+v\nsaved  %+v", q.Report(), p.Report())
	}
	wantDue(t, q, "tightvnc", t0.Add(time.Hour), false)

	if err := newTestPolicy(t, PolicyConfig{}).Load(t.TempDir()); err != nil {
		t.Errorf("a data dir without the file: %v", err)
	}
	strict := newTestPolicy(t, PolicyConfig{MinPSNR: 40})
	if err := strict.Load(dir); err != nil || len(strict.Report()) != 0 {
		t.Errorf("a decision made with another threshold: %v, %+v; want it dropped quietly", err, strict.Report())
	}

	saved, err := os.ReadFile(filepath.Join(dir, encodingsFile))
	if err != nil {
		t.Fatal(err)
	}
	good := strings.TrimSpace(string(saved))
	bad := strings.Replace(good, `"choice": "16bpp-tight"`, `"choice": "3bpp"`, 1)
	twoKinds := strings.Replace(good, `"kinds": [`, `"kinds": [`+kindEntry(t, p, "x11vnc")+`,`, 1)
	broken := []struct {
		name, file, err string
		loaded          int
	}{
		{"not JSON", "{", "not an encodings file", 0},
		{"another version", `{"version": 9, "kinds": []}`, "version 9", 0},
		{"a choice it did not measure", bad, "did not measure", 0},
		{"one broken entry of two", strings.Replace(twoKinds, `"choice": "16bpp-tight"`, `"choice": ""`, 1), "lacks a choice", 1},
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, encodingsFile), []byte(b.file), 0o644); err != nil {
				t.Fatal(err)
			}
			q := newTestPolicy(t, PolicyConfig{})
			err := q.Load(d)
			if err == nil || !strings.Contains(err.Error(), b.err) {
				t.Errorf("Load: %v, want an error saying %q", err, b.err)
			}
			if n := len(q.Report()); n != b.loaded {
				t.Errorf("%d kinds loaded, want %d", n, b.loaded)
			}
		})
	}
}

// kindEntry is p's decision for tightvnc as JSON, renamed to kind.
func kindEntry(t *testing.T, p *EncodingPolicy, kind string) string {
	r := p.Report()[0]
	r.Kind = kind
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCoveredShare(t *testing.T) {
	full := image.Rect(0, 0, 100, 50)
	cases := []struct {
		name  string
		rects []image.Rectangle
		want  float64
	}{
		{"nothing", nil, 0},
		{"the whole", []image.Rectangle{full}, 1},
		{"two halves", []image.Rectangle{image.Rect(0, 0, 100, 25), image.Rect(0, 25, 100, 50)}, 1},
		{"overlapping tiles", []image.Rectangle{image.Rect(0, 0, 60, 50), image.Rect(40, 0, 100, 30), image.Rect(40, 20, 100, 50)}, 1},
		{"a quarter twice", []image.Rectangle{image.Rect(0, 0, 50, 25), image.Rect(0, 0, 50, 25)}, 0.25},
		{"partly outside", []image.Rectangle{image.Rect(50, 25, 150, 75)}, 0.25},
		{"a pixel", []image.Rectangle{image.Rect(0, 0, 1, 1)}, 1.0 / 5000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := coveredShare(c.rects, full); math.Abs(got-c.want) > 1e-12 {
				t.Errorf("coveredShare = %v, want %v", got, c.want)
			}
		})
	}
}
