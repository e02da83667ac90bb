package rfb

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"strings"
	"testing"
)

// zlibPayloads compresses each chunk into one zlib stream at level, with a
// sync flush after each, as a server sends successive Zlib rectangles, and
// returns each rectangle's payload (length and data).
func zlibPayloads(t *testing.T, level int, chunks ...[]byte) [][]byte {
	t.Helper()
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, level)
	if err != nil {
		t.Fatal(err)
	}
	var payloads [][]byte
	for _, c := range chunks {
		z.Reset()
		zw.Write(c)
		if err := zw.Flush(); err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, append(binary.BigEndian.AppendUint32(nil, uint32(z.Len())), z.Bytes()...))
	}
	return payloads
}

func TestZlibDecode(t *testing.T) {
	for _, f := range []namedFormat{{"bgr233", Format8}, {"rgb565be", bigEndian(Format16)}, {"rgb888le", Format32}} {
		for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.BestCompression} {
			t.Run(f.name+"/level "+string(rune('0'+level)), func(t *testing.T) {
				// Three rectangles of different pictures and sizes in one stream.
				pics := []picture{{"text", 70, 37, textScene}, {"noise", 33, 17, noiseScene}, {"gradient", 200, 90, gradientScene}}
				var chunks [][]byte
				for _, p := range pics {
					chunks = append(chunks, p.pixels(f.pf))
				}
				payloads := zlibPayloads(t, level, chunks...)
				d := &zlibDecoder{}
				for i, p := range pics {
					r := image.Rect(1, 2, 1+p.w, 2+p.h)
					fb := sentinelBuffer(p.w+3, p.h+3, f.pf)
					if err := decodePayload(d, f.pf, r, fb, payloads[i]); err != nil {
						t.Fatalf("rectangle %d (%s): %v", i, p.name, err)
					}
					if got := fb.ReadPixels(nil, r); !bytes.Equal(got, chunks[i]) {
						t.Fatalf("rectangle %d (%s): pixels differ at %s", i, p.name, firstDiff(got, chunks[i], f.pf, p.w))
					}
					if pt, bad := outsideChanged(fb, r); bad {
						t.Fatalf("rectangle %d (%s): pixel %v outside was written", i, p.name, pt)
					}
				}
			})
		}
	}
}

func TestZlibDecodeErrors(t *testing.T) {
	pf := Format16
	r := image.Rect(0, 0, 10, 4) // 80 bytes raw
	pix := picture{"gradient", 10, 4, gradientScene}.pixels(pf)
	valid := zlibPayloads(t, zlib.DefaultCompression, pix)[0]
	withLength := func(n uint32, data []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, n), data...) }
	tests := []struct {
		name    string
		payload []byte
		proto   bool // a protocol error rather than an I/O one
	}{
		{"length near 2^32", withLength(1<<32-1, nil), true},
		{"length one past the bound", withLength(uint32(deflateBound(len(pix))+1), nil), true},
		{"bad zlib header", withLength(4, []byte{0xff, 0xff, 0xff, 0xff}), true},
		{"corrupt deflate data", withLength(6, []byte{0x78, 0x9c, 0xff, 0xff, 0xff, 0xff}), true},
		{"data ends before the rectangle", zlibPayloads(t, zlib.DefaultCompression, pix[:79])[0], true},
		{"length says more than is sent", withLength(uint32(len(valid)), valid[4:]), false},
		{"no length", []byte{0, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodePayload(&zlibDecoder{}, pf, r, NewBuffer(10, 4, pf), tt.payload)
			if err == nil {
				t.Fatal("decoded without error")
			}
			if IsProtocolError(err) != tt.proto {
				t.Errorf("got %v; protocol error: %v, want %v", err, IsProtocolError(err), tt.proto)
			}
		})
	}
	assertTruncationsFail(t, func() decoder { return &zlibDecoder{} }, pf, r, valid)
}

