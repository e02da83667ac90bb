package wall

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// AuditFile is the name of the control audit log in the data dir.
const AuditFile = "control-audit.jsonl"

// OpenAuditLog opens (creating it if needed) the control audit log in dir
// for appending, readable by its owner only: it names who drove which kiosk.
func OpenAuditLog(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("control audit log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, AuditFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("control audit log: %w", err)
	}
	return f, nil
}

// AuditRecord is one line of the control audit log. Every stretch of control
// writes a "control_start" line when it begins and a "control_end" line,
// with what the viewer did, when it ends, so a control session in progress
// at a crash still left a trace; refused requests write "control_refused".
type AuditRecord struct {
	Time         time.Time  `json:"time"`
	Event        string     `json:"event"`
	Kiosk        string     `json:"kiosk"`
	Site         string     `json:"site"`
	Viewer       string     `json:"viewer"`
	RemoteAddr   string     `json:"remote_addr"`
	ForwardedFor string     `json:"forwarded_for,omitempty"`
	UserAgent    string     `json:"user_agent"`
	Start        *time.Time `json:"start,omitempty"`
	End          *time.Time `json:"end,omitempty"`
	DurationMS   *int64     `json:"duration_ms,omitempty"`
	Keys         *int       `json:"keys,omitempty"`           // key presses
	PointerEvent *int       `json:"pointer_events,omitempty"` // moves and buttons
	Clicks       *int       `json:"clicks,omitempty"`         // button presses
	CutTexts     *int       `json:"cut_texts,omitempty"`      // clipboard pastes
	Undelivered  *int       `json:"undelivered,omitempty"`    // events the offline kiosk did not get
	Reason       string     `json:"reason,omitempty"`         // why control ended, or why it was refused
}

// auditLog writes AuditRecords as JSON lines. A failing writer does not
// stop the live view, but it is logged loudly, once per failure streak.
type auditLog struct {
	mu     sync.Mutex
	w      io.Writer // nil: records go to the log only
	log    *slog.Logger
	failed bool
}

func (a *auditLog) write(r AuditRecord) {
	a.log.Info("live: control "+strings.TrimPrefix(r.Event, "control_"),
		"kiosk", r.Kiosk, "site", r.Site, "viewer", r.Viewer, "remote", r.RemoteAddr, "user_agent", r.UserAgent, "reason", r.Reason)
	if a.w == nil {
		return
	}
	line, err := json.Marshal(r)
	if err != nil {
		a.log.Error("live: encoding an audit record", "err", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.w.Write(append(line, '\n')); err != nil {
		if !a.failed {
			a.log.Error("live: CONTROL AUDIT RECORDS ARE BEING LOST: writing the audit log failed", "err", err)
		}
		a.failed = true
		return
	}
	a.failed = false
}

func (a *auditLog) record(v *viewer, now time.Time, event string) AuditRecord {
	return AuditRecord{Time: now.UTC(), Event: event, Kiosk: v.kioskID, Site: v.site, Viewer: v.id,
		RemoteAddr: v.remoteAddr, ForwardedFor: v.forwardedFor, UserAgent: v.userAgent}
}

func (a *auditLog) started(v *viewer, now time.Time) {
	r := a.record(v, now, "control_start")
	start := now.UTC()
	r.Start = &start
	a.write(r)
}

func (a *auditLog) refused(v *viewer, now time.Time, why error) {
	r := a.record(v, now, "control_refused")
	r.Reason = why.Error()
	a.write(r)
}

func (a *auditLog) ended(v *viewer, cs *controlSession, now time.Time, why string) {
	r := a.record(v, now, "control_end")
	start, end := cs.start.UTC(), now.UTC()
	dur := end.Sub(start).Milliseconds()
	r.Start, r.End, r.DurationMS = &start, &end, &dur
	r.Keys, r.PointerEvent, r.Clicks, r.CutTexts, r.Undelivered = &cs.keys, &cs.pointer, &cs.clicks, &cs.cutTexts, &cs.undelivered
	r.Reason = why
	a.write(r)
}

// browserName shortens a User-Agent to what a person recognises.
func browserName(ua string) string {
	// Order matters: Edge's string also names Chrome, and Chrome's Safari.
	for _, b := range [...]struct{ marker, name string }{
		{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.marker) {
			return b.name
		}
	}
	if ua == "" {
		return "no user agent"
	}
	if len(ua) > 40 {
		return ua[:40] + "..."
	}
	return ua
}
