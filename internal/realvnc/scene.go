package realvnc

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Scene returns a deterministic test picture of w by h that fills the screen
// with what exercises every encoder: the top-left quarter is blocks of solid
// colour (RRE, hextile and tight's fills), the top-right is text on white at
// two sizes (small palettes), the bottom-left a horizontal and a vertical
// gradient (tight's gradient filter, many colours), and the bottom-right
// photo-like noise from a fixed seed (JPEG, raw fallbacks).
func Scene(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	midX, midY := w/2, h/2
	sceneSolids(img, image.Rect(0, 0, midX, midY))
	sceneText(img, image.Rect(midX, 0, w, midY))
	sceneGradients(img, image.Rect(0, midY, midX, h))
	sceneNoise(img, image.Rect(midX, midY, w, h))
	return img
}

// sceneColours are the solid blocks: primaries, secondaries, black and white,
// and mid-tones that no bit shift turns into a primary.
var sceneColours = []color.RGBA{
	{0xff, 0x00, 0x00, 0xff}, {0x00, 0xff, 0x00, 0xff}, {0x00, 0x00, 0xff, 0xff}, {0xff, 0xff, 0xff, 0xff},
	{0x00, 0xff, 0xff, 0xff}, {0xff, 0x00, 0xff, 0xff}, {0xff, 0xff, 0x00, 0xff}, {0x00, 0x00, 0x00, 0xff},
	{0xc8, 0x78, 0x28, 0xff}, {0x33, 0x66, 0x99, 0xff}, {0x80, 0x80, 0x80, 0xff}, {0x1e, 0x9e, 0x5a, 0xff},
}

// sceneSolids fills r with a 4x3 grid of sceneColours.
func sceneSolids(img *image.RGBA, r image.Rectangle) {
	const cols, rows = 4, 3
	for i, c := range sceneColours {
		col, row := i%cols, i/cols
		block := image.Rect(
			r.Min.X+r.Dx()*col/cols, r.Min.Y+r.Dy()*row/rows,
			r.Min.X+r.Dx()*(col+1)/cols, r.Min.Y+r.Dy()*(row+1)/rows)
		draw.Draw(img, block, image.NewUniform(c), image.Point{}, draw.Src)
	}
}

// sceneText writes lines of dark text on white into r: first at the font's
// own size, then scaled up twice, pixel for pixel.
func sceneText(img *image.RGBA, r image.Rectangle) {
	draw.Draw(img, r, image.White, image.Point{}, draw.Src)
	face := basicfont.Face7x13
	ink := image.NewUniform(color.RGBA{0x10, 0x20, 0x60, 0xff})
	lines := []string{
		"kioskwall: Registration desk 3",
		"Please take your number 0123456789",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz",
		"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
	}
	lineHeight := face.Metrics().Height.Ceil()
	// Drawing into the panel's sub-image keeps long lines inside it.
	panel := img.SubImage(r).(*image.RGBA)
	y := r.Min.Y
	for _, line := range lines {
		y += lineHeight
		d := font.Drawer{Dst: panel, Src: ink, Face: face, Dot: fixed.P(r.Min.X+4, y)}
		d.DrawString(line)
	}

	// Twice the size: draw into a small picture, then copy each pixel as a 2x2 block.
	const big = "PAYMENT 42.00"
	small := image.NewRGBA(image.Rect(0, 0, font.MeasureString(face, big).Ceil()+2, lineHeight+2))
	draw.Draw(small, small.Rect, image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: small, Src: ink, Face: face, Dot: fixed.P(1, face.Metrics().Ascent.Ceil()+1)}
	d.DrawString(big)
	top := image.Pt(r.Min.X+4, y+lineHeight/2)
	for sy := range small.Rect.Dy() {
		for sx := range small.Rect.Dx() {
			block := image.Rect(top.X+2*sx, top.Y+2*sy, top.X+2*sx+2, top.Y+2*sy+2).Intersect(r)
			draw.Draw(img, block, image.NewUniform(small.RGBAAt(sx, sy)), image.Point{}, draw.Src)
		}
	}
}

// sceneGradients fills the left half of r with a horizontal gradient (red
// rising, blue falling) and the right half with a vertical grey ramp.
func sceneGradients(img *image.RGBA, r image.Rectangle) {
	mid := r.Min.X + r.Dx()/2
	left, right := image.Rect(r.Min.X, r.Min.Y, mid, r.Max.Y), image.Rect(mid, r.Min.Y, r.Max.X, r.Max.Y)
	for y := left.Min.Y; y < left.Max.Y; y++ {
		for x := left.Min.X; x < left.Max.X; x++ {
			v := ramp(x-left.Min.X, left.Dx())
			img.SetRGBA(x, y, color.RGBA{v, 0x40, 0xff - v, 0xff})
		}
	}
	for y := right.Min.Y; y < right.Max.Y; y++ {
		v := ramp(y-right.Min.Y, right.Dy())
		for x := right.Min.X; x < right.Max.X; x++ {
			img.SetRGBA(x, y, color.RGBA{v, v, v, 0xff})
		}
	}
}

// ramp maps i in 0..n-1 onto 0..255.
func ramp(i, n int) uint8 {
	if n <= 1 {
		return 0
	}
	return uint8(i * 255 / (n - 1))
}

// sceneNoise fills r with smooth random colour blobs plus per-pixel grain,
// the statistics of a photograph rather than of white noise. The seed is
// fixed, so every call draws the same.
func sceneNoise(img *image.RGBA, r image.Rectangle) {
	rng := rand.New(rand.NewPCG(2024, 11))
	const cell = 16
	gw, gh := r.Dx()/cell+2, r.Dy()/cell+2
	grid := make([][3]float64, gw*gh)
	for i := range grid {
		grid[i] = [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		fy := float64(y-r.Min.Y) / cell
		gy, ty := int(fy), fy-float64(int(fy))
		for x := r.Min.X; x < r.Max.X; x++ {
			fx := float64(x-r.Min.X) / cell
			gx, tx := int(fx), fx-float64(int(fx))
			var c [3]uint8
			for ch := range c {
				top := grid[gy*gw+gx][ch]*(1-tx) + grid[gy*gw+gx+1][ch]*tx
				bottom := grid[(gy+1)*gw+gx][ch]*(1-tx) + grid[(gy+1)*gw+gx+1][ch]*tx
				v := top*(1-ty) + bottom*ty + float64(rng.IntN(33)-16)
				c[ch] = uint8(min(max(v, 0), 255))
			}
			img.SetRGBA(x, y, color.RGBA{c[0], c[1], c[2], 0xff})
		}
	}
}
