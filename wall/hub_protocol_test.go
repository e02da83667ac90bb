package wall

import (
	"errors"
	"slices"
	"testing"
)

// FuzzParseClientMsg feeds arbitrary page messages to the parser: it never
// panics, a refusal is always a *clientError (which the hub turns into an
// error message), and what it accepts is within the hub's limits.
func FuzzParseClientMsg(f *testing.F) {
	f.Add([]byte(`{"type":"subscribe","ref":7,"tiles":[{"id":"K0001","rendition":"small"},{"id":"K0002","rendition":"large"}]}`))
	f.Add([]byte(`{"type":"subscribe","tiles":[]}`))
	f.Add([]byte(`{"type":"subscribe","ref":"page-2","tiles":[{"id":"K0001","rendition":"huge"}]}`))
	f.Add([]byte(`{"type":"reboot"}`))
	f.Add([]byte(`[1,2,3]`))
	renditions := []string{"small", "large"}
	const maxSubs = 4
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseClientMsg(data, renditions, maxSubs)
		if err != nil {
			var bad *clientError
			if !errors.As(err, &bad) || bad.Code == "" || bad.Message == "" {
				t.Fatalf("refusal %v is not a clientError with a code and a message", err)
			}
			return
		}
		if m.Type != "subscribe" || len(m.Tiles) > maxSubs || len(m.Ref) > maxRefBytes {
			t.Fatalf("accepted %+v", m)
		}
		for _, tr := range m.Tiles {
			if tr.ID == "" || len(tr.ID) > maxNameBytes || !slices.Contains(renditions, tr.Rendition) {
				t.Fatalf("accepted tile %+v", tr)
			}
		}
	})
}
