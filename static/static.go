// Package static holds the pages kioskwall serves, embedded into the binary
// so that a single file is the whole server.
//
// Paths in FS are the URL paths below the server's root: wall.html is served
// at "/", every other file under its own name ("/wall.js").
package static

import (
	"embed"
	"io/fs"
)

// One embed line per group of pages; a new page adds its own line.
// vendor/novnc is noVNC for the live page, copied from the pinned npm package
// by scripts/vendor-novnc and not committed (its README keeps it non-empty,
// so a build without noVNC works and the live page says what is missing).
//
//go:embed wall.html wall.js wall.css
//go:embed kiosk.html kiosk.js kiosk.css
//go:embed vendor/novnc
var files embed.FS

// FS returns the embedded pages.
func FS() fs.FS { return files }
