// Package rfb implements the Remote Framebuffer protocol (RFB, the protocol
// of VNC) on both sides: a client that holds a session to any kiosk VNC
// server, and the server half that synthetic kiosks and kioskwall's live view
// speak. It knows nothing of walls, thumbnails or HTTP.
//
// # Client
//
// Dial (or NewClient on a connection the caller made) runs the handshake:
// protocol 3.3, 3.7 or 3.8 (3.4-3.6 are spoken as 3.3, anything newer as
// 3.8), security types None, VNC authentication and Tight (without
// tunnelling). ClientInit always asks for a shared session, so kioskwall
// never disconnects another viewer. The client then never talks on its own:
// the caller sends FramebufferUpdateRequests when it decides to (Request) and
// reads server messages with Next, in a goroutine it owns. Writes are safe
// from any goroutine. The Client starts no goroutine.
//
// Pixels are decoded into a Framebuffer the caller provides and owns: the
// thumbnail pipeline, the snapshot command and the live view each keep pixels
// their own way. Buffer is a ready-made Framebuffer that keeps pixels in the
// negotiated pixel format.
//
// # Memory
//
// A 1920x1080 session holds the framebuffer, which the caller owns: with
// Buffer, 2.1 MB at 8 bpp, 4.1 MB at 16 bpp, 8.3 MB at 32 bpp. Keeping
// pixels in the negotiated format rather than converting to RGBA is what
// makes a thousand thumbnail sessions at 8 bpp fit in about 2 GB. The client's
// own state is small: a 32 KiB read buffer, per-decoder scratch of at most a
// few rows or one 64x64 tile, and one zlib window (about 40 KiB) for each
// compressed stream the server actually uses (Zlib: 1, ZRLE: 1, Tight: up to
// 4), allocated on first use. TestSessionMemory measures it on a synthetic
// kiosk's 1920x1080 screen at 8 bpp: about 70 KiB with Hextile, 115 KiB with
// ZRLE and 155 KiB with Tight (a replay, which carries one more 32 KiB read
// buffer than a live session).
//
// # Hostile servers
//
// Every length, count and rectangle a server sends is checked before use:
// rectangles must lie inside the framebuffer, palettes and run lengths inside
// their tile, compressed lengths inside what the rectangle can need, and
// inflated data is read only as far as the rectangle needs. A server that
// breaks the rules gets a *ProtocolError saying what was wrong; it never
// causes a panic or an allocation sized by a number it sent.
//
// # Encodings
//
// One file per encoding holds its decoder and, where kioskwall serves it, its
// encoder: raw.go, copyrect.go, rre.go (RRE and CoRRE), hextile.go, zlib.go,
// zrle.go and tight.go. Pseudo-encodings (DesktopSize, ExtendedDesktopSize,
// LastRect, Cursor, DesktopName, quality and compression levels) are handled
// in messages.go; PixelFormat owns every conversion between pixel bytes and
// colours.
package rfb
