package rfb

import (
	"bytes"
	"image"
)

// writeCursor writes a Cursor pseudo-rectangle: the shape's pixels in the
// client's format, then a bitmask of the opaque ones. A nil cursor is sent
// as an empty shape, which hides the pointer. Shapes larger than what
// clients accept (maxCursorSide) are cropped.
func writeCursor(w *bytes.Buffer, c *Cursor, pf PixelFormat, palette *[256]Colour) {
	if c == nil || c.Image == nil {
		writeRectHeader(w, image.Rectangle{}, EncCursor)
		return
	}
	img := c.Image
	b := img.Bounds()
	width, height := min(b.Dx(), maxCursorSide), min(b.Dy(), maxCursorSide)
	hot := c.Hotspot
	hot.X, hot.Y = max(0, min(hot.X, width-1)), max(0, min(hot.Y, height-1))
	writeRectHeader(w, image.Rect(hot.X, hot.Y, hot.X+width, hot.Y+height), EncCursor)

	bpp := pf.BytesPerPixel()
	var px [4]byte
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			r, g, bl, a := rgbaAt(img, b.Min.X+x, b.Min.Y+y)
			var v uint32
			if a != 0 {
				if pf.TrueColour {
					v = pf.FromRGB(r, g, bl)
				} else {
					v = nearestColour(palette, r, g, bl)
				}
			}
			pf.PutPixel(px[:], v)
			w.Write(px[:bpp])
		}
	}
	rowBytes := (width + 7) / 8
	for y := 0; y < height; y++ {
		for i := 0; i < rowBytes; i++ {
			var m byte
			for bit := 0; bit < 8 && i*8+bit < width; bit++ {
				if _, _, _, a := rgbaAt(img, b.Min.X+i*8+bit, b.Min.Y+y); a >= 0x80 {
					m |= 0x80 >> bit
				}
			}
			w.WriteByte(m)
		}
	}
}

// rgbaAt returns the straight (not premultiplied) colour of a pixel.
func rgbaAt(img *image.RGBA, x, y int) (r, g, b, a uint8) {
	i := img.PixOffset(x, y)
	r, g, b, a = img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]
	if a != 0 && a != 0xff {
		r, g, b = unpremultiply(r, a), unpremultiply(g, a), unpremultiply(b, a)
	}
	return r, g, b, a
}

func unpremultiply(c, a uint8) uint8 {
	return uint8(min(255, (int(c)*255+int(a)/2)/int(a)))
}

// nearestColour returns the palette index closest to the colour, for
// colour-mapped clients, whose cursor pixels are palette indices too.
func nearestColour(palette *[256]Colour, r, g, b uint8) uint32 {
	best, bestDist := 0, -1
	for i, c := range palette {
		dr, dg, db := int(c.R>>8)-int(r), int(c.G>>8)-int(g), int(c.B>>8)-int(b)
		if d := dr*dr + dg*dg + db*db; bestDist < 0 || d < bestDist {
			best, bestDist = i, d
		}
	}
	return uint32(best)
}
