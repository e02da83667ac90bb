package wall

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"kioskwall/rfb"
	"kioskwall/rfb/sim"
)

// liveMatch waits until the viewer's picture matches the kiosk's own
// desktop. Live mode asks the kiosk for Tight with JPEG, so a few pixels may
// differ slightly; the viewer's own encodings are lossless.
func liveMatch(t *testing.T, v *liveViewer, k *sim.Kiosk) {
	t.Helper()
	want := liveDesktopRGBA(k.Desktop())
	deadline := time.Now().Add(10 * time.Second)
	incremental := false
	for {
		v.update(t, incremental)
		incremental = true
		diff := livePictureDiff(v.fb.RGBA(v.fb.Bounds()), want, 16)
		if diff <= 0.001 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("viewer's picture still differs from kiosk %s's screen in %.2f%% of pixels", k.ID(), 100*diff)
		}
	}
}

func TestLiveServerInitAndPixels(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 2, Behaviours: []sim.Behaviour{sim.Idle, sim.ErrorDialog}}, nil)
	for i, path := range []func(id string) string{
		func(id string) string { return liveURL(id, nil) },
		func(id string) string { return "/websockify?token=" + url.QueryEscape(id) },
	} {
		k := h.sim.Kiosks()[i]
		h.waitOnline(k.ID())
		v := h.connectViewer(path(k.ID()))
		if v.c.SecurityType() != rfb.SecNone {
			t.Errorf("%s: security type %v, want None: the kiosk's password must stay on the server", k.ID(), v.c.SecurityType())
		}
		if v.c.Version() != "3.8" {
			t.Errorf("%s: RFB %s, want 3.8", k.ID(), v.c.Version())
		}
		if w, hh := k.Desktop().Size(); v.c.Width() != w || v.c.Height() != hh {
			t.Errorf("%s: ServerInit size %dx%d, want the kiosk's %dx%d", k.ID(), v.c.Width(), v.c.Height(), w, hh)
		}
		if v.c.Name() != k.Name() {
			t.Errorf("%s: ServerInit name %q, want the kiosk's %q", k.ID(), v.c.Name(), k.Name())
		}
		liveMatch(t, v, k)
	}
}

func TestLiveSubprotocol(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	id := h.sim.Kiosks()[0].ID()
	for _, tc := range []struct {
		offer []string
		want  string
	}{
		{[]string{"binary"}, "binary"},
		{[]string{"base64", "binary"}, "binary"},
		{nil, ""},
	} {
		ws, resp, err := h.dial(liveURL(id, nil), tc.offer...)
		if err != nil {
			t.Fatalf("offering %q: %v", tc.offer, err)
		}
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tc.want {
			t.Errorf("offering %q: server chose %q, want %q", tc.offer, got, tc.want)
		}
		ws.Close()
	}
}

func TestLiveRefusesBadRequests(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	id := h.sim.Kiosks()[0].ID()
	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/ws/vnc/NOPE", http.StatusNotFound, `unknown kiosk "NOPE"`},
		{"/websockify?token=NOPE", http.StatusNotFound, `unknown kiosk "NOPE"`},
		{"/websockify", http.StatusBadRequest, "no kiosk named"},
		{"/ws/vnc/" + id + "?viewer=a%20b", http.StatusBadRequest, "viewer id"},
	} {
		_, resp, err := h.dial(tc.path, "binary")
		if err == nil {
			t.Errorf("%s: WebSocket opened, want HTTP %d", tc.path, tc.code)
			continue
		}
		if resp == nil || resp.StatusCode != tc.code {
			t.Errorf("%s: %v, want HTTP %d", tc.path, err, tc.code)
			continue
		}
		var body struct{ Error string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || !strings.Contains(body.Error, tc.msg) {
			t.Errorf("%s: error %q (%v) does not say %q", tc.path, body.Error, err, tc.msg)
		}
	}
	// A plain GET is told where the live page is.
	resp, err := http.Get(h.srv.URL + "/ws/vnc/" + id)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "/kiosk/"+id) {
		t.Errorf("plain GET: %d %s, want 400 pointing at /kiosk/%s", resp.StatusCode, body, id)
	}
}

// Message builders for a client that speaks RFB by hand, as a browser
// script could.
func liveKeyMsg(down bool, key uint32) []byte {
	b := []byte{4, 0, 0, 0, 0, 0, 0, 0}
	if down {
		b[1] = 1
	}
	binary.BigEndian.PutUint32(b[4:], key)
	return b
}

