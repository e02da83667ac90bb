package sim

import (
	"fmt"
	"image"
)

// screen draws one kiosk's pages from a view. It holds what never changes
// for a kiosk: its size and the words in its header.
type screen struct {
	l        layout
	hospital string // "St. Mary's Hospital - West Campus"
	label    string // "Registration West 1 | K0001"
}

// placed is a button of the current page with where it is drawn.
type placed struct {
	kind  buttonKind
	r     image.Rectangle
	label string
}

// buttons lists the clickable buttons of v's page, in the order
// view.selected indexes them.
func (s *screen) buttons(v *view) []placed {
	switch v.page {
	case pageHome:
		b := make([]placed, len(services))
		for i, sv := range services {
			b[i] = placed{buttonService, s.l.homeButton(i), sv.button}
		}
		return b
	case pageService:
		return []placed{
			{buttonPrimary, s.l.primary(), services[v.service].action},
			{buttonBack, s.l.back(), "Back"},
		}
	case pageError:
		return []placed{{buttonOK, s.l.dialogOK(), "OK"}}
	}
	return nil
}

// draw paints the whole screen.
func (s *screen) draw(c canvas, v *view) {
	if v.page == pageBlack {
		c.fill(c.b.Bounds(), colBlack)
		return
	}
	s.drawHeader(c, v)
	s.drawBody(c, v)
}

func (s *screen) drawHeader(c canvas, v *view) {
	l := s.l
	c.fill(l.header(), colNavy)
	logo := l.logo()
	if side := min(logo.Dx(), logo.Dy()); logo.Dx() != logo.Dy() {
		// Keep the logo round on screens that are not 16:9.
		logo = image.Rect(logo.Min.X, logo.Min.Y, logo.Min.X+side, logo.Min.Y+side).Add(image.Pt(0, (logo.Dy()-side)/2))
	}
	c.disc(logo, colWhite)
	arm, bar := logo.Dx()/5, logo.Dx()*3/5
	mid := logo.Min.Add(image.Pt(logo.Dx()/2, logo.Dy()/2))
	c.fill(image.Rect(mid.X-bar/2, mid.Y-arm/2, mid.X+bar/2, mid.Y+arm/2+arm%2), colRed)
	c.fill(image.Rect(mid.X-arm/2, mid.Y-bar/2, mid.X+arm/2+arm%2, mid.Y+bar/2), colRed)
	c.textIn(l.hospital(), s.hospital, l.scale(3), colWhite, alignLeft)
	c.textIn(l.label(), s.label, l.scale(2), colHeaderText, alignRight)
	s.drawClock(c, v)
}

// drawClock repaints the clock and returns the area it changed: a clock tick
// is the smallest, most frequent change a kiosk makes.
func (s *screen) drawClock(c canvas, v *view) image.Rectangle {
	r := s.l.clock()
	c.fill(r, colNavy)
	c.textIn(r, v.clock, s.l.scale(4), colWhite, alignRight)
	return r
}

// drawBody paints everything below the header.
func (s *screen) drawBody(c canvas, v *view) {
	l := s.l
	switch v.page {
	case pageSlide:
		s.drawSlide(c, v)
		return
	case pageHome, pageError:
		c.fill(l.body(), colBackground)
		c.textIn(l.title(), "Welcome", l.scale(6), colNavy, alignLeft)
		c.textIn(l.subtitle(), "Please choose a service", l.scale(3), colTextMuted, alignLeft)
	case pageService:
		sv := services[v.service]
		c.fill(l.body(), colBackground)
		c.textIn(l.title(), sv.title, l.scale(6), colNavy, alignLeft)
		c.textIn(l.subtitle(), sv.subtitle, l.scale(3), colTextMuted, alignLeft)
		for i := range sv.options {
			s.drawOption(c, v, i)
		}
		s.drawProgress(c, v)
		s.drawStatus(c, v)
	}
	for i := range s.buttons(homeOf(v)) {
		s.drawButton(c, homeOf(v), i)
	}
	c.textIn(l.fieldLabel(), "Patient ID", l.scale(3), colTextMuted, alignLeft)
	s.drawField(c, v)
	f := l.footer()
	c.fill(f, colFooter)
	c.textIn(f.Inset(l.scale(16)), "Need help? Please ask at the front desk or call extension 2041.", l.scale(2), colTextMuted, alignLeft)
	c.textIn(f.Inset(l.scale(16)), "English | Espanol | Francais", l.scale(2), colBlue, alignRight)
	if v.page == pageError {
		s.drawDialog(c, v)
	}
}

// homeOf is the view whose buttons the page body shows: the error dialog
// sits over the home page, whose buttons no longer react.
func homeOf(v *view) *view {
	if v.page != pageError {
		return v
	}
	return &view{page: pageHome, selected: -1}
}

