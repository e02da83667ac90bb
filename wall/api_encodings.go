package wall

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Encodings is the body of GET /api/encodings.
type Encodings struct {
	// Enabled: the server measures encodings per kind of kiosk.
	Enabled bool `json:"enabled"`
	// MinPSNR is the policy's quality threshold in dB: the fewest bytes
	// among candidates whose thumbnail is at least this close to lossless.
	MinPSNR float64      `json:"min_psnr_db,omitempty"`
	Kinds   []KindReport `json:"kinds"`
}

// encodings serves GET /api/encodings: per kind of kiosk, the thumbnail
// profile in use and what each candidate cost when it was measured.
func (s *Server) encodings(c echo.Context) error {
	out := Encodings{Kinds: []KindReport{}}
	if s.policy != nil {
		out.Enabled, out.MinPSNR, out.Kinds = true, s.policy.MinPSNR(), s.policy.Report()
	}
	return c.JSON(http.StatusOK, out)
}