func livePointerMsg(buttons uint8, x, y int) []byte {
	b := []byte{5, buttons, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(x))
	binary.BigEndian.PutUint16(b[4:], uint16(y))
	return b
}

func liveCutMsg(text string) []byte {
	b := []byte{6, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], uint32(len(text)))
	return append(b, text...)
}

// send writes raw RFB bytes as one WebSocket message.
func (v *liveViewer) send(t *testing.T, msgs ...[]byte) {
	t.Helper()
	if err := v.ws.WriteMessage(websocket.BinaryMessage, slices.Concat(msgs...)); err != nil {
		t.Fatalf("sending: %v", err)
	}
}

// liveInputs returns what the kiosk recorded, without times, for comparison.
func liveInputs(k *sim.Kiosk) []sim.Input {
	in := k.Inputs()
	for i := range in {
		in[i].Time = time.Time{}
	}
	return in
}

// liveWaitInputs waits until the kiosk recorded at least n inputs.
func liveWaitInputs(t *testing.T, k *sim.Kiosk, n int) []sim.Input {
	t.Helper()
	waitFor(t, 10*time.Second, "the kiosk to record input", func() bool { return len(k.Inputs()) >= n })
	return liveInputs(k)
}

func TestLiveViewOnlyInputIsDropped(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	k := h.sim.Kiosks()[0]
	h.waitOnline(k.ID())
	watcher := h.connectViewer(liveURL(k.ID(), nil))
	// The browser side sends input itself, as a script bypassing noVNC's
	// view-only switch would, in every message kind and with the rfb
	// client's own methods too.
	watcher.send(t, liveKeyMsg(true, 'x'), liveKeyMsg(false, 'x'), livePointerMsg(1, 10, 10), livePointerMsg(0, 10, 10), liveCutMsg("secret"))
	if err := errors.Join(watcher.c.KeyEvent(true, 'y'), watcher.c.PointerEvent(1, 20, 20), watcher.c.CutText("paste")); err != nil {
		t.Fatal(err)
	}
	// An update after the input means the server has read the input.
	watcher.update(t, false)

	// A controlling viewer's key marks the point by which anything the
	// watcher sent would have reached the kiosk.
	driver := h.connectViewer(liveURL(k.ID(), url.Values{"control": {"1"}}))
	driver.send(t, liveKeyMsg(true, 'z'))
	got := liveWaitInputs(t, k, 1)
	want := []sim.Input{{Kiosk: k.ID(), Kind: "key", Down: true, Key: 'z'}}
	if !slices.Equal(got, want) {
		t.Errorf("kiosk recorded %+v; want only the controller's %+v", got, want)
	}
	// The watcher is still served after its input was dropped.
	watcher.update(t, false)
}

func TestLiveControlForwardsInput(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	k := h.sim.Kiosks()[0]
	h.waitOnline(k.ID())
	v := h.connectViewer(liveURL(k.ID(), url.Values{"control": {"1"}}))
	liveMatch(t, v, k)
	field, _ := k.Field()
	if field != "" {
		t.Fatalf("patient ID field holds %q before typing", field)
	}
	// Type "42" into the field and click a button through the rfb client,
	// then check the kiosk recorded exactly that and reacted to it.
	b := k.Buttons()[0]
	c := b.Rect.Min.Add(b.Rect.Size().Div(2))
	if err := errors.Join(
		v.c.KeyEvent(true, '4'), v.c.KeyEvent(false, '4'), v.c.KeyEvent(true, '2'), v.c.KeyEvent(false, '2'),
		v.c.PointerEvent(0, c.X, c.Y), v.c.PointerEvent(1, c.X, c.Y), v.c.PointerEvent(0, c.X, c.Y),
		v.c.CutText("P-1234"),
	); err != nil {
		t.Fatal(err)
	}
	got := liveWaitInputs(t, k, 8)
	want := []sim.Input{
		{Kind: "key", Down: true, Key: '4'}, {Kind: "key", Key: '4'}, {Kind: "key", Down: true, Key: '2'}, {Kind: "key", Key: '2'},
		{Kind: "pointer", X: c.X, Y: c.Y}, {Kind: "pointer", Buttons: 1, X: c.X, Y: c.Y}, {Kind: "pointer", X: c.X, Y: c.Y},
		{Kind: "cut-text", Text: "P-1234"},
	}
	for i := range want {
		want[i].Kiosk = k.ID()
	}
	if !slices.Equal(got, want) {
		t.Errorf("kiosk recorded\n%+v\nwant\n%+v", got, want)
	}
	if field, _ := k.Field(); field != "42" {
		t.Errorf("kiosk's field holds %q after typing 42", field)
	}
	// The viewer sees the typed text: the field's area changes on its screen.
	liveMatch(t, v, k)
}

