package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"kioskwall/config"
	"kioskwall/thumbs"
	"kioskwall/wall"
)

// runServe runs the server until interrupted.
func runServe(ctx context.Context, args []string) error {
	return serveMain(ctx, args, os.Stdout, os.Stderr)
}

// serveMain is runServe with its output streams, for tests: the URL goes to
// out, the log to errOut.
func serveMain(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(errOut)
	configPath := fs.String("config", "", "config file (YAML; see kioskwall.example.yaml), re-read when it changes and on SIGHUP; without it every setting takes its default")
	var flags serveFlags
	var allowHosts stringList
	fs.StringVar(&flags.listen, "listen", "", "address to serve the wall, API and live view on (default "+config.DefaultListen+", or the config file's listen)")
	fs.Var(&flags.tokens, "tokens", "websockify token file, or a directory of them (token = kiosk id, file name = site); repeat for more; replaces the config file's inventory.tokens")
	fs.StringVar(&flags.passwordFile, "password-file", "", "VNC password of every kiosk without one of its own: plain text or a vncpasswd file")
	fs.StringVar(&flags.dataDir, "data-dir", "", "folder for the latest thumbnails and the control audit log (default "+config.DefaultDataDir+", or the config file's data_dir)")
	fs.Var(&allowHosts, "allow-host", "a further host name the server is reached by, such as the name a reverse proxy passes on in Host; repeat for more")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for go tool pprof), as kioskwall bench -cpuprofile asks")
	anywhere := fs.Bool("insecure-no-auth-listen-anywhere", false, "allow a non-loopback -listen address although kioskwall has no login: anyone who reaches it can watch and control every kiosk")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: kioskwall serve [-config FILE] [-listen ADDR] [-tokens FILE|DIR] [-password-file F] [-data-dir D]\n\nServes the wall of the kiosks in the inventory until interrupted. Flags override the config file.\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}

	cfg, err := flags.load(*configPath)
	if err != nil {
		return err
	}
	if err := wall.CheckListen(cfg.Listen, *anywhere); err != nil {
		return err
	}

	log := slog.New(slog.NewTextHandler(errOut, nil))
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (is another kioskwall or websockify running there? choose another -listen)", cfg.Listen, err)
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen); !wall.IsLoopbackHost(host) {
		log.Warn("NO AUTHENTICATION: kioskwall listens beyond this machine and has no login; anyone who reaches "+ln.Addr().String()+" can watch and control every kiosk",
			"listen", cfg.Listen)
	}
	src := cfg.Sources()
	if len(src.Files) == 0 && len(src.Tokens) == 0 {
		log.Warn("no inventory: the wall stays empty; name kiosk files or token files in the config file, or give -tokens")
	}

	// Budgets exist even without a cap: they meter every line for
	// /api/stats, and a reloaded config file can cap the connections
	// already open.
	budgets := wall.NewBudgets(cfg.Budgets, wall.BudgetOptions{})
	fleet := wall.FleetOptions{Renditions: renditionsOf(cfg.Thumbnails), Budgets: budgets}
	srv, err := wall.NewServer(wall.ServerOptions{
		Listen:     cfg.Listen,
		AllowHosts: allowHosts,
		DataDir:    cfg.DataDir,
		Fleet:      fleet,
		Logger:     log,
		// Each kind of kiosk gets the thumbnail profile that costs it the
		// fewest bytes (GET /api/encodings).
		EncodingPolicy: true,
	})
	if err != nil {
		ln.Close()
		return err
	}
	r := &configReloader{path: *configPath, flags: flags, srv: srv, budgets: budgets, log: log, running: cfg}
	if *configPath != "" {
		// Registered before the URL is printed, so a SIGHUP sent once the
		// server is up reloads rather than ends it.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		r.hup = hup
	}
	fmt.Fprintf(out, "kioskwall: the wall is at %s\n", wallURL(ln.Addr()))
	return runServer(ctx, srv, ln, r.run)
}

// serveFlags are the settings given as flags. They override the config
// file, at start and at every reload.
type serveFlags struct {
	listen, dataDir, passwordFile string
	tokens                        stringList
}

// load reads the config file at path (every default when path is "") and
// applies the flags to it.
func (f serveFlags) load(path string) (*config.Config, error) {
	cfg := config.Default()
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return nil, err
		}
	}
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.tokens != nil {
		cfg.Inventory.Tokens = f.tokens
	}
	if f.passwordFile != "" {
		cfg.Inventory.PasswordFile = f.passwordFile
	}
	if f.dataDir != "" {
		cfg.DataDir = f.dataDir
	}
	return cfg, nil
}

// runServer serves until ctx ends or serving fails, with feed running
// beside it (it fills the fleet), then stops everything in order.
func runServer(ctx context.Context, srv *wall.Server, ln net.Listener, feed func(context.Context)) error {
	ctx, cancel := context.WithCancel(ctx)
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		feed(ctx)
	}()
	err := srv.Serve(ctx, ln)
	cancel()
	<-fed
	return errors.Join(err, srv.Close())
}

// parseFlags parses a command's flags. help reports that -h was given (the
// usage has been shown); an argument that is not a flag is an error.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected argument %q; all settings are flags (see kioskwall %s -h)", fs.Arg(0), fs.Name())
	}
	return false, nil
}

// stringList is a flag that may be given more than once.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// renditionsOf turns the thumbnail settings into the two renditions.
func renditionsOf(t config.Thumbnails) []thumbs.Rendition {
	return []thumbs.Rendition{
		{Name: "small", Width: t.Small.W, Height: t.Small.H, Quality: t.Quality},
		{Name: "large", Width: t.Large.W, Height: t.Large.H, Quality: t.Quality},
	}
}

// wallURL is the address to open in a browser. A server on every address
// is shown by this machine's name.
func wallURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil {
			host = name
		}
	}
	return "http://" + strings.TrimSuffix(net.JoinHostPort(host, port), ":80") + "/"
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
