package rfb

import (
	"encoding/binary"
	"fmt"
)

// PixelFormat describes how a pixel value is laid out on the wire, as in the
// RFB PIXEL_FORMAT structure. It owns every conversion between pixel bytes,
// pixel values and RGB, so that decoders and encoders never reimplement them.
type PixelFormat struct {
	BitsPerPixel uint8 // 8, 16 or 32
	Depth        uint8
	BigEndian    bool
	TrueColour   bool
	RedMax       uint16
	GreenMax     uint16
	BlueMax      uint16
	RedShift     uint8
	GreenShift   uint8
	BlueShift    uint8
}

// Common pixel formats. Format32 is what kioskwall asks for when it wants full
// colour; Format16 and Format8 trade colour depth for bytes on narrow lines.
var (
	Format32 = PixelFormat{BitsPerPixel: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 16, GreenShift: 8, BlueShift: 0}
	Format16 = PixelFormat{BitsPerPixel: 16, Depth: 16, TrueColour: true, RedMax: 31, GreenMax: 63, BlueMax: 31, RedShift: 11, GreenShift: 5, BlueShift: 0}
	Format15 = PixelFormat{BitsPerPixel: 16, Depth: 15, TrueColour: true, RedMax: 31, GreenMax: 31, BlueMax: 31, RedShift: 10, GreenShift: 5, BlueShift: 0}
	// Format8 is BGR233: the 8-bit true-colour format TigerVNC and libvncserver use.
	Format8 = PixelFormat{BitsPerPixel: 8, Depth: 8, TrueColour: true, RedMax: 7, GreenMax: 7, BlueMax: 3, RedShift: 0, GreenShift: 3, BlueShift: 6}
)

// ColourMapped returns an 8 bpp palette format, whose pixels index the colour map
// the server sends with SetColourMapEntries.
func ColourMapped() PixelFormat { return PixelFormat{BitsPerPixel: 8, Depth: 8} }

// BytesPerPixel is the size of one PIXEL on the wire.
func (pf PixelFormat) BytesPerPixel() int { return int(pf.BitsPerPixel) / 8 }

// Validate reports whether the format is one kioskwall can decode and encode.
// A server may send any PIXEL_FORMAT; rejecting nonsense here keeps every
// conversion below free of checks.
func (pf PixelFormat) Validate() error {
	switch pf.BitsPerPixel {
	case 8, 16, 32:
	default:
		return fmt.Errorf("rfb: pixel format has %d bits per pixel; only 8, 16 and 32 are valid", pf.BitsPerPixel)
	}
	if pf.Depth == 0 || pf.Depth > pf.BitsPerPixel {
		return fmt.Errorf("rfb: pixel format depth %d does not fit in %d bits per pixel", pf.Depth, pf.BitsPerPixel)
	}
	if !pf.TrueColour {
		if pf.BitsPerPixel != 8 {
			return fmt.Errorf("rfb: colour-mapped pixel format with %d bits per pixel; only 8 is supported", pf.BitsPerPixel)
		}
		return nil
	}
	for _, c := range []struct {
		name  string
		max   uint16
		shift uint8
	}{{"red", pf.RedMax, pf.RedShift}, {"green", pf.GreenMax, pf.GreenShift}, {"blue", pf.BlueMax, pf.BlueShift}} {
		if c.max == 0 || c.max&(c.max+1) != 0 {
			return fmt.Errorf("rfb: pixel format %s-max %d is not one less than a power of two", c.name, c.max)
		}
		if int(c.shift)+bitLen(c.max) > int(pf.BitsPerPixel) {
			return fmt.Errorf("rfb: pixel format %s channel (max %d, shift %d) does not fit in %d bits", c.name, c.max, c.shift, pf.BitsPerPixel)
		}
	}
	return nil
}

func bitLen(max uint16) int {
	n := 0
	for max != 0 {
		n++
		max >>= 1
	}
	return n
}