func TestLiveViewersShareOneUpstreamConnection(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	k := h.sim.Kiosks()[0]
	h.waitOnline(k.ID())
	one := func(when string) {
		t.Helper()
		if n := k.Connections(); n != 1 {
			t.Fatalf("%s: kiosk serves %d connections, want exactly kioskwall's one", when, n)
		}
	}
	one("before any viewer")
	a := h.connectViewer(liveURL(k.ID(), nil))
	liveMatch(t, a, k)
	one("with one viewer")
	b := h.connectViewer(liveURL(k.ID(), url.Values{"control": {"1"}}))
	liveMatch(t, b, k)
	one("with two viewers")
	s, _ := h.fleet.Session(k.ID())
	if n := s.Status().Viewers; n != 2 {
		t.Errorf("session counts %d viewers, want 2", n)
	}
	// Input from b changes the screen; both see it over the one connection.
	if err := errors.Join(b.c.KeyEvent(true, '7'), b.c.KeyEvent(false, '7')); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the typed key on the kiosk", func() bool { f, _ := k.Field(); return f == "7" })
	liveMatch(t, a, k)
	liveMatch(t, b, k)
	one("after input")
	a.raw.Close()
	b.raw.Close()
	waitFor(t, 10*time.Second, "viewers to leave", func() bool { return s.Status().Viewers == 0 })
	one("after the viewers left")
}

func TestLiveMalformedMessageEndsOnlyThatViewer(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	k := h.sim.Kiosks()[0]
	s := h.waitOnline(k.ID())
	good := h.connectViewer(liveURL(k.ID(), nil))
	liveMatch(t, good, k)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"unknown message type", []byte{200, 1, 2, 3}},
		{"colour-mapped pixel format", []byte{0, 0, 0, 0, 8, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"oversized cut text", []byte{6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}},
	} {
		bad := h.connectViewer(liveURL(k.ID(), nil))
		bad.update(t, false)
		bad.send(t, tc.msg)
		bad.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var err error
		for err == nil {
			_, _, err = bad.ws.ReadMessage()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: the viewer was not disconnected", tc.name)
		}
	}
	// The kiosk's session and the other viewer carry on.
	if st := s.Status(); st.State != StateOnline {
		t.Errorf("kiosk session is %s after bad viewers: %s", st.State, st.Message)
	}
	if n := k.Connections(); n != 1 {
		t.Errorf("kiosk serves %d connections, want 1", n)
	}
	good.update(t, false)
	liveMatch(t, good, k)
	h.connectViewer(liveURL(k.ID(), nil)).update(t, false)
}

func TestLiveMessagesSpanWebSocketMessages(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	k := h.sim.Kiosks()[0]
	h.waitOnline(k.ID())
	v := h.connectViewer(liveURL(k.ID(), url.Values{"control": {"1"}}))
	// A key event cut into three messages, then two events in one message,
	// then a cut text whose length and text arrive apart.
	key := liveKeyMsg(true, 'a')
	for _, part := range [][]byte{key[:1], key[1:5], key[5:]} {
		v.send(t, part)
	}
	v.send(t, liveKeyMsg(false, 'a'), livePointerMsg(0, 5, 6))
	cut := liveCutMsg("hello")
	v.send(t, cut[:10])
	v.send(t, cut[10:])
	got := liveWaitInputs(t, k, 4)
	want := []sim.Input{
		{Kiosk: k.ID(), Kind: "key", Down: true, Key: 'a'}, {Kiosk: k.ID(), Kind: "key", Key: 'a'},
		{Kiosk: k.ID(), Kind: "pointer", X: 5, Y: 6}, {Kiosk: k.ID(), Kind: "cut-text", Text: "hello"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("kiosk recorded\n%+v\nwant\n%+v", got, want)
	}
	// A text message is not RFB: it ends the viewer.
	if err := v.ws.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	v.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for err := error(nil); err == nil; {
		_, _, err = v.ws.ReadMessage()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Error("a viewer sending a text message was not disconnected")
		}
	}
}

