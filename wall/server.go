package wall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"kioskwall/config"
	"kioskwall/static"
	"kioskwall/thumbs"
)

// ServerOptions configure a Server. Zero values take defaults.
type ServerOptions struct {
	// Listen is the address the server is reached at (host:port). The
	// Origin/Host guard accepts its host in Host headers besides loopback
	// names; default config.DefaultListen.
	Listen string
	// AllowHosts are further names the server is reached by, such as the
	// name a reverse proxy passes on in Host.
	AllowHosts []string
	// DataDir keeps the latest tiles and the control audit log across
	// restarts; "" keeps nothing.
	DataDir string
	// SaveEvery is how often changed tiles are written to DataDir; default
	// 30 s. They are written at Close too.
	SaveEvery time.Duration
	// Fleet configures the kiosk sessions; its Logger defaults to Logger.
	Fleet FleetOptions
	// EncodingPolicy measures, per kind of kiosk, which thumbnail profile
	// costs the fewest bytes, keeps the decisions in DataDir, and serves
	// them at GET /api/encodings (unless Fleet.Policy is set already).
	EncodingPolicy bool
	// Pages are the files served at "/" (wall.html) and below; default
	// static.FS().
	Pages  fs.FS
	Logger *slog.Logger
}

// Server is kioskwall's web server and everything behind it: the fleet of
// kiosk sessions, their tiles, the wall stream, the live view, the JSON API
// and the metrics. NewServer starts it; Close stops it.
type Server struct {
	log        *slog.Logger
	dataDir    string
	tiles      *TileStore
	fleet      *Fleet
	policy     *EncodingPolicy // nil: no encoding trials
	hub        *Hub
	live       *Live
	audit      io.Closer // the control audit log, when kept in DataDir
	meter      *meter
	budgets    *Budgets // nil without caps
	renditions []string // names, the first the default thumbnail size
	echo       *echo.Echo

	cancel context.CancelFunc // stops the goroutines below
	wg     sync.WaitGroup     // the meter and the tile saver

	closeOnce sync.Once
	closeErr  error

	invMu     sync.Mutex
	problems  []config.Problem // of the latest inventory read
	inventory bool             // an inventory has been applied
}

// NewServer loads the tiles saved in the data dir (stale until their
// kiosks confirm them), builds the fleet, the wall stream and the live view
// and routes them. The fleet is empty until ApplyInventory or
// WatchInventory gives it kiosks.
func NewServer(o ServerOptions) (*Server, error) {
	if o.Listen == "" {
		o.Listen = config.DefaultListen
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Fleet.Logger == nil {
		o.Fleet.Logger = o.Logger
	}
	if o.Pages == nil {
		o.Pages = static.FS()
	}
	s := &Server{log: o.Logger, dataDir: o.DataDir, tiles: NewTileStore(), budgets: o.Fleet.Budgets}
	var audit io.Writer
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		if err := s.tiles.Load(o.DataDir); err != nil {
			// What could be read is loaded; a lost tile only costs the
			// picture until the kiosk sends a new one.
			s.log.Warn("some saved tiles could not be loaded", "data_dir", o.DataDir, "err", err)
		}
		f, err := OpenAuditLog(o.DataDir)
		if err != nil {
			return nil, err
		}
		audit, s.audit = f, f
	}
	if o.EncodingPolicy && o.Fleet.Policy == nil {
		p, err := NewEncodingPolicy(PolicyConfig{})
		if err != nil {
			return nil, err
		}
		if o.DataDir != "" {
			if err := p.Load(o.DataDir); err != nil {
				s.log.Warn("saved encoding decisions ignored; kinds are measured again", "data_dir", o.DataDir, "err", err)
			}
			o.Fleet.PolicyDecided = func() {
				if err := p.Save(o.DataDir); err != nil {
					s.log.Warn("encoding decisions not saved", "data_dir", o.DataDir, "err", err)
				}
			}
		}
		o.Fleet.Policy = p
	}
	s.policy = o.Fleet.Policy
	s.fleet = NewFleet(s.tiles, o.Fleet)
	s.hub = NewHub(s.tiles, s.fleet, s.log)
	s.live = NewLive(s.fleet, s.log, audit)
	s.meter = newMeter(s.fleet, time.Now)
	renditions := o.Fleet.Renditions
	if len(renditions) == 0 {
		renditions = thumbs.DefaultRenditions
	}
	for _, r := range renditions {
		s.renditions = append(s.renditions, r.Name)
	}
	s.echo = s.routes(NewGuard(o.Listen, o.AllowHosts, s.log), o.Pages)

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	// The meter samples every second for the rate window of /api/stats.
	s.wg.Go(func() { repeat(ctx, time.Second, func() { s.meter.sample(true) }) })
	if s.dataDir != "" {
		s.wg.Go(func() { repeat(ctx, o.SaveEvery, s.saveTiles) })
	}
	return s, nil
}