// After a broken rectangle the stream cannot be trusted: later rectangles
// fail too, even when their own bytes are fine.
func TestZlibStreamStaysBroken(t *testing.T) {
	pf := Format8
	r := image.Rect(0, 0, 8, 8)
	chunks := [][]byte{bytes.Repeat([]byte{1}, 64), bytes.Repeat([]byte{2}, 64)}
	payloads := zlibPayloads(t, zlib.DefaultCompression, chunks...)
	d := &zlibDecoder{}
	fb := NewBuffer(8, 8, pf)
	broken := append([]byte(nil), payloads[0]...)
	broken[len(broken)-6] ^= 0xff // inside the deflate data
	if err := decodePayload(d, pf, r, fb, broken); err == nil {
		t.Fatal("corrupted rectangle decoded without error")
	}
	if err := decodePayload(d, pf, r, fb, payloads[1]); !IsProtocolError(err) {
		t.Errorf("rectangle after a broken one: got %v, want a protocol error", err)
	}
}

// Compressed bytes a rectangle leaves unused are kept for the next one, but
// only up to a bound.
func TestZlibLeftoverBound(t *testing.T) {
	// Big enough that deflateBound leaves room for more than maxZLeftover.
	const side = 600
	pf := Format32
	r := image.Rect(0, 0, side, side)
	pix := make([]byte, side*side*4)
	payload := zlibPayloads(t, zlib.BestSpeed, pix)[0]
	// Bytes after the rectangle's data that it does not need.
	junk := make([]byte, maxZLeftover+100)
	payload = append(payload, junk...)
	binary.BigEndian.PutUint32(payload, uint32(len(payload)-4))
	d := &zlibDecoder{}
	fb := NewBuffer(side, side, pf)
	if err := decodePayload(d, pf, r, fb, payload); err != nil {
		t.Fatalf("first rectangle: %v", err)
	}
	next := zlibPayloads(t, zlib.BestSpeed, pix)[0]
	if err := decodePayload(d, pf, r, fb, next); !IsProtocolError(err) || !strings.Contains(err.Error(), "left unused") {
		t.Errorf("rectangle after %d unused bytes: got %v, want a protocol error about them", len(junk), err)
	}
}

func TestZlibRoundTrip(t *testing.T) {
	for _, level := range []int{0, 1, 6, 9} {
		t.Run("level "+string(rune('0'+level)), func(t *testing.T) {
			roundTrip(t, func() encoder { return &zlibEncoder{} }, EncodeOptions{Compression: level})
		})
	}
}

// One encoder and one decoder for many rectangles: the stream persists.
func TestZlibPersistentStream(t *testing.T) {
	for _, f := range losslessFormats {
		t.Run(f.name, func(t *testing.T) {
			enc, dec := &zlibEncoder{}, newDecoders()
			first := 0
			for round := 0; round < 3; round++ {
				for _, p := range pictures {
					var out bytes.Buffer
					r := image.Rect(0, 0, p.w, p.h)
					pix := p.pixels(f.pf)
					if _, err := enc.encode(&out, f.pf, r, pix, EncodeOptions{Compression: 6}); err != nil {
						t.Fatal(err)
					}
					if round == 0 && p.name == "text" {
						first = out.Len()
					}
					if round == 2 && p.name == "text" && out.Len() >= first {
						// The second time, the stream's window already holds the text.
						t.Errorf("text again in the same stream: %d bytes, first time %d", out.Len(), first)
					}
					fb := NewBuffer(p.w, p.h, f.pf)
					if _, _, err := decodeMessage(dec, f.pf, fb, out.Bytes()); err != nil {
						t.Fatalf("round %d, %s: %v", round, p.name, err)
					}
					if got := fb.ReadPixels(nil, r); !bytes.Equal(got, pix) {
						t.Fatalf("round %d, %s: pixels differ at %s", round, p.name, firstDiff(got, pix, f.pf, p.w))
					}
				}
			}
		})
	}
}

func zlibSeeds(t testing.TB) [][]byte {
	return seedInputs(t, func() encoder { return &zlibEncoder{} })
}

func TestZlibFuzzCorpus(t *testing.T) {
	checkSeedCorpus(t, "FuzzZlib", zlibSeeds(t), func() decoder { return &zlibDecoder{} })
}

func FuzzZlib(f *testing.F) {
	fuzzDecoder(f, zlibSeeds(f), func() decoder { return &zlibDecoder{} }, func(dec decoder) error {
		d := dec.(*zlibDecoder)
		if err := scratchWithin("inflate", cap(d.buf), zlibChunk); err != nil {
			return err
		}
		return scratchWithin("compressed", cap(d.z.pending), maxZLeftover+deflateBound(fuzzMaxSide*fuzzMaxSide*4))
	})
}