func TestLivePings(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, func(l *Live) {
		l.pingEvery, l.deadAfter = 20*time.Millisecond, 150*time.Millisecond
	})
	id := h.sim.Kiosks()[0].ID()
	h.waitOnline(id)

	// A reading client gets pings, answers them, and stays.
	ws, _, err := h.dial(liveURL(id, nil), "binary")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var pings atomic.Int32
	ws.SetPingHandler(func(data string) error {
		pings.Add(1)
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	time.Sleep(400 * time.Millisecond) // well past deadAfter
	select {
	case err := <-readErr:
		t.Fatalf("a client answering pings was disconnected: %v", err)
	default:
	}
	if n := pings.Load(); n < 5 {
		t.Errorf("%d pings in 400 ms at one per 20 ms", n)
	}

	// A client that never reads never answers, and is dropped.
	mute, _, err := h.dial(liveURL(id, nil), "binary")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	time.Sleep(400 * time.Millisecond)
	mute.SetReadDeadline(time.Now().Add(5 * time.Second))
	mute.SetPingHandler(func(string) error { return nil }) // late answers must not count
	for {
		_, _, err := mute.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || !strings.Contains(ce.Text, "no answer to pings") {
			t.Errorf("silent client ended with %v, want a close saying there was no answer to pings", err)
		}
		break
	}
}

// controlCall calls the control endpoint and decodes its answer.
func (h *liveHarness) controlCall(t *testing.T, method, kiosk, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+"/api/kiosks/"+kiosk+"/control", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s control: answer is not JSON: %v", method, err)
	}
	return resp.StatusCode, out
}

