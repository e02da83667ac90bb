// Command kioskwall watches a fleet of VNC kiosks: a wall of live thumbnails
// over one low-bandwidth RFB session per kiosk. See `kioskwall help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: its one-line summary and what runs it.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"sim":      {"run synthetic kiosks (VNC servers) on loopback addresses", runSim},
		"snapshot": {"save one full-resolution frame of a VNC server as PNG", runSnapshot},
		"check":    {"show what a kiosk's VNC server offers and what a frame costs", runCheck},
		"serve":    {"serve the wall, the live view and the API for the kiosks of the inventory", runServe},
		"demo":     {"run synthetic kiosks and the wall together, to see kioskwall at work", runDemo},
		"bench":    {"measure bandwidth, freshness and server cost on a synthetic fleet behind capped lines", runBench},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(cmds)
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "kioskwall: unknown command %q\n\n", args[0])
		usage(cmds)
		return 2
	}
	if err := c.run(ctx, args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "kioskwall %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(os.Stderr, "usage: kioskwall <command> [flags]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun `kioskwall <command> -h` for a command's flags.")
}
