package sim

import "image"

// layout places the parts of a kiosk screen. Screens are designed on a
// 1920x1080 grid and scaled to the desktop's size, so any configured size
// shows the same screen, only coarser or finer.
type layout struct{ w, h int }

const designW, designH = 1920, 1080

// rect scales a rectangle given in design coordinates.
func (l layout) rect(x0, y0, x1, y1 int) image.Rectangle {
	return image.Rect(x0*l.w/designW, y0*l.h/designH, x1*l.w/designW, y1*l.h/designH)
}

// scale converts a design text scale to this size's, never below one pixel.
func (l layout) scale(n int) int { return max(1, min(n*l.w/designW, n*l.h/designH)) }

func (l layout) header() image.Rectangle   { return l.rect(0, 0, 1920, 96) }
func (l layout) logo() image.Rectangle     { return l.rect(24, 16, 88, 80) }
func (l layout) hospital() image.Rectangle { return l.rect(108, 0, 1100, 96) }
func (l layout) label() image.Rectangle    { return l.rect(1000, 0, 1640, 96) }
func (l layout) clock() image.Rectangle    { return l.rect(1648, 18, 1904, 78) }

// body is everything below the header: what a page transition replaces.
func (l layout) body() image.Rectangle     { return l.rect(0, 96, 1920, 1080) }
func (l layout) title() image.Rectangle    { return l.rect(120, 120, 1800, 210) }
func (l layout) subtitle() image.Rectangle { return l.rect(120, 210, 1800, 260) }
func (l layout) footer() image.Rectangle   { return l.rect(0, 1000, 1920, 1080) }

// homeButton is the i-th service button, three to a row.
func (l layout) homeButton(i int) image.Rectangle {
	const x0, y0, w, h, gap = 120, 290, 533, 230, 40
	x, y := x0+(i%3)*(w+gap), y0+(i/3)*(h+gap)
	return l.rect(x, y, x+w, y+h)
}

func (l layout) fieldLabel() image.Rectangle { return l.rect(120, 830, 420, 910) }
func (l layout) field() image.Rectangle      { return l.rect(420, 830, 1100, 910) }

func (l layout) option(i int) image.Rectangle {
	y := 290 + i*100
	return l.rect(120, y, 1100, y+80)
}

func (l layout) primary() image.Rectangle  { return l.rect(1180, 290, 1800, 430) }
func (l layout) back() image.Rectangle     { return l.rect(1180, 460, 1800, 560) }
func (l layout) progress() image.Rectangle { return l.rect(1180, 600, 1800, 650) }
func (l layout) status() image.Rectangle   { return l.rect(120, 700, 1800, 790) }

func (l layout) dialog() image.Rectangle      { return l.rect(510, 320, 1410, 700) }
func (l layout) dialogTitle() image.Rectangle { return l.rect(510, 320, 1410, 368) }
func (l layout) dialogIcon() image.Rectangle  { return l.rect(550, 410, 630, 490) }
func (l layout) dialogText(line int) image.Rectangle {
	y := 410 + line*40
	return l.rect(660, y, 1390, y+40)
}
func (l layout) dialogOK() image.Rectangle { return l.rect(1220, 620, 1380, 676) }

func (l layout) slideTitle() image.Rectangle { return l.rect(120, 250, 1800, 380) }
func (l layout) slideCard() image.Rectangle  { return l.rect(160, 420, 1760, 700) }
func (l layout) slideLine(i int) image.Rectangle {
	y := 450 + i*80
	return l.rect(160, y, 1760, y+70)
}
func (l layout) slideDot(i, n int) image.Rectangle {
	x := 960 - n*30 + i*60
	return l.rect(x+10, 960, x+50, 1000)
}
