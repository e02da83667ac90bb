package sim

import (
	"encoding/binary"
	"fmt"
	"image"
	"strconv"
)

// clientParser follows the client-to-server half of an RFB session just far
// enough to see each FramebufferUpdateRequest and when it arrived: the
// client's handshake replies, then message by message, skipping what does
// not matter (encoding lists, cut text). It sees a copy of what rfb.Serve
// reads and never changes it; a stream it cannot follow is an error, and the
// caller stops watching that connection (rfb.Serve then ends the session
// with its own, better error).
type clientParser struct {
	password bool // the kiosk asks for VNC authentication, so a 3.3 client answers a challenge
	stage    parseStage
	head     [20]byte // the fixed part of the item being read
	have     int      // bytes of head read so far
	skip     int64    // bytes of a variable part still to pass over
}

type parseStage int

const (
	stageVersion  parseStage = iota // ProtocolVersion, "RFB 003.008\n"
	stageSecurity                   // 3.7 and 3.8: the security type the client chose
	stageAuth                       // the answer to the VNC authentication challenge
	stageInit                       // ClientInit, the shared flag
	stageMessage                    // client messages, from the type byte on
)

// RFB client message types the kiosks' server side reads, and the size of
// each one's fixed part, type byte included.
const (
	msgSetPixelFormat = 0
	msgSetEncodings   = 2
	msgUpdateRequest  = 3
	msgKeyEvent       = 4
	msgPointerEvent   = 5
	msgClientCutText  = 6
	msgSetDesktopSize = 251
)

var messageHead = map[byte]int{
	msgSetPixelFormat: 20, msgSetEncodings: 4, msgUpdateRequest: 10, msgKeyEvent: 8,
	msgPointerEvent: 6, msgClientCutText: 8, msgSetDesktopSize: 8,
}

// updateRequest is one FramebufferUpdateRequest as the client sent it.
type updateRequest struct {
	incremental bool
	area        image.Rectangle
}

// feed parses p, the next bytes the client sent, calling request for every
// update request completed in them.
func (p *clientParser) feed(b []byte, request func(updateRequest)) error {
	for len(b) > 0 {
		if p.skip > 0 {
			n := min(int64(len(b)), p.skip)
			p.skip -= n
			b = b[n:]
			continue
		}
		need := p.need()
		n := copy(p.head[p.have:need], b)
		p.have += n
		b = b[n:]
		if p.have < need {
			return nil
		}
		if err := p.complete(request); err != nil {
			return err
		}
	}
	return nil
}

// need is the size of the fixed part of the item being read, as far as its
// first bytes tell.
func (p *clientParser) need() int {
	switch p.stage {
	case stageVersion:
		return 12
	case stageAuth:
		return 16
	case stageMessage:
		if p.have == 0 {
			return 1
		}
		return messageHead[p.head[0]] // known: checked when the type byte arrived
	}
	return 1
}

// complete acts on a fixed part that has been read whole.
func (p *clientParser) complete(request func(updateRequest)) error {
	h := p.head[:p.have]
	next := stageMessage
	switch p.stage {
	case stageVersion:
		minor, err := strconv.Atoi(string(h[8:11]))
		if string(h[:8]) != "RFB 003." || h[11] != '\n' || err != nil {
			return fmt.Errorf("sim: client version %q is not RFB 3.x", h)
		}
		switch {
		case minor >= 7:
			next = stageSecurity
		case p.password:
			next = stageAuth // RFB 3.3: the server chose VNC authentication
		default:
			next = stageInit
		}
	case stageSecurity:
		switch h[0] {
		case 1: // None
			next = stageInit
		case 2: // VNC authentication
			next = stageAuth
		default:
			return fmt.Errorf("sim: client chose security type %d, which the kiosks do not offer", h[0])
		}
	case stageAuth:
		next = stageInit
	case stageMessage:
		if len(h) == 1 {
			if _, ok := messageHead[h[0]]; !ok {
				return fmt.Errorf("sim: client message type %d is not one the kiosks read", h[0])
			}
			return nil // the type is known: read the rest of the fixed part
		}
		switch h[0] {
		case msgSetEncodings:
			p.skip = 4 * int64(binary.BigEndian.Uint16(h[2:]))
		case msgClientCutText:
			p.skip = int64(binary.BigEndian.Uint32(h[4:]))
		case msgSetDesktopSize:
			p.skip = 16 * int64(h[6])
		case msgUpdateRequest:
			x, y := int(binary.BigEndian.Uint16(h[2:])), int(binary.BigEndian.Uint16(h[4:]))
			w, ht := int(binary.BigEndian.Uint16(h[6:])), int(binary.BigEndian.Uint16(h[8:]))
			request(updateRequest{incremental: h[1] != 0, area: image.Rect(x, y, x+w, y+ht)})
		}
	}
	p.stage, p.have = next, 0
	return nil
}
