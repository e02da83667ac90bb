package rfb

import (
	"image"
	"testing"
)

// TestServerCutText: the desktop's clipboard reaches a client whose config
// lets it (as Latin-1), and never one whose config does not.
func TestServerCutText(t *testing.T) {
	d := newSceneDesktop(64, 32, Format32, 1)
	allowed := startServer(t, d, ServerConfig{SendCutText: func() bool { return true }})
	denied := startServer(t, d, ServerConfig{})
	ca, _ := dialServed(t, allowed, nil, []Encoding{EncRaw})
	cb, _ := dialServed(t, denied, nil, []Encoding{EncRaw})
	// Both connections are set up once their first update has arrived.
	for _, c := range []*Client{ca, cb} {
		if err := c.Request(false, image.Rect(0, 0, 1, 1)); err != nil {
			t.Fatal(err)
		}
		nextData(t, c)
	}

	d.SetCutText("café ✓")
	for {
		m, err := ca.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ct, ok := m.(*CutText); ok {
			if ct.Text != "café ?" {
				t.Errorf("clipboard arrived as %q, want %q", ct.Text, "café ?")
			}
			break
		}
	}
	// The other client sees its next update and nothing before it.
	if err := cb.Request(false, image.Rect(0, 0, 1, 1)); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := cb.Next()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*CutText); ok {
			t.Fatal("a client whose config does not allow it was sent the clipboard")
		}
		if u, ok := m.(*Update); ok && len(u.Rects) > 0 {
			break
		}
	}
}
