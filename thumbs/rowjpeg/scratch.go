package rowjpeg

// Scratch is the temporary memory of encoding: one per encoding goroutine,
// shared by any number of Pictures. Its output buffer grows to the largest
// MCU row encoded and stays, so a worker allocates nothing once warm.
type Scratch struct {
	blk  [6][64]float32 // one MCU: luma blocks (top left, top right, bottom left, bottom right), Cb, Cr
	coef [64]int32      // one block quantised
	edge [16 * 16 * 4]byte
	out  []byte // the entropy-coded segment of the row being encoded
}

// NewScratch returns an empty Scratch.
func NewScratch() *Scratch { return &Scratch{} }
