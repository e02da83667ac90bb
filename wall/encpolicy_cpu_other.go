//go:build !linux

package wall

import "time"

// threadCPU is not known on this system: decode CPU times read as zero.
func threadCPU() (time.Duration, bool) { return 0, false }
