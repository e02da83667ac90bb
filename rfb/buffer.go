package rfb

import (
	"fmt"
	"image"
	"image/color"
)

// Buffer is a Framebuffer that keeps pixels in the session's own pixel format,
// so a session at 8 bpp holds one byte a pixel. It is what snapshot, tests and
// the simulator use; callers with other needs implement Framebuffer themselves.
// Buffer does no locking.
type Buffer struct {
	Width, Height int
	Format        PixelFormat
	Pix           []byte // Height rows of Stride bytes
	Stride        int
	Palette       [256]Colour
}

// NewBuffer returns a zeroed buffer of the given size and format.
func NewBuffer(width, height int, pf PixelFormat) *Buffer {
	b := &Buffer{}
	if err := b.SetFormat(width, height, pf); err != nil {
		panic(err)
	}
	return b
}

// MaxDesktopPixels bounds the desktops kioskwall accepts (8192x8192, twice a
// 4K screen each way), so that no server can make it allocate an arbitrary
// amount.
const MaxDesktopPixels = 8192 * 8192

// SetFormat implements Framebuffer. It reuses the pixel slice when it is big
// enough, so resizes and pixel-format changes do not allocate in steady state.
func (b *Buffer) SetFormat(width, height int, pf PixelFormat) error {
	if width < 0 || height < 0 || width*height > MaxDesktopPixels {
		return fmt.Errorf("rfb: desktop size %dx%d is out of range", width, height)
	}
	if err := pf.Validate(); err != nil {
		return err
	}
	b.Width, b.Height, b.Format = width, height, pf
	b.Stride = width * pf.BytesPerPixel()
	n := b.Stride * height
	if cap(b.Pix) < n {
		b.Pix = make([]byte, n)
	} else {
		b.Pix = b.Pix[:n]
		clear(b.Pix)
	}
	return nil
}

// SetColourMap implements Framebuffer.
func (b *Buffer) SetColourMap(first int, colours []Colour) {
	if first < 0 || first >= len(b.Palette) {
		return
	}
	copy(b.Palette[first:], colours)
}

// Bounds is the desktop rectangle.
func (b *Buffer) Bounds() image.Rectangle { return image.Rect(0, 0, b.Width, b.Height) }

// offset is the index of pixel (x, y) in Pix.
func (b *Buffer) offset(x, y int) int { return y*b.Stride + x*b.Format.BytesPerPixel() }

// WritePixels implements Framebuffer.
func (b *Buffer) WritePixels(r image.Rectangle, pix []byte) {
	row := r.Dx() * b.Format.BytesPerPixel()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		o := b.offset(r.Min.X, y)
		copy(b.Pix[o:o+row], pix)
		pix = pix[row:]
	}
}

// FillRect implements Framebuffer.
func (b *Buffer) FillRect(r image.Rectangle, pixel []byte) {
	bpp := b.Format.BytesPerPixel()
	row := r.Dx() * bpp
	if row == 0 || r.Dy() <= 0 {
		return
	}
	first := b.offset(r.Min.X, r.Min.Y)
	line := b.Pix[first : first+row]
	copy(line, pixel[:bpp])
	for filled := bpp; filled < row; filled *= 2 {
		copy(line[filled:], line[:filled])
	}
	for y := r.Min.Y + 1; y < r.Max.Y; y++ {
		o := b.offset(r.Min.X, y)
		copy(b.Pix[o:o+row], line)
	}
}

// CopyRect implements Framebuffer.
func (b *Buffer) CopyRect(r image.Rectangle, src image.Point) {
	row := r.Dx() * b.Format.BytesPerPixel()
	h := r.Dy()
	// Copy bottom-up when moving down so overlapping rows are read before they are written.
	for i := 0; i < h; i++ {
		j := i
		if r.Min.Y > src.Y {
			j = h - 1 - i
		}
		d := b.offset(r.Min.X, r.Min.Y+j)
		s := b.offset(src.X, src.Y+j)
		copy(b.Pix[d:d+row], b.Pix[s:s+row])
	}
}

// ReadPixels copies the pixels of r, packed, into dst (grown as needed) and
// returns it. Encoders read their input this way.
func (b *Buffer) ReadPixels(dst []byte, r image.Rectangle) []byte {
	row := r.Dx() * b.Format.BytesPerPixel()
	dst = dst[:0]
	for y := r.Min.Y; y < r.Max.Y; y++ {
		o := b.offset(r.Min.X, y)
		dst = append(dst, b.Pix[o:o+row]...)
	}
	return dst
}

// RGBAt returns the 8-bit colour of pixel (x, y).
func (b *Buffer) RGBAt(x, y int) (r, g, bl uint8) {
	v := b.Format.Pixel(b.Pix[b.offset(x, y):])
	if !b.Format.TrueColour {
		c := b.Palette[v&0xff]
		return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)
	}
	return b.Format.RGB(v)
}

// RGBA converts r (clipped to the desktop) to an RGBA image.
func (b *Buffer) RGBA(r image.Rectangle) *image.RGBA {
	r = r.Intersect(b.Bounds())
	img := image.NewRGBA(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := img.PixOffset(r.Min.X, y)
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb := b.RGBAt(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = cr, cg, cb, 0xff
			i += 4
		}
	}
	return img
}

// ColorModel, At and Bounds make a Buffer an image.Image.
func (b *Buffer) ColorModel() color.Model { return color.RGBAModel }

// At implements image.Image.
func (b *Buffer) At(x, y int) color.Color {
	if !(image.Point{x, y}.In(b.Bounds())) {
		return color.RGBA{}
	}
	r, g, bl := b.RGBAt(x, y)
	return color.RGBA{r, g, bl, 0xff}
}

// SetRGB sets pixel (x, y) from 8-bit channels; true-colour formats only.
func (b *Buffer) SetRGB(x, y int, r, g, bl uint8) {
	b.Format.PutPixel(b.Pix[b.offset(x, y):], b.Format.FromRGB(r, g, bl))
}

// DrawImage converts img into the buffer at its own coordinates, clipped to
// the desktop; true-colour formats only.
func (b *Buffer) DrawImage(img image.Image) {
	r := img.Bounds().Intersect(b.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			b.SetRGB(x, y, uint8(cr>>8), uint8(cg>>8), uint8(cb>>8))
		}
	}
}
