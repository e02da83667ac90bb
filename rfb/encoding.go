package rfb

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
)

// Encoding is an RFB encoding type, including pseudo-encodings.
type Encoding int32

// Encodings kioskwall decodes (and partly encodes).
const (
	EncRaw      Encoding = 0
	EncCopyRect Encoding = 1
	EncRRE      Encoding = 2
	EncCoRRE    Encoding = 4
	EncHextile  Encoding = 5
	EncZlib     Encoding = 6
	EncTight    Encoding = 7
	EncZRLE     Encoding = 16
)

// Pseudo-encodings.
const (
	EncDesktopSize         Encoding = -223
	EncLastRect            Encoding = -224
	EncCursor              Encoding = -239
	EncDesktopName         Encoding = -307
	EncExtendedDesktopSize Encoding = -308
	// EncQualityLevel0 + q for q in 0..9 asks for JPEG quality q.
	EncQualityLevel0 Encoding = -32
	// EncCompressLevel0 + c for c in 0..9 asks for zlib level c.
	EncCompressLevel0 Encoding = -256
	// EncFineQuality0 + q for q in 0..100 is TigerVNC's fine JPEG quality.
	EncFineQuality0 Encoding = -512
	// EncSubsamp1X .. EncSubsamp16X are TigerVNC's chroma subsampling levels.
	EncSubsamp1X   Encoding = -768
	EncSubsamp4X   Encoding = -767
	EncSubsamp2X   Encoding = -766
	EncSubsampGray Encoding = -765
	EncSubsamp8X   Encoding = -764
	EncSubsamp16X  Encoding = -763
)

var encodingNames = map[Encoding]string{
	EncRaw: "raw", EncCopyRect: "copyrect", EncRRE: "rre", EncCoRRE: "corre", EncHextile: "hextile",
	EncZlib: "zlib", EncTight: "tight", EncZRLE: "zrle",
	EncDesktopSize: "desktop-size", EncLastRect: "last-rect", EncCursor: "cursor",
	EncDesktopName: "desktop-name", EncExtendedDesktopSize: "extended-desktop-size",
}

// String returns the short lowercase name used on the command line.
func (e Encoding) String() string {
	if n, ok := encodingNames[e]; ok {
		return n
	}
	switch {
	case e >= EncQualityLevel0 && e <= EncQualityLevel0+9:
		return fmt.Sprintf("quality-%d", e-EncQualityLevel0)
	case e >= EncCompressLevel0 && e <= EncCompressLevel0+9:
		return fmt.Sprintf("compress-%d", e-EncCompressLevel0)
	case e >= EncFineQuality0 && e <= EncFineQuality0+100:
		return fmt.Sprintf("fine-quality-%d", e-EncFineQuality0)
	}
	return fmt.Sprintf("encoding(%d)", int32(e))
}

// ParseEncoding maps a name such as "tight" to its Encoding.
func ParseEncoding(name string) (Encoding, error) {
	for e, n := range encodingNames {
		if n == name && e >= 0 {
			return e, nil
		}
	}
	return 0, fmt.Errorf("rfb: unknown encoding %q (known: raw, copyrect, rre, corre, hextile, zlib, tight, zrle)", name)
}

// decoder decodes the payload of one rectangle of one encoding. A Client holds
// one of each, so that encodings with state (zlib streams) keep it for the
// life of the connection, and scratch buffers are reused across rectangles.
//
// decode reads exactly the rectangle's payload from in and draws it into fb,
// whose pixel format is pf. r lies inside the framebuffer: the caller checked.
// Every length and count read from in must be checked before use, and no
// allocation may be sized by a number the server sent beyond what r needs.
type decoder interface {
	decode(in *bufio.Reader, pf PixelFormat, r image.Rectangle, fb Framebuffer) error
}

// newDecoders returns a fresh decoder for every pixel encoding the client speaks.
func newDecoders() map[Encoding]decoder {
	return map[Encoding]decoder{
		EncRaw:      &rawDecoder{},
		EncCopyRect: &copyRectDecoder{},
		EncRRE:      &rreDecoder{},
		EncCoRRE:    &rreDecoder{compact: true},
		EncHextile:  &hextileDecoder{},
		EncZlib:     &zlibDecoder{},
		EncZRLE:     &zrleDecoder{},
		EncTight:    &tightDecoder{},
	}
}

// EncodeOptions carry what the client asked for with pseudo-encodings.
type EncodeOptions struct {
	Quality     int // JPEG quality 0..100 (TigerVNC fine scale); -1 means lossless only
	Compression int // zlib level 0..9
}

// encoder writes rectangles of one encoding, for the server side. A server
// connection holds one of each it offers, so zlib streams persist.
//
// encode writes r as one or more complete rectangles (each with its 12-byte
// header) to w and returns how many it wrote. pix holds r's pixels, packed,
// in pf.
type encoder interface {
	encode(w *bytes.Buffer, pf PixelFormat, r image.Rectangle, pix []byte, opts EncodeOptions) (int, error)
}

// newEncoders returns a fresh encoder for every encoding the server side offers.
func newEncoders() map[Encoding]encoder {
	return map[Encoding]encoder{
		EncRaw:     &rawEncoder{},
		EncHextile: &hextileEncoder{},
		EncZRLE:    &zrleEncoder{},
		EncTight:   &tightEncoder{},
	}
}
