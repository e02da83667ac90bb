package wall

import (
	"time"

	"kioskwall/rfb"
)

// State is where a kiosk's session stands, as the API and the wall show it.
type State string

// Kiosk session states.
const (
	StateConnecting State = "connecting"
	StateOnline     State = "online"
	StateOffline    State = "offline"     // unreachable, refused, timed out, closed
	StateAuthFailed State = "auth_failed" // wrong password or blacklisted: retried slowly
	StateError      State = "error"       // the server broke the protocol or is unusable
)

// stateFor maps a failure to the state a kiosk is shown in.
func stateFor(f rfb.Failure) State {
	switch f {
	case rfb.FailAuth, rfb.FailTooManyAttempts, rfb.FailRejected:
		return StateAuthFailed
	case rfb.FailProtocol, rfb.FailNoSecurity, rfb.FailOther:
		return StateError
	}
	return StateOffline
}

// Status is a snapshot of one kiosk's session, safe to hand out.
type Status struct {
	State   State
	Reason  rfb.Failure // empty while online
	Message string      // what happened and what to do, for people
	Since   time.Time   // last change of State

	LastUpdate time.Time // last picture change (zero: none yet)
	Confirmed  time.Time // last update or probe answer: the picture was current then
	Thumbnails uint64    // pictures published
	BytesIn    int64     // RFB bytes received from the kiosk, all connections
	Width      int
	Height     int
	Format     string // pixel format in use
	Viewers    int    // live viewers now
	RTT        time.Duration

	// Watched: some wall page shows this kiosk's tile, so the scheduler
	// asks it for updates first. MaxAge is how old its picture may get
	// (since Confirmed) before it is Overdue: the budget did not allow
	// keeping it, and pages show so.
	Watched bool
	MaxAge  time.Duration
	Overdue bool
}
