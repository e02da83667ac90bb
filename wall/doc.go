// Package wall is the hub of kioskwall: it holds one supervised RFB session
// per kiosk, turns what arrives into thumbnails, keeps the latest tile of each
// kiosk, streams tiles to wall pages, and serves the live view of a kiosk to
// noVNC over the same kiosk connection.
//
// Data flows one way: kiosk -> rfb -> thumbs -> wall -> browser.
package wall
