package rfb

// pixelConverter turns rows of desktop pixels into the client's pixel
// format. Each connection has one: clients of the same desktop may ask for
// different formats, and the desktop keeps a single copy of its pixels.
type pixelConverter struct {
	from, to PixelFormat
	mode     convertMode
	lut      [256]uint32 // for 8-bit desktops: client pixel value of each desktop value
}

type convertMode uint8

const (
	convertCopy    convertMode = iota // same layout: bytes are copied
	convertLUT                        // 8-bit desktop: one table lookup a pixel
	convertGeneric                    // through 8-bit RGB, one pixel at a time
)

// setup prepares conversion from the desktop format to the client format.
// palette resolves a colour-mapped desktop; a colour-mapped client of a
// colour-mapped desktop shares the desktop's palette, so its pixels are
// copied as they are.
func (c *pixelConverter) setup(from, to PixelFormat, palette *[256]Colour) {
	c.from, c.to = from, to
	switch {
	case from == to, !from.TrueColour && !to.TrueColour:
		c.mode = convertCopy
	case from.BitsPerPixel == 8:
		c.mode = convertLUT
		for v := range c.lut {
			var r, g, b uint8
			if from.TrueColour {
				r, g, b = from.RGB(uint32(v))
			} else {
				p := palette[v]
				r, g, b = uint8(p.R>>8), uint8(p.G>>8), uint8(p.B>>8)
			}
			c.lut[v] = to.FromRGB(r, g, b)
		}
	default:
		c.mode = convertGeneric
	}
}

// convert converts the pixels of src (desktop format) into dst (client
// format); dst has room for exactly as many pixels.
func (c *pixelConverter) convert(dst, src []byte) {
	switch c.mode {
	case convertCopy:
		copy(dst, src)
	case convertLUT:
		out := c.to.BytesPerPixel()
		if out == 1 {
			for i, v := range src {
				dst[i] = byte(c.lut[v])
			}
			return
		}
		for i, v := range src {
			c.to.PutPixel(dst[i*out:], c.lut[v])
		}
	default:
		in, out := c.from.BytesPerPixel(), c.to.BytesPerPixel()
		// Screens are mostly runs of one colour: convert a value once per run.
		last, lastOut := uint32(0), c.to.FromRGB(c.from.RGB(0))
		for i, j := 0, 0; i < len(src); i, j = i+in, j+out {
			v := c.from.Pixel(src[i:])
			if v != last {
				last, lastOut = v, c.to.FromRGB(c.from.RGB(v))
			}
			c.to.PutPixel(dst[j:], lastOut)
		}
	}
}