// auditRecords parses the audit log written so far.
func (h *liveHarness) auditRecords(t *testing.T) []AuditRecord {
	t.Helper()
	var out []AuditRecord
	for line := range strings.Lines(h.audit.String()) {
		var r AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func TestLiveControlEndpoint(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	k := h.sim.Kiosks()[0]
	h.waitOnline(k.ID())
	alice := h.connectViewer(liveURL(k.ID(), url.Values{"viewer": {"alice"}}))
	bob := h.connectViewer(liveURL(k.ID(), url.Values{"viewer": {"bob"}}))
	alice.update(t, false)
	bob.update(t, false)

	code, st := h.controlCall(t, "GET", k.ID(), "")
	if code != 200 || st["controller"] != nil || st["viewers"] != 2.0 {
		t.Fatalf("GET before control: %d %v; want 200, nobody in control, 2 viewers", code, st)
	}
	code, st = h.controlCall(t, "POST", k.ID(), `{"viewer":"alice","control":true}`)
	if code != 200 || st["control"] != true {
		t.Fatalf("alice takes control: %d %v", code, st)
	}
	code, st = h.controlCall(t, "POST", k.ID(), `{"viewer":"bob","control":true}`)
	if msg, _ := st["error"].(string); code != http.StatusConflict || !strings.Contains(msg, "already controlled by 127.0.0.1") || st["control"] != false {
		t.Fatalf("bob asks while alice has control: %d %v; want 409 naming alice's address", code, st)
	}
	// Only alice's input arrives.
	bob.send(t, liveKeyMsg(true, 'b'))
	bob.update(t, false)
	alice.send(t, liveKeyMsg(true, 'a'), liveKeyMsg(true, 0xffe3)) // a, then Control_L held down
	if got := liveWaitInputs(t, k, 2); got[0].Key != 'a' || got[1].Key != 0xffe3 {
		t.Fatalf("kiosk recorded %+v, want alice's a and Control_L", got)
	}
	// Releasing lets go of the key alice still held; then bob may take over.
	code, st = h.controlCall(t, "POST", k.ID(), `{"viewer":"alice","control":false}`)
	if code != 200 || st["control"] != false || st["controller"] != nil {
		t.Fatalf("alice releases: %d %v", code, st)
	}
	// Both keys alice still held are let go, in either order.
	got := liveWaitInputs(t, k, 4)
	released := map[uint32]bool{}
	for _, in := range got[2:] {
		if in.Kind == "key" && !in.Down {
			released[in.Key] = true
		}
	}
	if len(got) != 4 || !released['a'] || !released[0xffe3] {
		t.Errorf("after release the kiosk recorded %+v; want a and Control_L released", got)
	}
	alice.send(t, liveKeyMsg(true, 'x')) // no longer in control
	alice.update(t, false)
	if code, st = h.controlCall(t, "POST", k.ID(), `{"viewer":"bob","control":true}`); code != 200 || st["control"] != true {
		t.Fatalf("bob takes control after alice released: %d %v", code, st)
	}
	bob.send(t, livePointerMsg(1, 3, 4), livePointerMsg(0, 3, 4))
	liveWaitInputs(t, k, 6)
	bob.raw.Close() // leaving ends control
	waitFor(t, 10*time.Second, "bob's control to end", func() bool {
		_, ok := h.live.board.controllerOf(k.ID())
		return !ok
	})
	if got := liveInputs(k); len(got) != 6 {
		t.Errorf("kiosk recorded %d inputs, want 6 (alice's two keys down and up, bob's press and release): %+v", len(got), got)
	}

	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"viewer":"carol","control":true}`, http.StatusNotFound},
		{`{"viewer":"alice"}`, http.StatusBadRequest},
		{`{"viewer":"alice","control":true,"force":true}`, http.StatusBadRequest},
		{`not json`, http.StatusBadRequest},
		{`{"viewer":"` + strings.Repeat("x", 8<<10) + `","control":true}`, http.StatusBadRequest},
	} {
		if code, st := h.controlCall(t, "POST", k.ID(), tc.body); code != tc.code || st["error"] == nil {
			t.Errorf("POST %.40s: %d %v, want %d with an error", tc.body, code, st, tc.code)
		}
	}
	if code, _ := h.controlCall(t, "GET", "NOPE", ""); code != http.StatusNotFound {
		t.Errorf("GET control of an unknown kiosk: %d, want 404", code)
	}

	// The audit log tells the story, with counts.
	recs := h.auditRecords(t)
	var events []string
	for _, r := range recs {
		events = append(events, r.Event+":"+r.Viewer)
		if r.Kiosk != k.ID() || r.Site != k.Site() || !strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") || r.UserAgent == "" || r.Time.IsZero() {
			t.Errorf("audit record lacks who or where: %+v", r)
		}
	}
	wantEvents := []string{"control_start:alice", "control_refused:bob", "control_end:alice", "control_start:bob", "control_end:bob"}
	if !slices.Equal(events, wantEvents) {
		t.Fatalf("audit events %v, want %v", events, wantEvents)
	}
	if end := recs[2]; *end.Keys != 2 || *end.PointerEvent != 0 || end.Reason != "released by the viewer" || !end.End.After(*end.Start) {
		t.Errorf("alice's control_end: keys %d pointer %d reason %q start %v end %v; want 2 keys, released by the viewer", *end.Keys, *end.PointerEvent, end.Reason, end.Start, end.End)
	}
	if end := recs[4]; *end.Clicks != 1 || *end.PointerEvent != 2 || end.Reason != "viewer left" {
		t.Errorf("bob's control_end: clicks %d pointer %d reason %q; want 1 click, 2 pointer events, viewer left", *end.Clicks, *end.PointerEvent, end.Reason)
	}
}

func TestLiveDuplicateViewerID(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	id := h.sim.Kiosks()[0].ID()
	h.waitOnline(id)
	h.connectViewer(liveURL(id, url.Values{"viewer": {"same"}})).update(t, false)
	_, resp, err := h.dial(liveURL(id, url.Values{"viewer": {"same"}}), "binary")
	if err == nil || resp == nil || resp.StatusCode != http.StatusConflict {
		t.Errorf("second viewer with the same id: %v, want HTTP 409", err)
	}
}

func TestLiveUnreachableKiosk(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1, Behaviours: []sim.Behaviour{sim.Refusing}}, nil)
	id := h.sim.Kiosks()[0].ID()
	s, _ := h.fleet.Session(id)
	waitFor(t, 10*time.Second, "the kiosk to be offline", func() bool { return s.Status().State == StateOffline })
	// The live view still opens; the page shows why the picture is empty.
	v := h.connectViewer(liveURL(id, url.Values{"control": {"1"}}))
	v.update(t, false)
	if v.c.Width() < 1 || v.c.Height() < 1 {
		t.Errorf("ServerInit size %dx%d", v.c.Width(), v.c.Height())
	}
	// Input has nowhere to go and is counted as undelivered.
	v.send(t, liveKeyMsg(true, 'q'), liveKeyMsg(false, 'q'))
	v.update(t, false)
	v.raw.Close()
	waitFor(t, 10*time.Second, "the control session's audit record", func() bool {
		recs := h.auditRecords(t)
		return len(recs) == 2 && recs[1].Undelivered != nil && *recs[1].Undelivered == 2
	})
}

func TestLiveViewerEndsWhenKioskLeavesFleet(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 2}, func(l *Live) { l.checkEvery = 20 * time.Millisecond })
	a, b := h.sim.Kiosks()[0], h.sim.Kiosks()[1]
	h.waitOnline(a.ID())
	v := h.connectViewer(liveURL(a.ID(), nil))
	v.update(t, false)
	h.fleet.Sync([]Target{{ID: b.ID(), Name: b.Name(), Site: b.Site(), Addr: b.Addr()}})
	v.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := v.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart || !strings.Contains(ce.Text, "removed from the inventory") {
			t.Errorf("viewer of a removed kiosk ended with %v, want close 1012 saying so", err)
		}
		break
	}
}

func TestLiveCloseEndsViewers(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	id := h.sim.Kiosks()[0].ID()
	h.waitOnline(id)
	v := h.connectViewer(liveURL(id, url.Values{"control": {"1"}}))
	v.update(t, false)
	done := make(chan struct{})
	go func() {
		h.live.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while a viewer was connected")
	}
	v.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := v.ws.ReadMessage(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Error("viewer still connected after Close")
			}
			break
		}
	}
	if recs := h.auditRecords(t); len(recs) != 2 || recs[1].Event != "control_end" {
		t.Errorf("audit after Close: %+v, want the control session ended", recs)
	}
	if _, resp, err := h.dial(liveURL(id, nil), "binary"); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("viewer after Close: %v, want 503", err)
	}
}

func TestLiveIgnoresEncodingsItDoesNotServe(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	k := h.sim.Kiosks()[0]
	h.waitOnline(k.ID())
	v := h.connectViewer(liveURL(k.ID(), nil))
	// What noVNC 1.7 asks for that kioskwall does not serve: H.264, fences,
	// continuous updates, xvp, QEMU keys and LED state, extended clipboard
	// and mouse buttons, VMware cursor; then encodings it does serve.
	unserved := []rfb.Encoding{50, -312, -313, -309, -258, -261, rfb.Encoding(-1063131698), -316, 0x574d5664}
	if err := v.c.SetEncodings(append(unserved, rfb.EncZRLE, rfb.EncRaw)); err != nil {
		t.Fatal(err)
	}
	u := v.update(t, false)
	for e := range u.Encodings {
		if e != rfb.EncZRLE && e != rfb.EncRaw && e != rfb.EncCursor && e != rfb.EncDesktopSize {
			t.Errorf("update used encoding %v, which the client did not ask for among those served", e)
		}
	}
	liveMatch(t, v, k)
}

// TestLiveKioskClipboardOnlyToController: text the kiosk puts on its
// clipboard (a synthetic kiosk from rfb/sim sends ServerCutText) reaches the
// viewer in control, and never a view-only one: it may hold what a patient
// copied.
func TestLiveKioskClipboardOnlyToController(t *testing.T) {
	h := newLiveHarness(t, sim.Config{Kiosks: 1}, nil)
	k := h.sim.Kiosks()[0]
	h.waitOnline(k.ID())
	controller := h.connectViewer(liveURL(k.ID(), url.Values{"control": {"1"}}))
	watcher := h.connectViewer(liveURL(k.ID(), nil))
	controller.update(t, false)
	watcher.update(t, false)

	k.Desktop().SetCutText("Patient 4711")
	for {
		m, err := controller.c.Next()
		if err != nil {
			t.Fatalf("waiting for the kiosk's clipboard: %v", err)
		}
		if ct, ok := m.(*rfb.CutText); ok {
			if ct.Text != "Patient 4711" {
				t.Errorf("controller got clipboard %q", ct.Text)
			}
			break
		}
	}
	if err := watcher.c.Request(false, image.Rect(0, 0, 1, 1)); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := watcher.c.Next()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*rfb.CutText); ok {
			t.Fatal("a view-only viewer was sent the kiosk's clipboard")
		}
		if u, ok := m.(*rfb.Update); ok && len(u.Rects) > 0 {
			break
		}
	}
}
