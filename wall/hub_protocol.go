package wall

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"kioskwall/rfb"
)

// TileProtocolVersion is the version of the wall stream protocol
// (docs/tile-protocol.md). It is announced in the hello message and repeated
// in every binary tile frame, so a campus node and a central wall of
// different releases can tell whether they understand each other.
const TileProtocolVersion = 1

// Fixed part of a binary tile frame's header: version, flags, header length,
// seq, updated, width, height, kiosk id length. The kiosk id, the rendition
// length and the rendition name follow; the JPEG starts at the header length.
const tileHeaderFixed = 25

// Header flag bits.
const tileFlagStale = 1 << 0

// maxNameBytes bounds kiosk ids and rendition names: their lengths travel in
// one byte of the tile header.
const maxNameBytes = 255

// appendTileHeader appends the binary header of a tile frame (layout in
// docs/tile-protocol.md). The caller has made sure that the kiosk id and the
// rendition name fit in maxNameBytes.
func appendTileHeader(b []byte, t *Tile) []byte {
	var flags byte
	if t.Stale {
		flags |= tileFlagStale
	}
	n := tileHeaderFixed + len(t.KioskID) + 1 + len(t.Rendition)
	var updated int64
	if !t.Updated.IsZero() {
		updated = t.Updated.UnixMilli()
	}
	b = append(b, TileProtocolVersion, flags)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = binary.BigEndian.AppendUint64(b, t.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(updated))
	b = binary.BigEndian.AppendUint16(b, uint16(t.Width))
	b = binary.BigEndian.AppendUint16(b, uint16(t.Height))
	b = append(b, byte(len(t.KioskID)))
	b = append(b, t.KioskID...)
	b = append(b, byte(len(t.Rendition)))
	return append(b, t.Rendition...)
}

// Messages the hub sends as JSON text frames.

type helloMsg struct {
	Type             string          `json:"type"` // "hello"
	Version          int             `json:"version"`
	Server           string          `json:"server"`
	Now              time.Time       `json:"now"`
	Renditions       []renditionInfo `json:"renditions"`
	MaxSubscriptions int             `json:"max_subscriptions"`
	MaxMessageBytes  int             `json:"max_message_bytes"`
	PingIntervalMS   int64           `json:"ping_interval_ms"`
}

type renditionInfo struct {
	Name   string `json:"name"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// kioskStatus is what a wall page knows of a kiosk it may not be showing:
// enough to group, filter and badge it. Comparable, so that the status poll
// can diff snapshots with ==.
type kioskStatus struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Site       string      `json:"site"`
	Kind       string      `json:"kind"`
	State      State       `json:"state"`
	Reason     rfb.Failure `json:"reason"`
	Message    string      `json:"message"`
	Since      time.Time   `json:"since"`
	LastUpdate jsonTime    `json:"last_update"`
	Stale      bool        `json:"stale"`
	Confirmed  jsonTime    `json:"confirmed"` // see pushWorthy for how current it is
	Overdue    bool        `json:"overdue"`
}

// jsonTime is a time that is null in JSON when zero, as the API contract
// says for last_update.
type jsonTime struct{ time.Time }

func (t jsonTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.Time)
}

type statusMsg struct {
	Type    string        `json:"type"` // "status"
	Full    bool          `json:"full"`
	Now     time.Time     `json:"now"`
	Kiosks  []kioskStatus `json:"kiosks"`
	Removed []string      `json:"removed,omitempty"`
}

type subscribedMsg struct {
	Type  string          `json:"type"` // "subscribed"
	Ref   json.RawMessage `json:"ref,omitempty"`
	Tiles int             `json:"tiles"`
}

type errorMsg struct {
	Type    string `json:"type"` // "error"
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Messages a page sends.

type clientMsg struct {
	Type  string          `json:"type"`
	Ref   json.RawMessage `json:"ref"`
	Tiles []tileRef       `json:"tiles"`
}

type tileRef struct {
	ID        string `json:"id"`
	Rendition string `json:"rendition"`
}

// maxRefBytes bounds the opaque ref a page may attach to a subscribe
// message; the hub echoes it.
const maxRefBytes = 128

// clientError is a message from a page that the hub will not accept. The
// page is told (an error message) and its connection closed; nothing else
// is affected.
type clientError struct {
	Code    string
	Message string
}

func (e *clientError) Error() string {
	return "wall page sent a bad message: " + e.Code + ": " + e.Message
}

func badMessage(code, format string, args ...any) *clientError {
	return &clientError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// parseClientMsg decodes and checks one message from a page. renditions
// are the names a subscription may ask for.
func parseClientMsg(data []byte, renditions []string, maxSubs int) (*clientMsg, error) {
	var m clientMsg
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, badMessage("bad_json", "message is not a JSON object as the tile protocol describes: %v", err)
	}
	switch m.Type {
	case "subscribe":
	case "":
		return nil, badMessage("bad_message", `message has no "type"`)
	default:
		return nil, badMessage("unknown_type", "message type %.40q is not part of tile protocol version %d (known: subscribe)", m.Type, TileProtocolVersion)
	}
	if len(m.Ref) > maxRefBytes {
		return nil, badMessage("bad_message", `"ref" is %d bytes long; the most is %d`, len(m.Ref), maxRefBytes)
	}
	if len(m.Tiles) > maxSubs {
		return nil, badMessage("too_many_tiles", "subscribe asks for %d tiles; a connection may subscribe to at most %d", len(m.Tiles), maxSubs)
	}
	for i, t := range m.Tiles {
		if t.ID == "" || len(t.ID) > maxNameBytes {
			return nil, badMessage("bad_tile", "tile %d: kiosk id must be 1 to %d bytes long, not %d", i, maxNameBytes, len(t.ID))
		}
		known := false
		for _, r := range renditions {
			known = known || r == t.Rendition
		}
		if !known {
			return nil, badMessage("bad_tile", "tile %d (kiosk %.64q): unknown rendition %.40q (known: %v)", i, t.ID, t.Rendition, renditions)
		}
	}
	return &m, nil
}
