package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"kioskwall/rfb"
)

// runCheck tells an operator what a kiosk's VNC server offers and what a frame
// costs in each encoding: the first tool when a kiosk will not show.
func runCheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	pwFile := fs.String("password-file", "", "file holding the VNC password (plain text or vncpasswd format)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kioskwall check [-password-file F] HOST:PORT")
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
	return check(ctx, os.Stdout, fs.Arg(0), pw)
}

// costEncodings are measured one by one; quality 8 makes Tight use JPEG.
var costEncodings = []struct {
	label string
	encs  []rfb.Encoding
}{
	{"raw", []rfb.Encoding{rfb.EncRaw}},
	{"rre", []rfb.Encoding{rfb.EncRRE}},
	{"corre", []rfb.Encoding{rfb.EncCoRRE}},
	{"hextile", []rfb.Encoding{rfb.EncHextile}},
	{"zlib", []rfb.Encoding{rfb.EncZlib}},
	{"zrle", []rfb.Encoding{rfb.EncZRLE}},
	{"tight", []rfb.Encoding{rfb.EncTight}},
	{"tight+jpeg q8", []rfb.Encoding{rfb.EncTight, rfb.EncQualityLevel0 + 8}},
	{"tight+jpeg q2", []rfb.Encoding{rfb.EncTight, rfb.EncQualityLevel0 + 2}},
}

func check(ctx context.Context, out io.Writer, addr, password string) error {
	fmt.Fprintf(out, "kiosk       %s\n", addr)
	fb := &rfb.Buffer{}
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

	full := image.Rect(0, 0, c.Width(), c.Height())
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nfull frame\tasked\tbpp\tserver used\tbytes\tbytes/pixel\ttime")
	for _, bpp := range []int{32, 8} {
		pf, _ := formatForBPP(bpp)
		if err := c.SetPixelFormat(*pf); err != nil {
			return err
		}
		for _, ce := range costEncodings {
			t0 := time.Now()
			used, n, err := fullFrame(c, full, ce.encs)
			if err != nil {
				tw.Flush()
				return explain(fmt.Errorf("full frame in %s at %d bpp: %w", ce.label, bpp, err))
			}
			fmt.Fprintf(tw, "\t%s\t%d\t%s\t%d\t%.3f\t%v\n", ce.label, bpp, used, n,
				float64(n)/float64(full.Dx()*full.Dy()), time.Since(t0).Round(time.Millisecond))
		}
	}
	tw.Flush()
	fmt.Fprintf(out, "\ntotal       %d bytes in, %d bytes out\n", c.BytesIn(), c.BytesOut())
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
