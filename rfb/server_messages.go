package rfb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
)

// Client message types.
const (
	msgSetPixelFormat   = 0
	msgSetEncodings     = 2
	msgUpdateRequest    = 3
	msgKeyEvent         = 4
	msgPointerEvent     = 5
	msgClientCutText    = 6
	msgSetDesktopSize   = 251
	setDesktopSizeBytes = 7 // after the type byte, before the screens
)

// clientMessage is a parsed client message that changes session state; the
// reading goroutine hands it to the goroutine running Serve. Input events
// go straight to OnInput instead.
type clientMessage struct {
	typ         byte
	pf          PixelFormat     // SetPixelFormat
	prefs       encodingPrefs   // SetEncodings
	incremental bool            // FramebufferUpdateRequest
	area        image.Rectangle // FramebufferUpdateRequest
	err         error           // the connection ended or the client broke the protocol
}

// encodingPrefs is what a SetEncodings message means for this server.
type encodingPrefs struct {
	pixel          Encoding // the pixel encoding to use
	copyRect       bool
	desktopSize    bool
	extDesktopSize bool
	lastRect       bool
	cursor         bool
	opts           EncodeOptions
}

// jpegQualityOfLevel maps the classic quality levels 0-9 to JPEG quality on
// the 0-100 scale, the mapping TigerVNC uses, so a client asking for a level
// gets what it would get from TigerVNC.
var jpegQualityOfLevel = [10]int{15, 29, 41, 42, 62, 77, 79, 86, 92, 100}

// defaultCompression is the zlib level for clients that ask for none: kiosk
// lines are narrow, so bytes matter more than server CPU.
const defaultCompression = 6

// defaultPrefs is what a client that never sends SetEncodings gets.
func defaultPrefs() encodingPrefs {
	return encodingPrefs{pixel: EncRaw, opts: EncodeOptions{Quality: -1, Compression: defaultCompression}}
}

// readLoop reads client messages until the connection fails, passing state
// changes to msgs and input to OnInput. It returns after delivering an error
// or when quit closes.
func (s *serverConn) readLoop(msgs chan<- clientMessage, quit <-chan struct{}) {
	for {
		m, err := s.readMessage()
		if err != nil {
			m = clientMessage{err: err}
		} else if m.typ == msgKeyEvent || m.typ == msgPointerEvent || m.typ == msgClientCutText {
			continue // delivered by readMessage
		}
		select {
		case msgs <- m:
		case <-quit:
			return
		}
		if err != nil {
			return
		}
	}
}

// readMessage reads one client message. io.EOF means the client left
// cleanly between messages.
func (s *serverConn) readMessage() (clientMessage, error) {
	t, err := s.in.ReadByte()
	if err != nil {
		return clientMessage{}, err
	}
	m := clientMessage{typ: t}
	switch t {
	case msgSetPixelFormat:
		err = s.readSetPixelFormat(&m)
	case msgSetEncodings:
		err = s.readSetEncodings(&m)
	case msgUpdateRequest:
		err = s.readUpdateRequest(&m)
	case msgKeyEvent:
		err = s.readKeyEvent()
	case msgPointerEvent:
		err = s.readPointerEvent()
	case msgClientCutText:
		err = s.readCutText()
	case msgSetDesktopSize:
		err = s.readSetDesktopSize()
	default:
		return m, protoErr("unknown client message type %d", t)
	}
	if err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			return m, protoErr("%s from the client: %s", clientMessageName(t), pe.Msg)
		}
		return m, fmt.Errorf("rfb: reading %s from the client: %w", clientMessageName(t), err)
	}
	return m, nil
}

func clientMessageName(t byte) string {
	switch t {
	case msgSetPixelFormat:
		return "SetPixelFormat"
	case msgSetEncodings:
		return "SetEncodings"
	case msgUpdateRequest:
		return "FramebufferUpdateRequest"
	case msgKeyEvent:
		return "KeyEvent"
	case msgPointerEvent:
		return "PointerEvent"
	case msgClientCutText:
		return "ClientCutText"
	case msgSetDesktopSize:
		return "SetDesktopSize"
	}
	return fmt.Sprintf("type %d", t)
}

func (s *serverConn) readSetPixelFormat(m *clientMessage) error {
	var b [19]byte
	if err := readFull(s.in, b[:]); err != nil {
		return err
	}
	m.pf = UnmarshalPixelFormat(b[3:])
	if err := m.pf.Validate(); err != nil {
		return &ProtocolError{Msg: err.Error()}
	}
	return nil
}

// readSetEncodings reads the list as it arrives, keeping only what it means
// for this server, so the count the client sends never sizes an allocation.
func (s *serverConn) readSetEncodings(m *clientMessage) error {
	var b [3]byte
	if err := readFull(s.in, b[:]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint16(b[1:]))
	p := defaultPrefs()
	pixelChosen, qualityLevel, fineQuality, compression := false, -1, -1, -1
	for i := 0; i < n; i++ {
		v, err := readU32(s.in)
		if err != nil {
			return err
		}
		e := Encoding(int32(v))
		switch {
		case e == EncCopyRect:
			p.copyRect = s.offered[EncCopyRect]
		case e >= 0:
			if !pixelChosen && s.offered[e] {
				p.pixel, pixelChosen = e, true
			}
		case e == EncDesktopSize:
			p.desktopSize = true
		case e == EncExtendedDesktopSize:
			p.extDesktopSize = true
		case e == EncLastRect:
			p.lastRect = true
		case e == EncCursor:
			p.cursor = true
		case e >= EncQualityLevel0 && e <= EncQualityLevel0+9:
			if qualityLevel < 0 {
				qualityLevel = int(e - EncQualityLevel0)
			}
		case e >= EncFineQuality0 && e <= EncFineQuality0+100:
			if fineQuality < 0 {
				fineQuality = int(e - EncFineQuality0)
			}
		case e >= EncCompressLevel0 && e <= EncCompressLevel0+9:
			if compression < 0 {
				compression = int(e - EncCompressLevel0)
			}
		}
	}
	// TigerVNC's fine quality wins over the classic level when both are sent.
	switch {
	case fineQuality >= 0:
		p.opts.Quality = fineQuality
	case qualityLevel >= 0:
		p.opts.Quality = jpegQualityOfLevel[qualityLevel]
	}
	if compression >= 0 {
		p.opts.Compression = compression
	}
	m.prefs = p
	return nil
}

