package main

import (
	"context"
	"errors"
)

// Placeholder until the simulator lands.
func runSim(ctx context.Context, args []string) error { return errors.New("not implemented yet") }
