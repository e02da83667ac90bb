package sim

// page is which screen a kiosk shows.
type page int

const (
	pageHome    page = iota // the service menu
	pageService             // one service's form
	pageSlide               // an information carousel slide
	pageError               // the home page under an error dialog
	pageBlack               // display off
)

// maxField bounds the patient ID field; typing more is ignored, like a
// kiosk form with a maximum length.
const maxField = 24

// view is everything a kiosk screen shows. The screen is drawn from it alone,
// so redrawing any part always agrees with the rest, whoever changed it (the
// script or a viewer's input).
type view struct {
	page     page
	service  int    // on pageService: index into services
	slide    int    // on pageSlide: index into slides
	selected int    // highlighted button on this page; -1 for none
	checked  uint8  // on pageService: bit i set when option i is ticked
	field    []byte // the patient ID field, at most maxField bytes
	progress int    // on pageService: percent done; -1 hides the bar
	status   string // on pageService: the line under the options
	clock    string // HH:MM:SS in the header
	dialog   int    // on pageError: index into errorMessages
}

// buttonKind says how a button looks.
type buttonKind int

const (
	buttonService buttonKind = iota // a service on the home page
	buttonPrimary                   // a service page's action
	buttonBack
	buttonOK // the error dialog's
)
