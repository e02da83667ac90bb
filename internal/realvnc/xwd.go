package realvnc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"math/bits"
)

// xwdHeader is the fixed part of an XWD file (X Window Dump, version 7), the
// format xwd writes and xwud reads. Its fields are 32-bit big-endian
// whatever the machine; the pixels that follow are in the order byteOrder
// says, which is the X server's image byte order.
type xwdHeader struct {
	HeaderSize     uint32 // this header plus the NUL-terminated window name
	FileVersion    uint32 // 7
	PixmapFormat   uint32 // 2 is ZPixmap, the only one handled here
	PixmapDepth    uint32
	PixmapWidth    uint32
	PixmapHeight   uint32
	XOffset        uint32
	ByteOrder      uint32 // 0 LSBFirst, 1 MSBFirst
	BitmapUnit     uint32
	BitmapBitOrder uint32
	BitmapPad      uint32
	BitsPerPixel   uint32
	BytesPerLine   uint32
	VisualClass    uint32
	RedMask        uint32
	GreenMask      uint32
	BlueMask       uint32
	BitsPerRGB     uint32
	ColormapSize   uint32 // entries in the visual's colour map
	NColors        uint32 // colour-map entries that follow the header
	WindowWidth    uint32
	WindowHeight   uint32
	WindowX        int32
	WindowY        int32
	WindowBorder   uint32
}

const (
	xwdHeaderSize = 100
	xwdVersion    = 7
	xwdZPixmap    = 2
	xwdColourSize = 12 // pixel uint32, red, green, blue uint16, flags, pad
	lsbFirst      = 0
	msbFirst      = 1
)

// X visual classes, as the header's VisualClass carries them.
const (
	staticGray  = 0
	grayScale   = 1
	staticColor = 2
	pseudoColor = 3
	trueColor   = 4
	directColor = 5
)

// xwdColour is one colour-map entry: 16 bits a channel, as X keeps them.
type xwdColour struct {
	Pixel   uint32
	R, G, B uint16
	Flags   uint8
	Pad     uint8
}

// xwdImage is a parsed XWD file.
type xwdImage struct {
	xwdHeader
	Name    string
	Colours []xwdColour
	Data    []byte // PixmapHeight rows of BytesPerLine bytes
}

// maxXWDPixels bounds what parseXWD accepts, so that a broken file cannot
// make it allocate without limit.
const maxXWDPixels = 16384 * 16384

// parseXWD reads an XWD file holding a ZPixmap of 8, 16, 24 or 32 bits per
// pixel, as X servers dump their screens.
func parseXWD(b []byte) (*xwdImage, error) {
	var x xwdImage
	if len(b) < xwdHeaderSize {
		return nil, fmt.Errorf("xwd: %d bytes is shorter than the %d-byte header", len(b), xwdHeaderSize)
	}
	if err := binary.Read(bytes.NewReader(b[:xwdHeaderSize]), binary.BigEndian, &x.xwdHeader); err != nil {
		return nil, fmt.Errorf("xwd: header: %w", err)
	}
	h := &x.xwdHeader
	switch {
	case h.FileVersion != xwdVersion:
		return nil, fmt.Errorf("xwd: file version %d, want %d", h.FileVersion, xwdVersion)
	case h.HeaderSize < xwdHeaderSize || uint64(h.HeaderSize) > uint64(len(b)):
		return nil, fmt.Errorf("xwd: header size %d outside %d..%d", h.HeaderSize, xwdHeaderSize, len(b))
	case h.PixmapFormat != xwdZPixmap:
		return nil, fmt.Errorf("xwd: pixmap format %d, only ZPixmap (2) is handled", h.PixmapFormat)
	case h.BitsPerPixel != 8 && h.BitsPerPixel != 16 && h.BitsPerPixel != 24 && h.BitsPerPixel != 32:
		return nil, fmt.Errorf("xwd: %d bits per pixel, only 8, 16, 24 and 32 are handled", h.BitsPerPixel)
	case h.PixmapDepth == 0 || h.PixmapDepth > h.BitsPerPixel:
		return nil, fmt.Errorf("xwd: depth %d does not fit %d bits per pixel", h.PixmapDepth, h.BitsPerPixel)
	case h.ByteOrder != lsbFirst && h.ByteOrder != msbFirst:
		return nil, fmt.Errorf("xwd: byte order %d is neither LSBFirst (0) nor MSBFirst (1)", h.ByteOrder)
	case h.XOffset != 0:
		return nil, fmt.Errorf("xwd: x offset %d in a ZPixmap", h.XOffset)
	case h.VisualClass > directColor:
		return nil, fmt.Errorf("xwd: visual class %d is not an X visual class", h.VisualClass)
	case uint64(h.PixmapWidth)*uint64(h.PixmapHeight) > maxXWDPixels:
		return nil, fmt.Errorf("xwd: %dx%d pixels is too big", h.PixmapWidth, h.PixmapHeight)
	case uint64(h.BytesPerLine) < uint64(h.PixmapWidth)*uint64(h.BitsPerPixel/8):
		return nil, fmt.Errorf("xwd: %d bytes per line cannot hold %d pixels of %d bits", h.BytesPerLine, h.PixmapWidth, h.BitsPerPixel)
	}
	name := b[xwdHeaderSize:h.HeaderSize]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	x.Name = string(name)
	rest := b[h.HeaderSize:]
	if uint64(h.NColors)*xwdColourSize > uint64(len(rest)) {
		return nil, fmt.Errorf("xwd: %d colour-map entries need %d bytes, %d left", h.NColors, uint64(h.NColors)*xwdColourSize, len(rest))
	}
	x.Colours = make([]xwdColour, h.NColors)
	if err := binary.Read(bytes.NewReader(rest[:h.NColors*xwdColourSize]), binary.BigEndian, x.Colours); err != nil {
		return nil, fmt.Errorf("xwd: colour map: %w", err)
	}
	rest = rest[h.NColors*xwdColourSize:]
	need := uint64(h.BytesPerLine) * uint64(h.PixmapHeight)
	if need > uint64(len(rest)) {
		return nil, fmt.Errorf("xwd: %d rows of %d bytes need %d bytes, %d left", h.PixmapHeight, h.BytesPerLine, need, len(rest))
	}
	x.Data = rest[:need]
	return &x, nil
}

