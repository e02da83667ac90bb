package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"time"

	"kioskwall/rfb"
)

// runSnapshot saves one full-resolution frame of a VNC server as PNG.
func runSnapshot(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	encList := fs.String("encodings", "tight,zrle,hextile,copyrect,raw", "encodings to offer, in order of preference")
	bpp := fs.Int("bpp", 32, "bits per pixel to ask for: 8, 16 or 32")
	quality := fs.Int("quality", -1, "JPEG quality 0-9 for Tight; lossless when not given")
	pwFile := fs.String("password-file", "", "file holding the VNC password (plain text or vncpasswd format)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kioskwall snapshot [flags] HOST:PORT OUT.png")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errors.New("need HOST:PORT and OUT.png")
	}
	addr, out := fs.Arg(0), fs.Arg(1)
	encs, err := parseEncodings(*encList)
	if err != nil {
		return err
	}
	if *quality > 9 || *quality < -1 {
		return fmt.Errorf("-quality %d: use 0-9", *quality)
	}
	if *quality >= 0 {
		encs = append(encs, rfb.EncQualityLevel0+rfb.Encoding(*quality))
	}
	pf, err := formatForBPP(*bpp)
	if err != nil {
		return err
	}
	pw, err := readPasswordFile(*pwFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	fb := &rfb.Buffer{}
	c, err := rfb.Dial(ctx, addr, rfb.ClientConfig{Password: pw, PixelFormat: pf, Encodings: encs, Framebuffer: fb})
	if err != nil {
		return explain(err)
	}
	defer c.Close()
	full := image.Rect(0, 0, c.Width(), c.Height())
	if err := c.Request(false, full); err != nil {
		return err
	}
	used := map[rfb.Encoding]int{}
	cov := newCoverage(full)
	for !cov.complete() {
		msg, err := c.Next()
		if err != nil {
			return fmt.Errorf("reading the frame: %w", err)
		}
		u, ok := msg.(*rfb.Update)
		if !ok {
			continue
		}
		for e, n := range u.Encodings {
			used[e] += n
		}
		for _, r := range u.Rects {
			cov.add(r)
		}
		if !cov.complete() {
			if err := c.Request(false, full); err != nil {
				return err
			}
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, fb.RGBA(fb.Bounds())); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("%s: %dx%d %q, RFB %s, %s, encodings used %v, %d bytes received\n",
		out, c.Width(), c.Height(), c.Name(), c.Version(), c.PixelFormat(), used, c.BytesIn())
	return nil
}

// coverage tracks which pixels of a frame have arrived; servers may answer a
// full request in several updates.
type coverage struct {
	full    image.Rectangle
	seen    []bool
	missing int
}

func newCoverage(full image.Rectangle) *coverage {
	return &coverage{full: full, seen: make([]bool, full.Dx()*full.Dy()), missing: full.Dx() * full.Dy()}
}

func (c *coverage) add(r image.Rectangle) {
	r = r.Intersect(c.full)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := c.seen[(y-c.full.Min.Y)*c.full.Dx():]
		for x := r.Min.X - c.full.Min.X; x < r.Max.X-c.full.Min.X; x++ {
			if !row[x] {
				row[x] = true
				c.missing--
			}
		}
	}
}

func (c *coverage) complete() bool { return c.missing == 0 }