// String describes the format for logs and the check command.
func (pf PixelFormat) String() string {
	if !pf.TrueColour {
		return fmt.Sprintf("%dbpp colour-mapped", pf.BitsPerPixel)
	}
	end := "le"
	if pf.BigEndian {
		end = "be"
	}
	return fmt.Sprintf("%dbpp depth %d %s rgb max %d/%d/%d shift %d/%d/%d", pf.BitsPerPixel, pf.Depth, end,
		pf.RedMax, pf.GreenMax, pf.BlueMax, pf.RedShift, pf.GreenShift, pf.BlueShift)
}

// Marshal returns the 16-byte PIXEL_FORMAT structure.
func (pf PixelFormat) Marshal() [16]byte {
	var b [16]byte
	b[0] = pf.BitsPerPixel
	b[1] = pf.Depth
	b[2] = boolByte(pf.BigEndian)
	b[3] = boolByte(pf.TrueColour)
	binary.BigEndian.PutUint16(b[4:], pf.RedMax)
	binary.BigEndian.PutUint16(b[6:], pf.GreenMax)
	binary.BigEndian.PutUint16(b[8:], pf.BlueMax)
	b[10] = pf.RedShift
	b[11] = pf.GreenShift
	b[12] = pf.BlueShift
	return b
}