// encode writes x as an XWD file, the header's sizes and counts taken from
// the fields it describes.
func (x *xwdImage) encode() []byte {
	h := x.xwdHeader
	h.HeaderSize = uint32(xwdHeaderSize + len(x.Name) + 1)
	h.FileVersion = xwdVersion
	h.NColors = uint32(len(x.Colours))
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, &h) // writes to a bytes.Buffer cannot fail
	b.WriteString(x.Name)
	b.WriteByte(0)
	_ = binary.Write(&b, binary.BigEndian, x.Colours)
	b.Write(x.Data)
	return b.Bytes()
}

// pixel returns the pixel value at (px, py), which must lie in the image.
func (x *xwdImage) pixel(px, py int) uint32 {
	bpp := int(x.BitsPerPixel / 8)
	p := x.Data[py*int(x.BytesPerLine)+px*bpp:][:bpp]
	var v uint32
	for i := range bpp {
		if x.ByteOrder == msbFirst {
			v = v<<8 | uint32(p[i])
		} else {
			v |= uint32(p[i]) << (8 * i)
		}
	}
	return v
}

// setPixel stores the pixel value v at (px, py), which must lie in the image.
func (x *xwdImage) setPixel(px, py int, v uint32) {
	bpp := int(x.BitsPerPixel / 8)
	p := x.Data[py*int(x.BytesPerLine)+px*bpp:][:bpp]
	for i := range bpp {
		if x.ByteOrder == msbFirst {
			p[bpp-1-i] = byte(v >> (8 * i))
		} else {
			p[i] = byte(v >> (8 * i))
		}
	}
}

// channelTables return, for each of red, green and blue of a TrueColor or
// DirectColor visual, the 8-bit colour of every value the channel can take.
// They come from the colour map xwd saved when it has one: xwd stores entry
// i with every channel set to i, and the X server's answer for it is the
// truth. Without one, values are scaled to 0..255.
func (x *xwdImage) channelTables() (tables [3][]uint8, err error) {
	masks := [3]uint32{x.RedMask, x.GreenMask, x.BlueMask}
	for c, mask := range masks {
		if mask == 0 || bits.OnesCount32(mask) > 16 || bits.OnesCount32(mask>>bits.TrailingZeros32(mask)+1) != 1 {
			return tables, fmt.Errorf("xwd: colour mask %#x is not one run of bits", mask)
		}
		shift := bits.TrailingZeros32(mask)
		maxV := mask >> shift
		t := make([]uint8, maxV+1)
		for v := range t {
			if v < len(x.Colours) && (x.Colours[v].Pixel&mask)>>shift == uint32(v) {
				t[v] = uint8(colourChannel(x.Colours[v], c) >> 8)
			} else {
				t[v] = uint8((uint32(v)*255 + maxV/2) / maxV)
			}
		}
		tables[c] = t
	}
	return tables, nil
}

func colourChannel(c xwdColour, channel int) uint16 {
	switch channel {
	case 0:
		return c.R
	case 1:
		return c.G
	}
	return c.B
}

// rgba converts the image to 8-bit RGB the way the X server would show it:
// through the masks for TrueColor and DirectColor, through the colour map
// for the other classes.
func (x *xwdImage) rgba() (*image.RGBA, error) {
	w, h := int(x.PixmapWidth), int(x.PixmapHeight)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	set := func(px, py int, r, g, b uint8) {
		o := img.PixOffset(px, py)
		img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = r, g, b, 0xff
	}
	switch x.VisualClass {
	case trueColor, directColor:
		tables, err := x.channelTables()
		if err != nil {
			return nil, err
		}
		masks := [3]uint32{x.RedMask, x.GreenMask, x.BlueMask}
		var shifts [3]int
		for c, m := range masks {
			shifts[c] = bits.TrailingZeros32(m)
		}
		for py := range h {
			for px := range w {
				v := x.pixel(px, py)
				set(px, py,
					tables[0][(v&masks[0])>>shifts[0]],
					tables[1][(v&masks[1])>>shifts[1]],
					tables[2][(v&masks[2])>>shifts[2]])
			}
		}
	default:
		byPixel := make(map[uint32]xwdColour, len(x.Colours))
		for _, c := range x.Colours {
			byPixel[c.Pixel] = c
		}
		for py := range h {
			for px := range w {
				v := x.pixel(px, py)
				c, ok := byPixel[v]
				if !ok {
					return nil, fmt.Errorf("xwd: pixel (%d,%d) is %d, which the colour map of %d entries lacks", px, py, v, len(x.Colours))
				}
				set(px, py, uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8))
			}
		}
	}
	return img, nil
}
