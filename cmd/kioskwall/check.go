package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"kioskwall/rfb"
	"kioskwall/wall"
)

// runCheck tells an operator what a kiosk's VNC server offers and what a frame
// costs in each encoding: the first tool when a kiosk will not show.
func runCheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	pwFile := fs.String("password-file", "", "file holding the VNC password (plain text or vncpasswd format)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	noCosts := fs.Bool("no-costs", false, "skip the full-frame measurements (each costs a full screen per encoding on the kiosk's line)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kioskwall check [-password-file F] [-no-costs] HOST:PORT")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("need HOST:PORT")
	}
	pw, err := readPasswordFile(*pwFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return check(ctx, os.Stdout, fs.Arg(0), pw, !*noCosts)
}

// costEncodings are measured one by one; a quality level makes Tight use
// JPEG, which rfbproto allows at 16 and 32 bpp only.
var costEncodings = []struct {
	label string
	encs  []rfb.Encoding
	jpeg  bool
}{
	{"raw", []rfb.Encoding{rfb.EncRaw}, false},
	{"rre", []rfb.Encoding{rfb.EncRRE}, false},
	{"corre", []rfb.Encoding{rfb.EncCoRRE}, false},
	{"hextile", []rfb.Encoding{rfb.EncHextile}, false},
	{"zlib", []rfb.Encoding{rfb.EncZlib}, false},
	{"zrle", []rfb.Encoding{rfb.EncZRLE}, false},
	{"tight", []rfb.Encoding{rfb.EncTight}, false},
	{"tight+jpeg q8", []rfb.Encoding{rfb.EncTight, rfb.EncQualityLevel0 + 8}, true},
	{"tight+jpeg q2", []rfb.Encoding{rfb.EncTight, rfb.EncQualityLevel0 + 2}, true},
}

// check connects to addr and reports; with costs it measures what a full
// frame costs in the encoding policy's candidates and in each encoding.
func check(ctx context.Context, out io.Writer, addr, password string, costs bool) error {
	fmt.Fprintf(out, "kiosk       %s\n", addr)
	fb := rfb.NewDesktop(1, 1, rfb.Format32)
	start := time.Now()
	c, err := rfb.Dial(ctx, addr, rfb.ClientConfig{Password: password, Framebuffer: fb, Encodings: []rfb.Encoding{rfb.EncRaw}})
	if err != nil {
		fmt.Fprintf(out, "connect     FAILED after %v\n", time.Since(start).Round(time.Millisecond))
		return explain(err)
	}
	defer c.Close()
	fmt.Fprintf(out, "protocol    RFB %s\n", c.Version())
	fmt.Fprintf(out, "security    offered %v, used %v\n", c.SecurityTypes(), c.SecurityType())
	fmt.Fprintf(out, "auth        ok (handshake %v)\n", time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(out, "desktop     %dx%d %q\n", c.Width(), c.Height(), c.Name())
	fmt.Fprintf(out, "native      %s\n", c.ServerPixelFormat())

	rtts, err := measureRTT(c, 3)
	if err != nil {
		return explain(fmt.Errorf("measuring round trip: %w", err))
	}
	slices.Sort(rtts)
	fmt.Fprintf(out, "round trip  %v (min of %d; max %v)\n", rtts[0].Round(time.Microsecond), len(rtts), rtts[len(rtts)-1].Round(time.Microsecond))
	if costs {
		if err := checkEncodings(out, c); err != nil {
			return err
		}
		// Last: measuring the candidates ends with the connection closed.
		if err := checkCandidates(ctx, out, c, fb); err != nil {
			return explain(err)
		}
	}
	fmt.Fprintf(out, "\ntotal       %d bytes in, %d bytes out\n", c.BytesIn(), c.BytesOut())
	return nil
}

// checkEncodings measures a full frame in each encoding at 32 and 8 bpp:
// what the server supports, and what each costs.
func checkEncodings(out io.Writer, c *rfb.Client) error {
	full := image.Rect(0, 0, c.Width(), c.Height())
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "\nfull frame\tasked\tbpp\tserver used\tbytes\tbytes/pixel\ttime")
	for _, bpp := range []int{32, 8} {
		pf, _ := formatForBPP(bpp)
		if err := c.SetPixelFormat(*pf); err != nil {
			return err
		}
		for _, ce := range costEncodings {
			if bpp == 8 && ce.jpeg {
				continue
			}
			t0 := time.Now()
			used, n, err := fullFrame(c, full, ce.encs)
			if err != nil {
				return explain(fmt.Errorf("full frame in %s at %d bpp: %w", ce.label, bpp, err))
			}
			fmt.Fprintf(tw, "\t%s\t%d\t%s\t%d\t%.3f\t%v\n", ce.label, bpp, used, n,
				float64(n)/float64(full.Dx()*full.Dy()), time.Since(t0).Round(time.Millisecond))
		}
	}
	return nil
}

// checkCandidates measures the encoding policy's candidates on c and says
// which one the policy would pick for this kiosk's kind.
func checkCandidates(ctx context.Context, out io.Writer, c *rfb.Client, fb *rfb.Desktop) error {
	costs, err := wall.MeasureEncodings(ctx, c, fb, wall.EncodingCandidates)
	if err != nil {
		return fmt.Errorf("measuring the thumbnail encodings: %w", err)
	}
	w, h := c.Width(), c.Height()
	fmt.Fprintf(out, "\nthumbnails  one full %dx%d frame per candidate; PSNR of its thumbnail against %s\n", w, h, costs[0].Name)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tcandidate\tserver used\tbytes\tat 1920x1080\tPSNR\tdecode CPU")
	for _, cost := range costs {
		psnr := fmt.Sprintf("%.1f dB", float64(cost.PSNR))
		if math.IsInf(float64(cost.PSNR), 1) {
			psnr = "identical"
		}
		decode := "-"
		if cost.DecodeCPU > 0 {
			decode = cost.DecodeCPU.Round(100 * time.Microsecond).String()
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%d\t%.1f KB\t%s\t%s\n", cost.Name, cost.Used, cost.Bytes,
			float64(cost.Bytes)*1920*1080/float64(w*h)/1000, psnr, decode)
	}
	tw.Flush()
	fmt.Fprintf(out, "policy      picks %s: the fewest bytes with a thumbnail PSNR of at least %.0f dB\n",
		wall.Decide(costs, wall.DefaultMinPSNR), wall.DefaultMinPSNR)
	return nil
}

// measureRTT times 1x1 non-incremental requests: the server answers at once,
// so the time is the round trip plus the server's turnaround.
func measureRTT(c *rfb.Client, n int) ([]time.Duration, error) {
	var rtts []time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := c.Request(false, image.Rect(0, 0, 1, 1)); err != nil {
			return nil, err
		}
		if err := nextUpdate(c); err != nil {
			return nil, err
		}
		rtts = append(rtts, time.Since(t0))
	}
	return rtts, nil
}