func (s *serverConn) readUpdateRequest(m *clientMessage) error {
	var b [9]byte
	if err := readFull(s.in, b[:]); err != nil {
		return err
	}
	m.incremental = b[0] != 0
	x, y := int(binary.BigEndian.Uint16(b[1:])), int(binary.BigEndian.Uint16(b[3:]))
	w, h := int(binary.BigEndian.Uint16(b[5:])), int(binary.BigEndian.Uint16(b[7:]))
	m.area = image.Rect(x, y, x+w, y+h)
	return nil
}

func (s *serverConn) readKeyEvent() error {
	var b [7]byte
	if err := readFull(s.in, b[:]); err != nil {
		return err
	}
	s.input(InputEvent{Kind: InputKey, Down: b[0] != 0, Key: binary.BigEndian.Uint32(b[3:])})
	return nil
}

func (s *serverConn) readPointerEvent() error {
	var b [5]byte
	if err := readFull(s.in, b[:]); err != nil {
		return err
	}
	s.input(InputEvent{Kind: InputPointer, Buttons: b[0],
		X: int(binary.BigEndian.Uint16(b[1:])), Y: int(binary.BigEndian.Uint16(b[3:]))})
	return nil
}

// readCutText reads the text as it arrives, so memory follows the bytes the
// client really sends, not the length it claims.
func (s *serverConn) readCutText() error {
	var b [7]byte
	if err := readFull(s.in, b[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(b[3:])
	if n > maxClientCutText {
		return protoErr("cut text of %d bytes exceeds the %d-byte limit", n, maxClientCutText)
	}
	var text bytes.Buffer
	if _, err := io.CopyN(&text, s.in, int64(n)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	s.input(InputEvent{Kind: InputCutText, Text: latin1(text.Bytes())})
	return nil
}

// readSetDesktopSize reads and discards a resize request: kiosk screens have
// the size the kiosk has. The refusal goes out with the next update.
func (s *serverConn) readSetDesktopSize() error {
	var b [setDesktopSizeBytes]byte
	if err := readFull(s.in, b[:]); err != nil {
		return err
	}
	return discard(s.in, int(b[5])*16)
}

func (s *serverConn) input(ev InputEvent) {
	if s.cfg.OnInput != nil {
		s.cfg.OnInput(ev)
	}
}

// handle applies a state-changing client message.
func (s *serverConn) handle(m clientMessage) error {
	switch m.typ {
	case msgSetPixelFormat:
		return s.setPixelFormat(m.pf)
	case msgSetEncodings:
		if m.prefs.cursor && !s.prefs.cursor {
			s.sendCursor = true
		}
		s.prefs = m.prefs
	case msgUpdateRequest:
		s.request(m.incremental, m.area)
	case msgSetDesktopSize:
		if !s.prefs.extDesktopSize {
			return nil // only valid after an ExtendedDesktopSize rectangle; nothing to answer with
		}
		if s.edsReplies == maxSetDesktopSizeOwed {
			return protoErr("client sent %d SetDesktopSize messages without asking for an update", s.edsReplies+1)
		}
		s.edsReplies++
	}
	return nil
}

// setPixelFormat switches the client to pf from the next update on.
func (s *serverConn) setPixelFormat(pf PixelFormat) error {
	if !pf.TrueColour && s.desktopPF.TrueColour {
		return protoErr("client asked for a colour-mapped pixel format, but the desktop is %v; only true-colour formats can be served", s.desktopPF)
	}
	s.pf = pf
	s.conv.setup(s.desktopPF, s.pf, &s.palette)
	s.sendPalette = !pf.TrueColour
	return nil
}

// request records a FramebufferUpdateRequest, cropped to the desktop as the
// protocol asks. Requests accumulate until an update answers them.
func (s *serverConn) request(incremental bool, area image.Rectangle) {
	area = area.Intersect(image.Rect(0, 0, s.width, s.height))
	if !s.reqPending {
		s.req, s.reqPending = s.req[:0], true
	}
	s.req = addRequested(s.req, area)
	if !incremental {
		s.full = s.full.Union(area)
		s.fullPending = true
		if s.prefs.extDesktopSize {
			s.edsInitial = true
		}
	}
}

// maxRequestRects bounds the areas a connection remembers as asked for; a
// client asking for more pieces gets their bounding box.
const maxRequestRects = 16

// addRequested adds area to the requested region req.
func addRequested(req []image.Rectangle, area image.Rectangle) []image.Rectangle {
	if area.Empty() {
		return req
	}
	for _, r := range req {
		if area.In(r) {
			return req
		}
	}
	req = slices.DeleteFunc(req, func(r image.Rectangle) bool { return r.In(area) })
	req = append(req, area)
	if len(req) > maxRequestRects {
		box := image.Rectangle{}
		for _, r := range req {
			box = box.Union(r)
		}
		req = append(req[:0], box)
	}
	return req
}
