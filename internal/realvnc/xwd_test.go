package realvnc

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"strings"
	"testing"
)

// testHeader lists an XWD header's 25 fields in file order, so that tests
// build files byte by byte without the code under test.
type testHeader struct {
	depth, width, height, byteOrder, bpp, bytesPerLine, class uint32
	red, green, blue                                          uint32
}

// testXWD builds an XWD file: header, name, colour map, pixel data.
func testXWD(h testHeader, name string, colours []xwdColour, data []byte) []byte {
	fields := []uint32{
		uint32(100 + len(name) + 1), 7, 2, h.depth, h.width, h.height, 0, h.byteOrder,
		32, h.byteOrder, 32, h.bpp, h.bytesPerLine, h.class,
		h.red, h.green, h.blue, 8, 256, uint32(len(colours)),
		h.width, h.height, 0, 0, 0,
	}
	var b []byte
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, f)
	}
	b = append(b, name...)
	b = append(b, 0)
	for _, c := range colours {
		b = binary.BigEndian.AppendUint32(b, c.Pixel)
		b = binary.BigEndian.AppendUint16(b, c.R)
		b = binary.BigEndian.AppendUint16(b, c.G)
		b = binary.BigEndian.AppendUint16(b, c.B)
		b = append(b, c.Flags, c.Pad)
	}
	return append(b, data...)
}

// xwdColourMap565 is the colour map xwd saves for an RGB565 TrueColor
// visual: entry i has every channel at i (wrapping), and colours chosen
// unlike any scaling so that a test sees whether the map was used.
func xwdColourMap565() []xwdColour {
	var cs []xwdColour
	for i := range 64 {
		pixel := uint32(i%32)<<11 | uint32(i)<<5 | uint32(i%32)
		cs = append(cs, xwdColour{Pixel: pixel,
			R: uint16(250-i) << 8, G: uint16(200-i) << 8, B: uint16(100+i) << 8, Flags: 7})
	}
	return cs
}

type rgb = [3]uint8

var xwdCases = []struct {
	name string
	file []byte
	want [][]rgb // rows of colours
}{
	{
		name: "32bpp LSBFirst TrueColor 888",
		file: testXWD(testHeader{24, 2, 2, lsbFirst, 32, 8, trueColor, 0xff0000, 0xff00, 0xff}, "root", nil, []byte{
			0x00, 0x00, 0xff, 0x00, 0x00, 0xff, 0x00, 0x00,
			0xff, 0x00, 0x00, 0x00, 0x56, 0x34, 0x12, 0x00,
		}),
		want: [][]rgb{{{255, 0, 0}, {0, 255, 0}}, {{0, 0, 255}, {0x12, 0x34, 0x56}}},
	},
	{
		name: "24bpp MSBFirst padded rows",
		file: testXWD(testHeader{24, 2, 1, msbFirst, 24, 8, trueColor, 0xff0000, 0xff00, 0xff}, "", nil, []byte{
			0xff, 0x80, 0x01, 0x00, 0x00, 0x00, 0xee, 0xee,
		}),
		want: [][]rgb{{{255, 128, 1}, {0, 0, 0}}},
	},
	{
		name: "16bpp MSBFirst 565 without colour map",
		file: testXWD(testHeader{16, 3, 1, msbFirst, 16, 8, trueColor, 0xf800, 0x7e0, 0x1f}, "x", nil, []byte{
			0xf8, 0x00, 0x07, 0xe0, 0x08, 0x41, 0xaa, 0xaa,
		}),
		// 0x0841 is r=1 g=2 b=1: 255/31 and 2*255/63, rounded.
		want: [][]rgb{{{255, 0, 0}, {0, 255, 0}, {8, 8, 8}}},
	},
	{
		name: "16bpp LSBFirst 565 through the colour map",
		file: testXWD(testHeader{16, 2, 1, lsbFirst, 16, 4, trueColor, 0xf800, 0x7e0, 0x1f}, "x",
			xwdColourMap565(), []byte{
				0x05, 0x1d, // r=3 g=40 b=5: 0x1d05
				0xff, 0xff, // r=31 g=63 b=31
			}),
		want: [][]rgb{{{250 - 3, 200 - 40, 100 + 5}, {250 - 31, 200 - 63, 100 + 31}}},
	},
	{
		name: "8bpp TrueColor BGR233",
		file: testXWD(testHeader{8, 3, 1, lsbFirst, 8, 4, trueColor, 0x07, 0x38, 0xc0}, "", nil, []byte{
			0xff, 0x01, 0x80, 0x00,
		}),
		// 0x01 is red 1 of 7; 0x80 is blue 2 of 3.
		want: [][]rgb{{{255, 255, 255}, {36, 0, 0}, {0, 0, 170}}},
	},
	{
		name: "8bpp PseudoColor",
		file: testXWD(testHeader{8, 2, 2, lsbFirst, 8, 4, pseudoColor, 0, 0, 0}, "pseudo",
			[]xwdColour{{Pixel: 7, R: 0x0a00, G: 0x1400, B: 0x1e00}, {Pixel: 200, R: 0xffff, G: 0x8000, B: 0x00ff}},
			[]byte{7, 200, 0, 0, 200, 200, 0, 0}),
		want: [][]rgb{{{10, 20, 30}, {255, 128, 0}}, {{255, 128, 0}, {255, 128, 0}}},
	},
}

