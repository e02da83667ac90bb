package sim

// The words on the screens: what a hospital's self-service kiosks offer.
// Text is ASCII only, because the kiosk font is.

// service is one of the functions on a kiosk's home page, and the page it opens.
type service struct {
	button   string // label on the home page
	title    string
	subtitle string
	options  []string // rows a patient ticks
	action   string   // the primary button
	working  string   // status while the progress bar runs
	done     string   // status when finished; %03d takes a number drawn by the script
}

var services = []service{
	{"Registration", "Registration", "Choose the department for today's visit",
		[]string{"Outpatient clinic", "Laboratory tests", "Radiology / X-ray", "Follow-up visit"},
		"Register", "Registering, please wait...", "Registered. Your queue number is A%03d."},
	{"Print reports", "Print your reports", "These reports are ready to print",
		[]string{"Blood test        12 Nov", "Chest X-ray       10 Nov", "Urine test        08 Nov", "ECG               02 Nov"},
		"Print", "Printing, please wait...", "Done. Take your %03d pages from the tray below."},
	{"Pay", "Payment", "Select the invoices to pay",
		[]string{"Consultation       25.00", "Laboratory         48.50", "Pharmacy           12.80", "Imaging           120.00"},
		"Pay by card", "Insert or tap your card...", "Payment approved. Receipt no. %03d."},
	{"Appointments", "Appointments", "Choose a time for your next visit",
		[]string{"Mon 09:30  Dr. Alvarez", "Tue 11:00  Dr. Chen", "Wed 14:15  Dr. Okafor", "Fri 08:45  Dr. Novak"},
		"Book", "Booking your appointment...", "Booked. Confirmation code B%03d."},
	{"Check-in", "Check-in", "Confirm your appointment today",
		[]string{"Cardiology         10:30", "Dermatology        11:15", "Physiotherapy      13:00", "Ophthalmology      15:45"},
		"Check in", "Checking you in...", "Checked in. Please wait in area %03d."},
	{"Information", "Information", "Where would you like to go?",
		[]string{"Pharmacy       Building C", "Cafeteria      Ground floor", "Blood draw     Room 112", "Parking        Level -1"},
		"Print map", "Printing your map...", "Map printed. Route %03d is marked."},
}

// slide is one screen of an information carousel.
type slide struct {
	title string
	lines []string
	bg    uint8
}

var slides = []slide{
	{"Flu vaccination", []string{"Free for patients over 65", "Mon - Fri  08:00 - 16:00", "Building B, ground floor"}, colTeal},
	{"Visiting hours", []string{"Daily 10:00 - 20:00", "Two visitors per patient", "Children under 12 with an adult"}, colNavy},
	{"Keep hands clean", []string{"Use the sanitiser at every entrance", "Wear a mask if you have a cough", "Thank you for protecting others"}, colPurple},
	{"Pharmacy", []string{"Open 24 hours, Building C", "Bring your prescription number", "Average wait today: 12 minutes"}, colGreen},
	{"Parking", []string{"Pay at the machine before leaving", "First 30 minutes free", "Disabled bays at entrance A"}, colOrange},
}

// errorMessages are what a broken kiosk application shows in its dialog.
var errorMessages = [][]string{
	{"KioskApp has stopped working.", "A problem caused the program to stop", "working correctly. Please contact IT."},
	{"Printer offline (error 0x0000070A).", "Reports cannot be printed at this", "kiosk. Please use another kiosk."},
	{"Card reader not responding.", "Payment is unavailable. Please pay", "at the cashier's desk."},
	{"Connection to the server was lost.", "Retrying in 30 seconds...", "Error code: HIS-503"},
}

var hospitals = []string{
	"St. Mary's Hospital",
	"Riverside General Hospital",
	"Northgate Medical Center",
	"Hillcrest University Hospital",
	"Lakeside Regional Hospital",
}

// campuses are the sites a fleet is spread over; a fleet uses the first few.
var campuses = []string{"west", "east", "north", "south", "central"}

// roles name a kiosk by what it is mostly used for, with how often each occurs.
var roles = []struct {
	name   string
	weight int
}{
	{"Registration", 35}, {"Reports", 25}, {"Payment", 20}, {"Check-in", 12}, {"Information", 8},
}
