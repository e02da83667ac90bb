package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"kioskwall/rfb/sim"
)

// runSim runs synthetic kiosks until interrupted.
func runSim(ctx context.Context, args []string) error {
	return simMain(ctx, args, os.Stdout, os.Stderr)
}

// simMain is runSim with its output streams, for tests.
func simMain(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(errOut)
	kiosks := fs.Int("kiosks", 0, "how many kiosks to run (required)")
	addr := fs.String("addr", "127.0.1.1:5900", "first kiosk's address and the port of all; kiosk i listens on that address plus i (port 0: a free port each)")
	password := fs.String("password", "", "VNC password of every kiosk; none (security type None) when empty")
	size := fs.String("size", "1920x1080", "desktop size, WIDTHxHEIGHT")
	inventory := fs.String("inventory", "", "write the kiosk inventory (CSV) to this file, and the password to a 0600 file next to it")
	seed := fs.Uint64("seed", 1, "seed: the same seed gives the same kiosks and screens")
	events := fs.String("events", "", "append every input event the kiosks receive to this file, one JSON object a line")
	mix := fs.String("mix", sim.DefaultMix.String(), "behaviour weights, name=weight,…; names: idle, interactive, carousel, error-dialog, black, frozen, refusing, hanging-up")
	latency := fs.Duration("latency", 0, "delay every write to a viewer by this much, like a leased line's round trip")
	statsAddr := fs.String("stats-addr", "", "serve the kiosks' byte counts and content changes as JSON on this address, for kioskwall bench (e.g. 127.0.0.1:0)")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: kioskwall sim -kiosks N [flags]\n\nRuns synthetic kiosks (VNC servers) on loopback addresses until interrupted.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; all settings are flags (see kioskwall sim -h)", fs.Arg(0))
	}
	if *kiosks < 1 {
		return errors.New("say how many kiosks to run with -kiosks N (e.g. -kiosks 100)")
	}
	host, portText, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v; give the first kiosk's address and port, e.g. 127.0.1.1:5900", *addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("-addr %q: port %q is not a number", *addr, portText)
	}
	sz, err := parseSize(*size)
	if err != nil {
		return err
	}
	m, err := sim.ParseMix(*mix)
	if err != nil {
		return fmt.Errorf("-mix: %w", err)
	}
	f, err := sim.Start(ctx, sim.Config{
		Kiosks: *kiosks, BaseAddr: host, Port: port, Password: *password, Size: sz,
		Seed: *seed, Mix: m, Latency: *latency, EventLog: *events,
		Logger: slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	defer f.Close()
	if *inventory != "" {
		if err := f.WriteInventory(*inventory); err != nil {
			return err
		}
	}
	if *statsAddr != "" {
		stop, err := serveSimStats(ctx, *statsAddr, f, out)
		if err != nil {
			return err
		}
		defer stop()
	}
	printSummary(out, f, *password != "", *inventory, *events)
	<-ctx.Done()
	fmt.Fprintf(out, "sim: stopping; the kiosks sent %d bytes in all\n", f.BytesSent())
	return f.Close()
}

// parseSize reads WIDTHxHEIGHT.
func parseSize(s string) (image.Point, error) {
	w, h, ok := strings.Cut(strings.ToLower(s), "x")
	x, errW := strconv.Atoi(w)
	y, errH := strconv.Atoi(h)
	if !ok || errW != nil || errH != nil {
		return image.Point{}, fmt.Errorf("-size %q: give WIDTHxHEIGHT, e.g. 1920x1080", s)
	}
	return image.Pt(x, y), nil
}

// printSummary says what runs where, one line a topic.
func printSummary(out io.Writer, f *sim.Fleet, password bool, inventory, events string) {
	ks := f.Kiosks()
	first, last := ks[0], ks[len(ks)-1]
	var counts sim.Mix // a mix of whole counts: how many kiosks do what
	sites := map[string]int{}
	var siteOrder []string
	listening := 0
	for _, k := range ks {
		counts[k.Behaviour()]++
		if sites[k.Site()] == 0 {
			siteOrder = append(siteOrder, k.Site())
		}
		sites[k.Site()]++
		if k.Behaviour() != sim.Refusing {
			listening++
		}
	}
	security := "none"
	if password {
		security = "VNC authentication"
	}
	fmt.Fprintf(out, "sim: %d kiosks, %d listening, from %s (%s) to %s (%s); security: %s\n",
		len(ks), listening, first.Addr(), first.ID(), last.Addr(), last.ID(), security)
	fmt.Fprintf(out, "sim: behaviours: %s\n", counts)
	var bySite []string
	for _, s := range siteOrder {
		bySite = append(bySite, fmt.Sprintf("%s %d", s, sites[s]))
	}
	fmt.Fprintf(out, "sim: sites: %s\n", strings.Join(bySite, ", "))
	if inventory != "" {
		fmt.Fprintf(out, "sim: inventory written to %s\n", inventory)
	}
	if events != "" {
		fmt.Fprintf(out, "sim: input events appended to %s\n", events)
	}
	fmt.Fprintln(out, "sim: running until interrupted (Ctrl-C)")
}