func TestParseXWD(t *testing.T) {
	for _, tc := range xwdCases {
		t.Run(tc.name, func(t *testing.T) {
			x, err := parseXWD(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			img, err := x.rgba()
			if err != nil {
				t.Fatal(err)
			}
			if want := image.Rect(0, 0, len(tc.want[0]), len(tc.want)); img.Rect != want {
				t.Fatalf("image is %v, want %v", img.Rect, want)
			}
			for y, row := range tc.want {
				for x, w := range row {
					if got := img.RGBAAt(x, y); got != (color.RGBA{w[0], w[1], w[2], 0xff}) {
						t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, w)
					}
				}
			}
		})
	}
}

func TestParseXWDErrors(t *testing.T) {
	good := xwdCases[0].file
	withField := func(i int, v uint32) []byte {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(b[4*i:], v)
		return b
	}
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "shorter than"},
		{"header only half there", good[:50], "shorter than"},
		{"version 6", withField(1, 6), "file version 6"},
		{"XYPixmap", withField(2, 1), "pixmap format 1"},
		{"4 bits per pixel", withField(11, 4), "4 bits per pixel"},
		{"depth beyond bits per pixel", withField(3, 33), "depth 33"},
		{"byte order 2", withField(7, 2), "byte order 2"},
		{"header size past the end", withField(0, 1<<30), "header size"},
		{"short rows", withField(12, 4), "bytes per line"},
		{"truncated pixels", good[:len(good)-1], "need 16 bytes, 15 left"},
		{"colour map past the end", withField(19, 1000), "colour-map entries"},
		{"huge", testXWD(testHeader{24, 1 << 20, 1 << 20, lsbFirst, 32, 1 << 22, trueColor, 0xff0000, 0xff00, 0xff}, "", nil, nil), "too big"},
		// Files that parse but whose pixels cannot be read.
		{"pixel missing from the colour map",
			testXWD(testHeader{8, 1, 1, lsbFirst, 8, 4, pseudoColor, 0, 0, 0}, "",
				[]xwdColour{{Pixel: 1}}, []byte{9, 0, 0, 0}),
			"pixel (0,0) is 9"},
		{"mask in two runs",
			testXWD(testHeader{16, 1, 1, lsbFirst, 16, 4, trueColor, 0xf00f, 0x7e0, 0x10}, "", nil, []byte{0, 0, 0, 0}),
			"mask 0xf00f"},
		{"zero mask",
			testXWD(testHeader{16, 1, 1, lsbFirst, 16, 4, trueColor, 0xf800, 0, 0x1f}, "", nil, []byte{0, 0, 0, 0}),
			"mask 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, err := parseXWD(tc.file)
			if err == nil {
				_, err = x.rgba()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestPictureFor checks, without an X server, that the picture Show hands
// to xwud reads back as the colours Show then waits for, and that those are
// the nearest the visual has.
func TestPictureFor(t *testing.T) {
	roots := []struct {
		name      string
		root      []byte
		tolerance int
	}{
		{"TrueColor 888", xwdCases[0].file, 0},
		{"TrueColor 565 with colour map", xwdCases[3].file, -1}, // map colours are arbitrary
		{"TrueColor 565", xwdCases[2].file, 5},
		{"TrueColor BGR233", xwdCases[4].file, 43},
		{"PseudoColor", xwdCases[5].file, 26},
	}
	scene := Scene(61, 47)
	for _, tc := range roots {
		t.Run(tc.name, func(t *testing.T) {
			root, err := parseXWD(tc.root)
			if err != nil {
				t.Fatal(err)
			}
			pic, want, err := pictureFor(root, scene)
			if err != nil {
				t.Fatal(err)
			}
			back, err := parseXWD(pic.encode())
			if err != nil {
				t.Fatal(err)
			}
			if back.PixmapDepth != root.PixmapDepth || back.BitsPerPixel != root.BitsPerPixel {
				t.Errorf("picture is depth %d at %d bpp, the screen depth %d at %d bpp",
					back.PixmapDepth, back.BitsPerPixel, root.PixmapDepth, root.BitsPerPixel)
			}
			got, err := back.rgba()
			if err != nil {
				t.Fatal(err)
			}
			if d := compare(got, got.Rect, want, image.Point{}); d.count != 0 {
				t.Fatalf("picture reads back unlike what Show waits for: %v", d)
			}
			if tc.tolerance >= 0 {
				if d := within(want, want.Rect, scene, image.Point{}, tc.tolerance); d != "" {
					t.Fatalf("shown colours are not the nearest: %s", d)
				}
			}
		})
	}
}

// FuzzParseXWD feeds the reader broken dumps: it must return an error or an
// image, never panic, and what it reads must survive a write and a re-read.
func FuzzParseXWD(f *testing.F) {
	for _, tc := range xwdCases {
		f.Add(tc.file)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := parseXWD(b)
		if err != nil {
			return
		}
		img, err := x.rgba()
		if err != nil {
			return
		}
		if img.Rect.Dx() != int(x.PixmapWidth) || img.Rect.Dy() != int(x.PixmapHeight) {
			t.Fatalf("image is %v for a %dx%d dump", img.Rect, x.PixmapWidth, x.PixmapHeight)
		}
		again, err := parseXWD(x.encode())
		if err != nil {
			t.Fatalf("re-reading a written dump: %v", err)
		}
		img2, err := again.rgba()
		if err != nil {
			t.Fatalf("re-reading a written dump: %v", err)
		}
		if !bytes.Equal(img.Pix, img2.Pix) {
			t.Fatal("a written and re-read dump shows other colours")
		}
	})
}