// drawButton repaints button i of v's page and returns the area it changed.
func (s *screen) drawButton(c canvas, v *view, i int) image.Rectangle {
	b := s.buttons(v)[i]
	on := v.selected == i
	if b.kind == buttonOK {
		fill, border, t := colDialog, colDialogBorder, s.l.scale(2)
		if on {
			fill, border, t = colPanel, colDialogTitle, s.l.scale(3)
		}
		c.fill(b.r, fill)
		c.frame(b.r, t, border)
		c.textIn(b.r, b.label, s.l.scale(2), colBlack, alignCenter)
		return b.r
	}
	face, shadow, ink := colBlue, colBlueDark, uint8(colWhite)
	if b.kind == buttonBack {
		face, shadow = colGrey, colText
	}
	if on {
		face, shadow, ink = colAmber, colAmberDark, colNavy
	}
	drop := s.l.scale(6)
	area := image.Rect(b.r.Min.X, b.r.Min.Y, b.r.Max.X, b.r.Max.Y+drop)
	rad := s.l.scale(24)
	c.fill(area, colBackground)
	c.roundRect(b.r.Add(image.Pt(0, drop)), rad, shadow)
	c.roundRect(b.r, rad, face)
	if b.kind != buttonService {
		c.textIn(b.r, b.label, s.l.scale(4), ink, alignCenter)
		return area
	}
	// Service buttons carry an icon: a disc with the service's initial.
	d := b.r.Dy() * 2 / 5
	icon := image.Rect(b.r.Min.X+d/4, b.r.Min.Y+(b.r.Dy()-d)/2, b.r.Min.X+d/4+d, b.r.Min.Y+(b.r.Dy()+d)/2)
	c.disc(icon, colWhite)
	c.textIn(icon, b.label[:1], s.l.scale(5), face, alignCenter)
	c.textIn(image.Rect(icon.Max.X+d/4, b.r.Min.Y, b.r.Max.X, b.r.Max.Y), b.label, s.l.scale(4), ink, alignLeft)
	return area
}

// drawField repaints the patient ID field with its caret.
func (s *screen) drawField(c canvas, v *view) image.Rectangle {
	r := s.l.field()
	c.fill(r, colWhite)
	c.frame(r, s.l.scale(3), colBorder)
	sc := s.l.scale(4)
	pad := s.l.scale(16)
	c.textIn(r.Inset(pad), string(v.field), sc, colText, alignLeft)
	x := r.Min.X + pad + textWidth(string(v.field), sc)
	top := r.Min.Y + (r.Dy()-glyphHeight*sc)/2
	c.fill(image.Rect(x+sc, top, x+sc+s.l.scale(3), top+glyphHeight*sc), colBlue)
	return r
}

// drawOption repaints option row i of a service page, ticked or not.
func (s *screen) drawOption(c canvas, v *view, i int) image.Rectangle {
	r := s.l.option(i)
	c.fill(r, colPanel)
	c.frame(r, s.l.scale(2), colBorder)
	side := r.Dy() / 2
	box := image.Rect(r.Min.X+side/2, r.Min.Y+side/2, r.Min.X+side/2+side, r.Min.Y+side/2+side)
	if v.checked&(1<<i) != 0 {
		c.fill(box, colBlue)
		// A tick: a short stroke down to the right, then a long one up.
		st := max(1, side/8)
		for k := 0; k < side/4; k++ {
			c.fill(image.Rect(box.Min.X+side/5+k, box.Min.Y+side/2+k, box.Min.X+side/5+k+st, box.Min.Y+side/2+k+st), colWhite)
		}
		for k := 0; k < side/2; k++ {
			c.fill(image.Rect(box.Min.X+side/5+side/4+k, box.Min.Y+side*3/4-k, box.Min.X+side/5+side/4+k+st, box.Min.Y+side*3/4-k+st), colWhite)
		}
	} else {
		c.fill(box, colWhite)
		c.frame(box, s.l.scale(3), colBorder)
	}
	c.textIn(image.Rect(box.Max.X+side/2, r.Min.Y, r.Max.X, r.Max.Y), services[v.service].options[i], s.l.scale(3), colText, alignLeft)
	return r
}

// drawProgress repaints the progress bar, or clears it when hidden.
func (s *screen) drawProgress(c canvas, v *view) image.Rectangle {
	r := s.l.progress()
	if v.progress < 0 {
		c.fill(r, colBackground)
		return r
	}
	c.fill(r, colGreenLight)
	done := r
	done.Max.X = r.Min.X + r.Dx()*min(v.progress, 100)/100
	c.fill(done, colGreen)
	c.frame(r, s.l.scale(2), colBorder)
	ink := uint8(colText)
	if v.progress >= 50 {
		ink = colWhite
	}
	c.textIn(r, fmt.Sprintf("%d%%", v.progress), s.l.scale(2), ink, alignCenter)
	return r
}

// drawStatus repaints the status line of a service page.
func (s *screen) drawStatus(c canvas, v *view) image.Rectangle {
	r := s.l.status()
	c.fill(r, colBackground)
	c.textIn(r, v.status, s.l.scale(3), colText, alignLeft)
	return r
}

func (s *screen) drawSlide(c canvas, v *view) {
	l := s.l
	sl := slides[v.slide]
	c.fill(l.body(), sl.bg)
	c.textIn(l.slideTitle(), sl.title, l.scale(8), colWhite, alignCenter)
	c.roundRect(l.slideCard(), l.scale(24), colWhite)
	for i, line := range sl.lines {
		c.textIn(l.slideLine(i), line, l.scale(4), colText, alignCenter)
	}
	for i := range slides {
		dot := colHeaderText
		if i == v.slide {
			dot = colWhite
		}
		c.disc(l.slideDot(i, len(slides)), dot)
	}
}

func (s *screen) drawDialog(c canvas, v *view) {
	l := s.l
	d := l.dialog()
	c.fill(d.Add(image.Pt(l.scale(8), l.scale(8))), colDialogBorder)
	c.fill(d, colDialog)
	c.frame(d, l.scale(2), colDialogBorder)
	c.fill(l.dialogTitle(), colDialogTitle)
	c.textIn(l.dialogTitle().Inset(l.scale(12)), "KioskApp.exe - Application Error", l.scale(2), colWhite, alignLeft)
	c.disc(l.dialogIcon(), colRed)
	c.textIn(l.dialogIcon(), "X", l.scale(4), colWhite, alignCenter)
	for i, line := range errorMessages[v.dialog] {
		c.textIn(l.dialogText(i), line, l.scale(2), colBlack, alignLeft)
	}
	s.drawButton(c, v, 0)
}
