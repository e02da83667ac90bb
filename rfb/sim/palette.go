package sim

import "kioskwall/rfb"

// A kiosk desktop is colour-mapped (one byte a pixel) so that a thousand
// 1920x1080 desktops fit in one process. Every kiosk shares one fixed palette:
// the first entries are the named colours the screens are drawn with; the rest
// is a 6x6x6 colour cube and a grey ramp, so the colour map looks like what a
// real 256-colour server would send.
const (
	colBlack uint8 = iota
	colWhite
	colNavy       // header bar
	colBlue       // buttons, checked boxes
	colBlueDark   // button shadows and borders
	colAmber      // a selected button
	colAmberDark  // its shadow
	colBackground // page background
	colPanel      // list rows, cards
	colText
	colTextMuted
	colBorder
	colGreen // progress bar
	colGreenLight
	colRed
	colDialog
	colDialogTitle
	colDialogBorder
	colTeal
	colPurple
	colOrange
	colFooter
	colHeaderText
	colGrey // the Back button
	numNamedColours
)

var namedColours = [numNamedColours][3]uint8{
	colBlack:        {0, 0, 0},
	colWhite:        {255, 255, 255},
	colNavy:         {16, 52, 94},
	colBlue:         {30, 110, 190},
	colBlueDark:     {18, 74, 132},
	colAmber:        {255, 176, 32},
	colAmberDark:    {196, 126, 8},
	colBackground:   {236, 242, 248},
	colPanel:        {250, 251, 253},
	colText:         {40, 48, 60},
	colTextMuted:    {110, 120, 135},
	colBorder:       {190, 200, 212},
	colGreen:        {40, 160, 90},
	colGreenLight:   {218, 238, 226},
	colRed:          {200, 40, 40},
	colDialog:       {240, 240, 240},
	colDialogTitle:  {54, 112, 196},
	colDialogBorder: {96, 96, 96},
	colTeal:         {0, 122, 122},
	colPurple:       {104, 60, 148},
	colOrange:       {214, 120, 24},
	colFooter:       {218, 226, 236},
	colHeaderText:   {196, 216, 238},
	colGrey:         {120, 130, 142},
}

// palette returns the 256-entry colour map every kiosk uses.
func palette() []rfb.Colour {
	p := make([]rfb.Colour, 0, 256)
	add := func(r, g, b uint8) {
		p = append(p, rfb.Colour{R: uint16(r) * 257, G: uint16(g) * 257, B: uint16(b) * 257})
	}
	for _, c := range namedColours {
		add(c[0], c[1], c[2])
	}
	for r := 0; r < 6; r++ {
		for g := 0; g < 6; g++ {
			for b := 0; b < 6; b++ {
				add(uint8(r*51), uint8(g*51), uint8(b*51))
			}
		}
	}
	for i := 0; len(p) < 256; i++ {
		v := uint8(8 + i*10)
		add(v, v, v)
	}
	return p
}
