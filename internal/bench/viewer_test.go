package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// tileFrame builds a binary tile frame as docs/tile-protocol.md lays it
// out, with extra header bytes before the JPEG as a later version may add.
func tileFrame(id, rendition string, seq uint64, updated time.Time, extra int) []byte {
	h := 26 + len(id) + len(rendition) + extra
	b := []byte{1, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(h))
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(updated.UnixMilli()))
	b = binary.BigEndian.AppendUint16(b, 320)
	b = binary.BigEndian.AppendUint16(b, 180)
	b = append(b, byte(len(id)))
	b = append(b, id...)
	b = append(b, byte(len(rendition)))
	b = append(b, rendition...)
	b = append(b, make([]byte, extra)...)
	return append(b, 0xff, 0xd8, 0xff, 0xd9) // a JPEG's start and end markers
}

// fakeWall is a wall stream that says hello, acknowledges one subscribe
// and sends the frames given.
func fakeWall(t *testing.T, frames ...[]byte) string {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteJSON(map[string]any{"type": "hello", "version": 1})
		var sub struct {
			Type  string          `json:"type"`
			Ref   json.RawMessage `json:"ref"`
			Tiles []struct{ ID, Rendition string }
		}
		if err := ws.ReadJSON(&sub); err != nil || sub.Type != "subscribe" || len(sub.Tiles) != 2 || sub.Tiles[0].Rendition != "small" {
			t.Errorf("subscribe message %+v (%v)", sub, err)
			return
		}
		ws.WriteJSON(map[string]any{"type": "subscribed", "ref": sub.Ref, "tiles": 2})
		ws.WriteJSON(map[string]any{"type": "status", "full": true})
		for _, f := range frames {
			ws.WriteMessage(websocket.BinaryMessage, f)
		}
		ws.ReadMessage() // until the viewer closes
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestViewerRecordsTiles(t *testing.T) {
	made := time.UnixMilli(1_800_000_000_123)
	url := fakeWall(t, tileFrame("K0001", "small", 7, made, 0), tileFrame("K0002", "small", 9, made.Add(time.Second), 5))
	v, err := dialViewer(context.Background(), url, "small")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.run()
	}()
	before := time.Now()
	if err := v.subscribe([]string{"K0001", "K0002"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for frames, _, _ := v.counts(); frames < 2; frames, _, _ = v.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("%d tile frames after 5 s, want 2", frames)
		}
		time.Sleep(10 * time.Millisecond)
	}
	v.close()
	<-done
	if _, _, failed := v.counts(); failed != nil {
		t.Errorf("closing the viewer counted as a failure: %v", failed)
	}
	epochs, arrivals := v.shown()
	if len(epochs) != 1 || epochs[0].from.Before(before) || epochs[0].to.IsZero() || !epochs[0].tiles["K0002"] {
		t.Errorf("epochs %+v; want one from the acknowledgement to the close, showing both", epochs)
	}
	k1, k2 := arrivals["K0001"], arrivals["K0002"]
	if len(k1) != 1 || k1[0].seq != 7 || k1[0].updatedMS != made.UnixMilli() || k1[0].at.Before(before) {
		t.Errorf("K0001 arrivals %+v", k1)
	}
	if len(k2) != 1 || k2[0].seq != 9 || k2[0].updatedMS != made.UnixMilli()+1000 {
		t.Errorf("K0002 arrivals %+v", k2)
	}
}

func TestViewerRefusesBadFrames(t *testing.T) {
	good := tileFrame("K0001", "small", 1, time.Now(), 0)
	short := good[:20]
	badVersion := append([]byte{2}, good[1:]...)
	longHeader := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(longHeader[2:], uint16(len(good)+1))
	shortHeader := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(shortHeader[2:], 20)
	longID := append([]byte(nil), good...)
	longID[24] = 200
	for name, frame := range map[string][]byte{"short": short, "version 2": badVersion, "header past the end": longHeader,
		"header inside the names": shortHeader, "id past the end": longID} {
		v := &viewer{arrivals: map[string][]arrival{}}
		if err := v.tile(time.Now(), frame); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	v := &viewer{arrivals: map[string][]arrival{}}
	if err := v.tile(time.Now(), good); err != nil || len(v.arrivals["K0001"]) != 1 {
		t.Errorf("a good frame: %v, arrivals %v", err, v.arrivals)
	}
}

func TestViewerPlan(t *testing.T) {
	kiosks := make([]SimKiosk, 1000)
	for i := range kiosks {
		kiosks[i].ID = fmt.Sprintf("K%04d", i+1)
	}
	for _, tc := range []struct {
		kiosks, viewers, tiles int
		visible, perViewer     int
	}{
		{1000, 20, 100, 500, 100}, // the wall: each kiosk on 4 viewers
		{1000, 1, 100, 100, 100},  // one viewer shows what it can
		{20, 4, 100, 10, 10},      // a small fleet: every viewer shows the visible half
		{200, 20, 100, 100, 100},
	} {
		p := viewerPlan(kiosks[:tc.kiosks], tc.viewers, tc.tiles, maxSubscriptions)
		if len(p.visible) != tc.visible || len(p.blocks) != tc.viewers {
			t.Errorf("%+v: %d visible, %d viewers", tc, len(p.visible), len(p.blocks))
			continue
		}
		covered := map[string]int{}
		for _, b := range p.blocks {
			if len(b) != tc.perViewer {
				t.Errorf("%+v: a viewer shows %d tiles", tc, len(b))
			}
			for _, id := range b {
				covered[id]++
			}
		}
		if len(covered) != tc.visible {
			t.Errorf("%+v: viewers cover %d kiosks, want %d", tc, len(covered), tc.visible)
		}
		for _, id := range p.visible {
			if n := id[len(id)-1] - '0'; n%2 == 0 {
				t.Errorf("%+v: %s is visible; want every other kiosk from the first", tc, id)
				break
			}
		}
	}
}