// UnmarshalPixelFormat parses a 16-byte PIXEL_FORMAT structure. It does not
// validate; call Validate.
func UnmarshalPixelFormat(b []byte) PixelFormat {
	_ = b[15]
	return PixelFormat{
		BitsPerPixel: b[0],
		Depth:        b[1],
		BigEndian:    b[2] != 0,
		TrueColour:   b[3] != 0,
		RedMax:       binary.BigEndian.Uint16(b[4:]),
		GreenMax:     binary.BigEndian.Uint16(b[6:]),
		BlueMax:      binary.BigEndian.Uint16(b[8:]),
		RedShift:     b[10],
		GreenShift:   b[11],
		BlueShift:    b[12],
	}
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// Pixel reads one pixel value from b, which holds at least BytesPerPixel bytes.
func (pf PixelFormat) Pixel(b []byte) uint32 {
	switch pf.BitsPerPixel {
	case 8:
		return uint32(b[0])
	case 16:
		if pf.BigEndian {
			return uint32(binary.BigEndian.Uint16(b))
		}
		return uint32(binary.LittleEndian.Uint16(b))
	default:
		if pf.BigEndian {
			return binary.BigEndian.Uint32(b)
		}
		return binary.LittleEndian.Uint32(b)
	}
}

// PutPixel writes pixel value v into b in this format's byte order.
func (pf PixelFormat) PutPixel(b []byte, v uint32) {
	switch pf.BitsPerPixel {
	case 8:
		b[0] = byte(v)
	case 16:
		if pf.BigEndian {
			binary.BigEndian.PutUint16(b, uint16(v))
		} else {
			binary.LittleEndian.PutUint16(b, uint16(v))
		}
	default:
		if pf.BigEndian {
			binary.BigEndian.PutUint32(b, v)
		} else {
			binary.LittleEndian.PutUint32(b, v)
		}
	}
}

// RGB converts a true-colour pixel value to 8-bit channels, scaling each
// channel's full range to 0..255. Colour-mapped formats are resolved by the
// colour map, not here; RGB returns grey levels of the index for them.
func (pf PixelFormat) RGB(v uint32) (r, g, b uint8) {
	if !pf.TrueColour {
		return uint8(v), uint8(v), uint8(v)
	}
	return scale8(v>>pf.RedShift, pf.RedMax), scale8(v>>pf.GreenShift, pf.GreenMax), scale8(v>>pf.BlueShift, pf.BlueMax)
}

func scale8(v uint32, max uint16) uint8 {
	v &= uint32(max)
	if max == 255 {
		return uint8(v)
	}
	return uint8((v*255 + uint32(max)/2) / uint32(max))
}

// FromRGB converts 8-bit channels to the nearest true-colour pixel value.
func (pf PixelFormat) FromRGB(r, g, b uint8) uint32 {
	return scaleTo(r, pf.RedMax)<<pf.RedShift | scaleTo(g, pf.GreenMax)<<pf.GreenShift | scaleTo(b, pf.BlueMax)<<pf.BlueShift
}

func scaleTo(c uint8, max uint16) uint32 {
	if max == 255 {
		return uint32(c)
	}
	return (uint32(c)*uint32(max) + 127) / 255
}

// compactFit says where a 32 bpp pixel's colour bits live, for the 3-byte
// CPIXEL of ZRLE and TRLE: 1 in the least significant three bytes, 2 in the
// most significant three, 0 when a CPIXEL is a whole PIXEL.
func (pf PixelFormat) compactFit() int {
	if !pf.TrueColour || pf.BitsPerPixel != 32 || pf.Depth > 24 {
		return 0
	}
	mask := uint32(pf.RedMax)<<pf.RedShift | uint32(pf.GreenMax)<<pf.GreenShift | uint32(pf.BlueMax)<<pf.BlueShift
	switch {
	case mask&0xff000000 == 0:
		return 1
	case mask&0x000000ff == 0:
		return 2
	}
	return 0
}

// CompactSize is the size of a CPIXEL (ZRLE, TRLE): 3 bytes for a 32 bpp
// true-colour format whose colours fit in three bytes, otherwise BytesPerPixel.
func (pf PixelFormat) CompactSize() int {
	if pf.compactFit() != 0 {
		return 3
	}
	return pf.BytesPerPixel()
}

// compactOffset is where a CPIXEL's bytes sit inside the PIXEL's bytes.
func (pf PixelFormat) compactOffset() int {
	fit := pf.compactFit()
	// Least significant bytes come first in little endian.
	if (fit == 1) == pf.BigEndian {
		return 1
	}
	return 0
}

// ExpandCompact converts one CPIXEL in src to a PIXEL in dst.
func (pf PixelFormat) ExpandCompact(dst, src []byte) {
	if pf.compactFit() == 0 {
		copy(dst[:pf.BytesPerPixel()], src)
		return
	}
	dst[0], dst[1], dst[2], dst[3] = 0, 0, 0, 0
	copy(dst[pf.compactOffset():], src[:3])
}

// ShrinkCompact converts one PIXEL in src to a CPIXEL in dst.
func (pf PixelFormat) ShrinkCompact(dst, src []byte) {
	if pf.compactFit() == 0 {
		copy(dst, src[:pf.BytesPerPixel()])
		return
	}
	o := pf.compactOffset()
	copy(dst[:3], src[o:o+3])
}

// TightRGB reports whether Tight sends this format's pixels as 3-byte RGB
// TPIXELs: 32 bpp, depth 24, 8 bits per channel.
func (pf PixelFormat) TightRGB() bool {
	return pf.TrueColour && pf.BitsPerPixel == 32 && pf.Depth == 24 &&
		pf.RedMax == 255 && pf.GreenMax == 255 && pf.BlueMax == 255
}

// TightPixelSize is the size of a TPIXEL in the Tight encoding.
func (pf PixelFormat) TightPixelSize() int {
	if pf.TightRGB() {
		return 3
	}
	return pf.BytesPerPixel()
}

// ExpandTight converts one TPIXEL in src to a PIXEL in dst.
func (pf PixelFormat) ExpandTight(dst, src []byte) {
	if !pf.TightRGB() {
		copy(dst[:pf.BytesPerPixel()], src)
		return
	}
	pf.PutPixel(dst, pf.FromRGB(src[0], src[1], src[2]))
}

// ShrinkTight converts one PIXEL in src to a TPIXEL in dst.
func (pf PixelFormat) ShrinkTight(dst, src []byte) {
	if !pf.TightRGB() {
		copy(dst, src[:pf.BytesPerPixel()])
		return
	}
	dst[0], dst[1], dst[2] = pf.RGB(pf.Pixel(src))
}
