// Package thumbs turns a kiosk's framebuffer into small JPEG thumbnails.
//
// A Thumbnailer keeps one downscaled copy of the screen (the master, at the
// largest rendition's size, in RGB). After each framebuffer update it
// downscales only the rectangles that changed into the master, and it encodes
// a JPEG for each rendition only when the picture changed since the last one,
// and then only the 16-pixel bands that changed (thumbs/rowjpeg keeps the
// others). So a static kiosk costs nothing, a ticking clock costs a few
// master pixels and one band of JPEG, and every wall viewer shares the same
// encoded bytes.
//
// thumbs knows nothing of WebSocket or HTTP: it hands out Frames, and the
// wall decides who gets them.
package thumbs
