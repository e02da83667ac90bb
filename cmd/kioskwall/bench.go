package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"kioskwall/config"
	"kioskwall/internal/bench"
)

// runBench runs the bandwidth benchmark.
func runBench(ctx context.Context, args []string) error {
	return benchMain(ctx, args, os.Stdout, os.Stderr)
}

// benchMain is runBench with its output streams, for tests: the report
// goes to out, progress to errOut.
func benchMain(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var cfg bench.Config
	fs.IntVar(&cfg.Kiosks, "kiosks", 200, "synthetic kiosks in the fleet")
	fs.DurationVar(&cfg.Duration, "duration", 2*time.Minute, "how long to measure after the warm-up: one viewer and all of them take turns of about 20 s")
	capText := fs.String("cap", "20Mbit", "total cap on the RFB bytes read from the kiosks, in bits per second (20Mbit, 512kbit, 2000000)")
	siteCapText := fs.String("site-cap", "", "cap of each site (one leased line), in bits per second; default the total cap divided by the number of sites")
	fs.IntVar(&cfg.Viewers, "viewers", 20, "wall viewers (WebSocket clients of /ws/wall); together they show half the fleet")
	fs.IntVar(&cfg.TilesPerViewer, "tiles", 100, "tiles each viewer shows")
	fs.StringVar(&cfg.Mix, "mix", bench.DefaultMix, "the kiosks' behaviours, as kioskwall sim -mix takes them")
	fs.StringVar(&cfg.Size, "size", "1920x1080", "every kiosk's screen, WIDTHxHEIGHT")
	fs.DurationVar(&cfg.Latency, "latency", 25*time.Millisecond, "delay of every write of a kiosk, standing in for a line's round trip")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the fleet: the same seed gives the same kiosks and screens")
	fs.IntVar(&cfg.BaselineKiosks, "baseline-kiosks", 50, "kiosks in the sample the noVNC baseline runs against, in the fleet's mix")
	fs.DurationVar(&cfg.BaselineDuration, "baseline-duration", 0, "how long the baseline is counted (default the shorter of -duration and 1m)")
	fs.DurationVar(&cfg.WarmupLimit, "warmup-limit", 3*time.Minute, "longest wait for every kiosk's first tile before measuring")
	fs.StringVar(&cfg.SimAddr, "sim-addr", "127.0.200.1", "first kiosk's loopback address; kiosk i listens on that plus i, each on a free port")
	fs.StringVar(&cfg.WorkDir, "workdir", "", "folder for the inventory, the server's config and the logs (default a temporary one, removed afterwards)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the temporary folder with the logs")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "have the server write a CPU profile of its run to this file (go tool pprof)")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object instead of text")
	jsonFile := fs.String("json-file", "", "also write the figures as JSON to this file")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: kioskwall bench [-kiosks N] [-duration D] [-cap 20Mbit] [-viewers W] [-json]\n\n"+
			"Runs synthetic kiosks and a server in processes of their own, watches the wall with W viewers, and\n"+
			"reports RFB bytes against the caps, freshness, the server's CPU and memory, and the bytes the\n"+
			"noVNC sessions users run today would take. Progress goes to stderr.\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	var err error
	if cfg.Cap, err = config.ParseBandwidth(*capText); err != nil {
		return fmt.Errorf("-cap: %w", err)
	}
	if *siteCapText != "" {
		if cfg.SiteCap, err = config.ParseBandwidth(*siteCapText); err != nil {
			return fmt.Errorf("-site-cap: %w", err)
		}
	}
	if cfg.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("finding the kioskwall binary to run the kiosks and the server: %w", err)
	}
	cfg.Progress = errOut
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	js = append(js, '\n')
	if *jsonFile != "" {
		if err := os.WriteFile(*jsonFile, js, 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		_, err := out.Write(js)
		return err
	}
	res.WriteText(out)
	return nil
}