// nextUpdate reads messages until a FramebufferUpdate has been decoded.
func nextUpdate(c *rfb.Client) error {
	for {
		msg, err := c.Next()
		if err != nil {
			return err
		}
		if _, ok := msg.(*rfb.Update); ok {
			return nil
		}
	}
}

// fullFrame asks for the whole screen in encs and returns which encodings the
// server used and the bytes it cost.
func fullFrame(c *rfb.Client, full image.Rectangle, encs []rfb.Encoding) (used string, bytes int64, err error) {
	if err := c.SetEncodings(encs); err != nil {
		return "", 0, err
	}
	if err := c.Request(false, full); err != nil {
		return "", 0, err
	}
	counts := map[rfb.Encoding]int{}
	cov := newCoverage(full)
	for !cov.complete() {
		msg, err := c.Next()
		if err != nil {
			return "", 0, err
		}
		u, ok := msg.(*rfb.Update)
		if !ok {
			continue
		}
		bytes += u.Bytes
		for e, n := range u.Encodings {
			counts[e] += n
		}
		for _, r := range u.Rects {
			cov.add(r)
		}
		if !cov.complete() {
			if err := c.Request(false, full); err != nil {
				return "", 0, err
			}
		}
	}
	return encodingSummary(counts), bytes, nil
}

func encodingSummary(counts map[rfb.Encoding]int) string {
	var keys []rfb.Encoding
	for e := range counts {
		keys = append(keys, e)
	}
	slices.Sort(keys)
	s := ""
	for i, e := range keys {
		if i > 0 {
			s += "+"
		}
		s += e.String()
	}
	if s == "" {
		s = "-"
	}
	return s
}
