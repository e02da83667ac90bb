package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"kioskwall/config"
	"kioskwall/rfb/sim"
	"kioskwall/wall"
)

// runDemo runs a synthetic fleet and the server together until interrupted.
func runDemo(ctx context.Context, args []string) error {
	return demoMain(ctx, args, os.Stdout, os.Stderr)
}

// demoMain is runDemo with its output streams, for tests.
func demoMain(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(errOut)
	kiosks := fs.Int("kiosks", 64, "how many synthetic kiosks to run")
	listen := fs.String("listen", config.DefaultListen, "address of the wall (loopback only: the demo has no login)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic fleet: the same seed gives the same kiosks")
	verbose := fs.Bool("v", false, "log every kiosk session event, not only warnings")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: kioskwall demo [-kiosks 64] [-listen ADDR]\n\nRuns synthetic kiosks on loopback addresses and the wall server for them, until interrupted.\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *kiosks < 1 {
		return fmt.Errorf("-kiosks %d: run at least 1 kiosk", *kiosks)
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %v; write host:port, such as %s", *listen, err, config.DefaultListen)
	}
	if !wall.IsLoopbackHost(host) {
		return fmt.Errorf("-listen %s: the demo listens on loopback only (127.0.0.1, ::1 or localhost); it has no login", *listen)
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (is kioskwall already running? try -listen 127.0.0.1:6081)", *listen, err)
	}
	fleet, err := sim.Start(ctx, sim.Config{Kiosks: *kiosks, Seed: *seed, Mix: demoMix, Password: demoPassword, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	defer fleet.Close()
	srv, err := wall.NewServer(wall.ServerOptions{Listen: *listen, Logger: log, EncodingPolicy: true})
	if err != nil {
		ln.Close()
		return err
	}
	targets := make([]wall.Target, 0, *kiosks)
	var wrong []string
	for i, k := range fleet.Kiosks() {
		t := wall.Target{ID: k.ID(), Name: k.Name(), Site: k.Site(), Addr: k.Addr(), Password: demoPassword, Kind: "tightvnc"}
		if i%demoWrongPasswordEvery == demoWrongPasswordEvery-1 {
			t.Password = "not-" + demoPassword
			wrong = append(wrong, k.ID())
		}
		targets = append(targets, t)
	}
	fmt.Fprintf(out, "kioskwall demo: %d synthetic kiosks; some are in trouble on purpose (refusing, hanging up, frozen, black, error dialogs)\n", *kiosks)
	if len(wrong) > 0 {
		fmt.Fprintf(out, "kioskwall demo: %s given a wrong password, to show how a failed login looks\n", strings.Join(wrong, ", "))
	}
	fmt.Fprintf(out, "kioskwall demo: open %s in a browser; Ctrl-C stops\n", wallURL(ln.Addr()))
	return runServer(ctx, srv, ln, func(context.Context) { srv.Fleet().Sync(targets) })
}

// The demo's fleet shows every kind of trouble a wall must make visible a
// few times in the default 64 kiosks, where a real fleet's mix would show
// hardly any.
var demoMix = sim.Mix{sim.Idle: 55, sim.Interactive: 25, sim.Carousel: 10, sim.ErrorDialog: 2, sim.Black: 2, sim.Frozen: 2, sim.Refusing: 2, sim.HangingUp: 2}

// The demo kiosks use VNC authentication, as real ones do; kioskwall is
// given a wrong password for one kiosk in demoWrongPasswordEvery.
const (
	demoPassword           = "demo-kiosk"
	demoWrongPasswordEvery = 32
)
