// The live page's stopwatch, for TestLiveUsableOnCappedLine
// (wall/live_line_linux_test.go). Evaluated in /kiosk/{id} once noVNC is
// connected, with cfg = {x, y, w, h, tol, need, steps}: the patient ID field's
// rectangle on the kiosk's screen, and for each position j of a typed line,
// steps[j-1], sample pixels of the glyph typed there as flat runs of
// [x, y, r, g, b, r0, g0, b0] (relative to the field; the colour once the
// glyph shows, and the colour of the empty field).
//
// It measures what an operator sees, in the browser:
// - key to pixel: a key press is timed when the page receives its keydown
//   (a capturing listener on window, before noVNC's handler sends it); its
//   echo when the glyph's pixels are on the canvas, read with getImageData at
//   every animation frame. A key is "armed" by the test just before it is
//   typed, so the probe knows which position's glyph to look for.
// - framebuffer updates: every FramebufferUpdate noVNC finishes that carried
//   pixels (not only pseudo-encodings), timed. noVNC announces no event for
//   it, so the probe wraps two methods of its RFB class; the module is the
//   page's own (same URL, same instance).
//
// Results stay in window.__liveProbe for the test to read over CDP.
async (cfg) => {
  const { default: RFB } = await import(new URL("../vendor/novnc/core/rfb.js", location.href).href);
  const proto = RFB.prototype;
  if (typeof proto._framebufferUpdate !== "function" || typeof proto._handleRect !== "function") {
    throw new Error("noVNC's RFB has no _framebufferUpdate or _handleRect: the probe follows noVNC's internals and must be updated with it");
  }
  const probe = { updates: [], keys: [], armed: [], pending: [], frames: 0 };
  window.__liveProbe = probe;

  const handleRect = proto._handleRect;
  proto._handleRect = function () {
    const encoding = this._FBU.encoding;
    const done = handleRect.call(this);
    // Real encodings are 0 and up; pseudo-encodings are negative.
    if (done && encoding >= 0) this.__probePixels = true;
    return done;
  };
  const fbu = proto._framebufferUpdate;
  proto._framebufferUpdate = function () {
    const done = fbu.call(this);
    if (done) {
      if (this.__probePixels) probe.updates.push(performance.now());
      this.__probePixels = false;
    }
    return done;
  };

  const field = () => {
    const c = document.querySelector("#screen canvas");
    return c.getContext("2d").getImageData(cfg.x, cfg.y, cfg.w, cfg.h).data;
  };
  // shows reports whether enough of the sample pixels pts have the colour at
  // offset off of each run (2: the glyph's, 5: the empty field's).
  const shows = (data, pts, off) => {
    let ok = 0;
    for (let i = 0; i < pts.length; i += 8) {
      const k = (pts[i + 1] * cfg.w + pts[i]) * 4;
      if (Math.abs(data[k] - pts[i + off]) <= cfg.tol &&
          Math.abs(data[k + 1] - pts[i + off + 1]) <= cfg.tol &&
          Math.abs(data[k + 2] - pts[i + off + 2]) <= cfg.tol) ok++;
    }
    return ok >= cfg.need * (pts.length / 8);
  };

  window.addEventListener("keydown", (e) => {
    const k = probe.armed[0];
    if (!k || e.key !== k.ch) return;
    probe.armed.shift();
    k.sent = performance.now();
    probe.keys.push(k);
    probe.pending.push(k);
  }, true);

  const frame = () => {
    probe.frames++;
    if (probe.pending.length) {
      const data = field();
      const now = performance.now();
      probe.pending = probe.pending.filter((k) => {
        if (!shows(data, cfg.steps[k.pos - 1], 2)) return true;
        k.shown = now;
        return false;
      });
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  probe.arm = (ch, pos) => { probe.armed.push({ ch, pos, sent: 0, shown: 0 }); };
  probe.cleared = () => { const data = field(); return cfg.steps.every((pts) => shows(data, pts, 5)); };
  return true;
}