// routes builds the Echo router: the contract of docs/api.md.
func (s *Server) routes(g *Guard, pages fs.FS) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.httpError
	e.Use(g.Middleware())

	e.GET("/healthz", s.healthz)
	e.GET("/metrics", echo.WrapHandler(metricsHandler(s.meter, s.problemCount)))
	e.GET("/api/stats", s.stats)
	e.GET("/api/encodings", s.encodings)
	e.GET("/api/kiosks", s.listKiosks)
	e.GET("/api/kiosks/:id", s.getKiosk)
	e.GET("/api/kiosks/:id/thumbnail.jpg", s.thumbnail)
	e.GET("/api/kiosks/:id/screen.png", s.screen)
	e.GET("/api/kiosks/:id/control", s.live.ServeControl)
	e.POST("/api/kiosks/:id/control", s.live.ServeControl)
	e.GET("/ws/wall", s.hub.ServeWS)
	e.GET("/ws/vnc/:id", s.live.ServeVNC)
	e.GET("/websockify", s.live.ServeVNC)

	e.GET("/", echo.StaticFileHandler("wall.html", pages))
	e.GET("/kiosk/:id", echo.StaticFileHandler("kiosk.html", pages))
	e.GET("/*", func(c echo.Context) error { return servePage(c, pages) })
	return e
}

// servePage serves a file of pages at its own path, and nothing else: no
// directory listings, no index pages.
func servePage(c echo.Context, pages fs.FS) error {
	name := path.Clean(c.Param("*"))
	if fi, err := fs.Stat(pages, name); err != nil || !fi.Mode().IsRegular() {
		return echo.NewHTTPError(http.StatusNotFound, "no such page: "+c.Request().URL.Path)
	}
	return echo.StaticFileHandler(name, pages)(c)
}

// httpError answers every failed request with JSON {"error": "..."}, the
// API's one error shape.
func (s *Server) httpError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, "internal error; the server log says more"
	var he *echo.HTTPError
	switch {
	case errors.Is(err, echo.ErrNotFound):
		code, msg = http.StatusNotFound, fmt.Sprintf("no such page or API route: %s (the routes are listed in docs/api.md)", c.Request().URL.Path)
	case errors.Is(err, echo.ErrMethodNotAllowed):
		code, msg = http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s", c.Request().Method, c.Request().URL.Path)
	case errors.As(err, &he):
		code, msg = he.Code, fmt.Sprint(he.Message)
	default:
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(code)
		return
	}
	c.JSON(code, apiErrorBody{Error: msg})
}

// Handler is the server's HTTP handler, for Serve or a test server.
func (s *Server) Handler() http.Handler { return s.echo }

// Fleet is the server's fleet of kiosk sessions.
func (s *Server) Fleet() *Fleet { return s.fleet }

// Tiles is the store of the latest tile of every kiosk.
func (s *Server) Tiles() *TileStore { return s.tiles }

// Serve answers HTTP requests on ln until ctx ends, then stops taking new
// requests and lets running ones finish (for at most 10 s). WebSockets
// end at Close.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("web server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-done
	return err
}

// Close ends every wall page and live viewer, stops every kiosk session,
// and saves the tiles one last time. Later calls return the first's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	s.hub.Close()
	s.live.Close()
	s.cancel()
	s.wg.Wait()
	s.fleet.Close()
	var errs []error
	if s.dataDir != "" {
		if err := s.tiles.Save(s.dataDir); err != nil {
			errs = append(errs, fmt.Errorf("saving tiles: %w", err))
		}
	}
	if s.audit != nil {
		errs = append(errs, s.audit.Close())
	}
	return errors.Join(errs...)
}

// saveTiles writes changed tiles to the data dir, so that a crash loses at
// most one interval of the wall's last pictures.
func (s *Server) saveTiles() {
	if err := s.tiles.Save(s.dataDir); err != nil {
		s.log.Warn("saving tiles", "data_dir", s.dataDir, "err", err)
	}
}

// repeat runs f every interval until ctx ends.
func repeat(ctx context.Context, every time.Duration, f func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
