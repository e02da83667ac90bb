// The wall page: a grid of kiosk thumbnails fed by the wall stream
// (docs/tile-protocol.md). Plain JS, no build step.
//
// It runs for days on a NOC screen, so nothing grows with time: one DOM node
// per kiosk (made when first shown, dropped when the kiosk leaves the
// inventory) and per leased line (dropped when the line goes), one object
// URL per shown picture (revoked when replaced or hidden), and all timers
// are single chains.
//
// URL parameters (kept up to date, so a bookmarked screen comes back as it
// was): cols (tiles per row, default: about 270 device pixels a tile), rotate (seconds per page, default
// 20, 0 = no rotation), size (small, large; default by tile size), site,
// state, q (search).
"use strict";

(function () {
  const PROTOCOL_VERSION = 1;
  const PREFETCH_MS = 2000; // subscribe to the next page this long before showing it
  const STATS_MS = 5000;    // how often the lines' rates are fetched (GET api/stats)
  const FULL_LINE = 0.9;    // a line this close to its cap is marked
  const STATES = ["online", "connecting", "offline", "auth_failed", "error"];
  const PROBLEMS = new Set(["offline", "auth_failed", "error"]);
  const STATE_LABEL = { online: "online", connecting: "connecting", offline: "offline", auth_failed: "auth failed", error: "error" };

  const params = new URLSearchParams(location.search);
  const cfg = {
    cols: clampInt(params.get("cols"), 0, 1, 64), // 0: by the screen's size
    rotate: clampInt(params.get("rotate"), 20, 0, 3600),
    size: params.get("size") || "",
  };
  const filter = { site: params.get("site") || "", state: params.get("state") || "", q: (params.get("q") || "").toLowerCase() };

  const $ = (id) => document.getElementById(id);
  const grid = $("grid"), banner = $("banner"), counts = $("counts"), empty = $("empty"), linesBox = $("lines");
  const siteSelect = $("f-site"), stateSelect = $("f-state"), search = $("f-search");
  const pageNo = $("page-no"), pauseButton = $("pause");
  const decoder = new TextDecoder();

  // kiosks: id -> record {status, node, img, badge, late, pic: {seq, updated, stale}, shown, pending, badState}
  const kiosks = new Map();
  const sections = new Map(); // site -> {el, info, tiles}
  const lines = new Map();    // "" (the total) or a site -> {el, fill, rate}
  let linesKey = "";
  let renditions = [];
  let clockOffset = 0; // server time minus local time, ms
  let pages = [];      // [[{site, ids, cont}]]
  let pageIndex = 0;
  let shownKey = "";   // ids of the rendered page, to skip needless re-renders
  let subscribedKey = "";
  let wanted = new Set(); // tiles currently subscribed
  let paused = false;
  let prefetch = [];   // ids of the next page while it is being prefetched
  let ws = null, attempt = 0, refCounter = 0;
  let reconnectTimer = 0, reconnectAt = 0, reconnectWhy = "";
  let rotateTimer = 0, layoutQueued = false;
  let sitesKey = "";
  let geometry = null;

  // ---- connection ----

  function connect() {
    reconnectTimer = 0;
    const url = new URL("ws/wall", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(url);
    sock.binaryType = "arraybuffer";
    ws = sock;
    sock.onmessage = (ev) => {
      if (ws !== sock) return;
      if (typeof ev.data === "string") onText(ev.data);
      else onTile(ev.data);
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      subscribedKey = ""; // the next connection starts with no subscription
      scheduleReconnect(ev.code === 1008 ? "the server refused a message from this page (" + ev.reason + ")" : "");
    };
  }

  function scheduleReconnect(why) {
    attempt++;
    const base = Math.min(10000, 500 * 2 ** Math.min(attempt - 1, 5));
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    reconnectAt = Date.now() + delay;
    reconnectWhy = why;
    showBanner();
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, delay);
  }

  function showBanner() {
    const secs = Math.max(0, Math.ceil((reconnectAt - Date.now()) / 1000));
    banner.textContent = "Disconnected from the kioskwall server" + (reconnectWhy ? ": " + reconnectWhy : "") +
      ". Reconnecting" + (secs > 0 ? " in " + secs + " s" : "") + " (attempt " + attempt + "). Pictures and states shown may be out of date.";
    banner.hidden = false;
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function onText(text) {
    let m;
    try { m = JSON.parse(text); } catch (e) { return; }
    switch (m.type) {
      case "hello":
        if (m.version !== PROTOCOL_VERSION) {
          banner.textContent = "The server speaks tile protocol version " + m.version + "; this page speaks " +
            PROTOCOL_VERSION + ". Reload the page.";
          banner.hidden = false;
          ws.close();
          return;
        }
        attempt = 0;
        banner.hidden = true;
        renditions = m.renditions || [];
        setClock(m.now);
        break;
      case "status":
        setClock(m.now);
        onStatus(m);
        break;
      case "error":
        console.warn("wall stream error:", m.code, m.message);
        break;
    }
  }

  function setClock(now) {
    const t = Date.parse(now);
    if (!isNaN(t)) clockOffset = t - Date.now();
  }

  // ---- status ----

  function onStatus(m) {
    if (m.full) {
      const keep = new Set();
      for (const s of m.kiosks) keep.add(s.id);
      for (const id of kiosks.keys()) if (!keep.has(id)) forget(id);
    }
    for (const s of m.kiosks || []) {
      let rec = kiosks.get(s.id);
      if (!rec) {
        rec = { status: s, node: null, img: null, badge: null, late: null, name: null, code: null, pic: null, shown: "", pending: "", badState: "" };
        kiosks.set(s.id, rec);
      }
      if (PROBLEMS.has(s.state)) rec.badState = s.state;
      else if (s.state === "online") rec.badState = "";
      rec.status = s;
      if (rec.node) paintStatus(rec);
    }
    for (const id of m.removed || []) forget(id);
    updateCounts();
    updateSiteOptions();
    queueLayout();
  }

  function forget(id) {
    const rec = kiosks.get(id);
    if (!rec) return;
    dropPicture(rec);
    if (rec.node) rec.node.remove();
    kiosks.delete(id);
  }

  function updateCounts() {
    const n = { online: 0, connecting: 0, offline: 0, auth_failed: 0, error: 0 };
    let overdue = 0;
    for (const rec of kiosks.values()) {
      n[rec.status.state] = (n[rec.status.state] || 0) + 1;
      if (isOverdue(rec)) overdue++;
    }
    let html = "<span>" + kiosks.size + " kiosks</span>";
    for (const s of STATES) if (n[s]) html += '<span class="n-' + s + '">' + n[s] + " " + STATE_LABEL[s] + "</span>";
    if (overdue) html += '<span class="n-overdue">' + overdue + " overdue</span>";
    if (counts.innerHTML !== html) counts.innerHTML = html;
  }

  function updateSiteOptions() {
    const set = new Set([...kiosks.values()].map((r) => r.status.site));
    if (filter.site) set.add(filter.site); // a bookmarked site that has no kiosks now
    const sites = [...set].sort();
    const key = sites.join("\n");
    if (key === sitesKey) return;
    sitesKey = key;
    for (const site of sections.keys()) if (!set.has(site)) sections.delete(site);
    const opts = [new Option("all sites", "")];
    for (const s of sites) opts.push(new Option(s, s));
    siteSelect.replaceChildren(...opts);
    siteSelect.value = filter.site;
  }

  // ---- tiles ----

  function onTile(buf) {
    const v = new DataView(buf);
    if (buf.byteLength < 26 || v.getUint8(0) !== PROTOCOL_VERSION) return;
    const flags = v.getUint8(1), hlen = v.getUint16(2);
    const idLen = v.getUint8(24);
    if (25 + idLen + 1 > buf.byteLength) return;
    const rLen = v.getUint8(25 + idLen);
    if (hlen < 26 + idLen + rLen || hlen > buf.byteLength) return;
    const id = decoder.decode(new Uint8Array(buf, 25, idLen));
    const rec = kiosks.get(id);
    if (!rec || !wanted.has(id)) return;
    tileNode(rec); // a prefetched kiosk may not have been shown yet
    const seq = Number(v.getBigUint64(4)), updated = Number(v.getBigInt64(12));
    rec.pic = { seq: seq, updated: updated, stale: (flags & 1) !== 0 };
    if (rec.pending) URL.revokeObjectURL(rec.pending); // a newer picture replaces one still decoding
    rec.pending = URL.createObjectURL(new Blob([new Uint8Array(buf, hlen)], { type: "image/jpeg" }));
    rec.img.src = rec.pending;
    rec.node.classList.toggle("stale", rec.pic.stale);
    paintAge(rec);
  }

  function pictureLoaded(rec) {
    if (!rec.pending) return;
    if (rec.shown) URL.revokeObjectURL(rec.shown);
    rec.shown = rec.pending;
    rec.pending = "";
    rec.node.classList.add("has-pic");
    rec.node.dataset.seq = rec.pic ? String(rec.pic.seq) : "";
  }

  function pictureFailed(rec) {
    if (rec.pending) URL.revokeObjectURL(rec.pending);
    rec.pending = "";
  }

  // dropPicture frees the picture of a kiosk that is no longer shown.
  function dropPicture(rec) {
    if (rec.pending) URL.revokeObjectURL(rec.pending);
    if (rec.shown) URL.revokeObjectURL(rec.shown);
    rec.pending = rec.shown = "";
    rec.pic = null;
    if (rec.node) {
      rec.img.removeAttribute("src");
      rec.node.classList.remove("has-pic", "stale");
      delete rec.node.dataset.seq;
    }
  }

  function tileNode(rec) {
    if (rec.node) return rec.node;
    const a = document.createElement("a");
    a.className = "tile";
    a.dataset.id = rec.status.id;
    a.href = "kiosk/" + encodeURIComponent(rec.status.id);
    const pic = document.createElement("div");
    pic.className = "pic";
    const img = document.createElement("img");
    img.alt = "";
    img.decoding = "async";
    img.addEventListener("load", () => pictureLoaded(rec));
    img.addEventListener("error", () => pictureFailed(rec));
    const nopic = document.createElement("span");
    nopic.className = "nopic";
    nopic.textContent = "waiting for a picture";
    const late = document.createElement("span");
    late.className = "late";
    pic.append(img, nopic, late);
    const cap = document.createElement("div");
    cap.className = "cap";
    const name = document.createElement("span");
    name.className = "name";
    const code = document.createElement("span");
    code.className = "code";
    const badge = document.createElement("span");
    badge.className = "badge";
    cap.append(name, code, badge);
    a.append(pic, cap);
    rec.node = a;
    rec.img = img;
    rec.badge = badge;
    rec.late = late;
    rec.name = name;
    rec.code = code;
    paintStatus(rec);
    return a;
  }

  function shownState(rec) {
    // A kiosk that keeps failing goes through "connecting" before every
    // retry; it stays marked as the problem it is.
    return rec.status.state === "connecting" && rec.badState ? rec.badState : rec.status.state;
  }

  function paintStatus(rec) {
    const s = rec.status, node = rec.node;
    const cls = "tile state-" + shownState(rec) + (rec.pic && rec.pic.stale ? " stale" : "") + (rec.shown ? " has-pic" : "") +
      (isOverdue(rec) ? " overdue" : "");
    if (node.className !== cls) node.className = cls;
    const title = s.name + " (" + s.id + ", " + s.site + "): " + STATE_LABEL[s.state] + (s.message ? " \u2014 " + s.message : "");
    if (node.title !== title) node.title = title;
    setText(rec.name, s.name);
    setText(rec.code, s.id);
    paintAge(rec);
  }

  // paintAge writes the badge: the state when there is a problem, and the age
  // of the picture.
  function paintAge(rec) {
    const state = shownState(rec);
    let age;
    if (rec.pic && rec.pic.stale) age = "stale";
    else {
      const updated = rec.pic && rec.pic.updated ? rec.pic.updated : Date.parse(rec.status.last_update || "");
      age = updated > 0 ? formatAge(Date.now() + clockOffset - updated) : "";
    }
    let text;
    if (state === "online") text = age || "online";
    else if (rec.status.state === "connecting" && rec.badState) text = STATE_LABEL[state] + " \u00b7 retrying";
    else text = STATE_LABEL[state] + (age ? " \u00b7 " + age : "");
    setText(rec.badge, text);
    paintLate(rec);
  }

  // An overdue kiosk is watched and online, but has not confirmed its
  // picture (answered) within its maximum age: its line's budget did not
  // allow it. The server says when; the page shows for how long.
  function isOverdue(rec) {
    return rec.status.overdue === true && rec.status.state === "online";
  }

  function paintLate(rec) {
    if (!isOverdue(rec)) {
      setText(rec.late, "");
      return;
    }
    const confirmed = Date.parse(rec.status.confirmed || "");
    const age = confirmed > 0 ? formatAge(Date.now() + clockOffset - confirmed) : "";
    setText(rec.late, age ? age + " old" : "overdue");
    const title = "Overdue: the kiosk last confirmed this picture " + (age ? age + " ago" : "long ago") +
      "; its line's bandwidth budget does not allow keeping it fresher.";
    if (rec.late.title !== title) rec.late.title = title;
  }

  function formatAge(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 172800) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " d";
  }

  // ---- leased lines ----

  // pollStats fetches the lines' rates and caps, one request at a time, so
  // a slow server never gets a pile of them.
  function pollStats() {
    fetch("api/stats", { cache: "no-store", signal: AbortSignal.timeout(2 * STATS_MS) })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
      .then((st) => {
        linesBox.classList.remove("unknown");
        paintLines(st.budgets);
      })
      // The banner says when the server is gone; here the rates only dim.
      .catch(() => linesBox.classList.add("unknown"))
      .finally(() => setTimeout(pollStats, STATS_MS));
  }

  // paintLines shows the total and every site: the rate of the last second
  // against the cap, with a bar where there is a cap.
  function paintLines(b) {
    const list = b ? [b.total].concat(b.sites || []) : [];
    const key = list.map((l) => l.site).join("\n");
    if (key !== linesKey) {
      linesKey = key;
      const keep = new Set(list.map((l) => l.site));
      for (const site of lines.keys()) if (!keep.has(site)) lines.delete(site);
      linesBox.replaceChildren(...list.map((l) => lineNode(l.site).el));
    }
    for (const l of list) paintLine(lines.get(l.site), l);
  }

  function lineNode(site) {
    let ln = lines.get(site);
    if (ln) return ln;
    const el = document.createElement("span");
    el.className = "line";
    el.dataset.site = site;
    const name = document.createElement("span");
    name.className = "line-name";
    name.textContent = site || "total";
    const meter = document.createElement("span");
    meter.className = "meter";
    const fill = document.createElement("span");
    fill.className = "fill";
    meter.append(fill);
    const rate = document.createElement("span");
    rate.className = "line-rate";
    el.append(name, meter, rate);
    ln = { el: el, fill: fill, rate: rate };
    lines.set(site, ln);
    return ln;
  }

  function paintLine(ln, l) {
    const capped = l.cap_bps > 0;
    const u = capped ? l.bps / l.cap_bps : 0;
    const cls = "line" + (capped ? " capped" : "") + (capped && u >= FULL_LINE ? " full" : "");
    if (ln.el.className !== cls) ln.el.className = cls;
    const width = Math.round(Math.min(1, u) * 100) + "%";
    if (ln.fill.style.width !== width) ln.fill.style.width = width;
    let text = rateText(l.bps);
    if (capped) {
      // "1.2 / 2 Mbit/s"; a rate too small for the cap's unit keeps its own.
      const unit = rateUnit(l.cap_bps);
      text = (l.bps === 0 || l.bps / unit.size >= 0.1 ? rateNumber(l.bps, unit) : text) + " / " + rateText(l.cap_bps);
    }
    setText(ln.rate, text);
    const title = (l.site || "All sites together") + ": " + rateText(l.bps) +
      (capped ? " of its " + rateText(l.cap_bps) + " cap (" + Math.round(u * 100) + "%), " : ", no cap of its own, ") +
      "over the last second; busiest 10 s " + sinceText(l.cap_since) + " " + rateText(l.worst_window_bps) +
      (l.request_slots ? "; update requests: " + l.requests_outstanding + " of " + l.request_slots + " slots in use, " + l.requests_waiting + " waiting" : "");
    if (ln.el.title !== title) ln.el.title = title;
  }

  // sinceText says from when the busiest window counts: the server's start
  // or the reload that changed the line's cap (cap_since).
  function sinceText(capSince) {
    const t = Date.parse(capSince || "");
    return isNaN(t) ? "so far" : "since " + new Date(t).toLocaleString();
  }

  function rateText(bps) {
    const unit = rateUnit(bps);
    return rateNumber(bps, unit) + " " + unit.name;
  }

  const RATE_UNITS = [{ name: "Gbit/s", size: 1e9 }, { name: "Mbit/s", size: 1e6 }, { name: "kbit/s", size: 1e3 }, { name: "bit/s", size: 1 }];

  function rateUnit(bps) {
    for (const u of RATE_UNITS) if (bps >= u.size) return u;
    return RATE_UNITS[1]; // an idle uncapped line: "0 Mbit/s"
  }

  // rateNumber writes bps in unit with about two significant digits: "12",
  // "1.5", "0.35".
  function rateNumber(bps, unit) {
    const v = bps / unit.size;
    if (v >= 10 || v === 0) return String(Math.round(v));
    return String(Number(v.toPrecision(2)));
  }

  // ---- layout and paging ----

  function visibleKiosks() {
    const out = [];
    for (const rec of kiosks.values()) {
      const s = rec.status;
      if (filter.site && s.site !== filter.site) continue;
      if (filter.state === "problem" ? !PROBLEMS.has(shownState(rec)) : filter.state && shownState(rec) !== filter.state) continue;
      if (filter.q && !s.id.toLowerCase().includes(filter.q) && !s.name.toLowerCase().includes(filter.q)) continue;
      out.push(s);
    }
    out.sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return out;
  }

  // measure sizes tiles so that cols of them fill the width, and sets the
  // CSS variables the stylesheet sizes everything with.
  function measure() {
    const style = getComputedStyle(document.documentElement);
    const gap = parseFloat(style.getPropertyValue("--gap")) || 6;
    const width = grid.clientWidth - 2 * gap, height = grid.clientHeight - 2 * gap;
    // Tiles about 270 device pixels wide unless the URL says otherwise: 14
    // columns and well over 100 tiles on a 4K screen, whatever its scaling.
    const want = cfg.cols || Math.max(3, Math.round(width * (window.devicePixelRatio || 1) / 270));
    const tileW = Math.max(80, Math.floor((width - (want - 1) * gap) / want));
    const imgH = Math.round(tileW * 9 / 16);
    const font = Math.max(10, Math.min(18, Math.round(tileW / 22)));
    const capH = font + 8, headH = font + 10;
    const root = document.documentElement.style;
    root.setProperty("--tile-w", tileW + "px");
    root.setProperty("--img-h", imgH + "px");
    root.setProperty("--cap-h", capH + "px");
    root.setProperty("--head-h", headH + "px");
    root.setProperty("--font", font + "px");
    const cols = Math.max(1, Math.floor((width + gap) / (tileW + gap)));
    return { cols: cols, tileH: imgH + capH, headH: headH, gap: gap, height: height, tileW: tileW };
  }

  // paginate splits the kiosks into screens. Each site starts on a new row
  // under its own header; a site too big for what is left of a screen
  // continues on the next one.
  function paginate(list, g) {
    const out = [];
    let page = [], y = 0;
    let i = 0;
    while (i < list.length) {
      const site = list[i].site;
      let end = i;
      while (end < list.length && list[end].site === site) end++;
      let from = i;
      while (from < end) {
        if (page.length > 0 && y + g.headH + g.tileH > g.height) {
          out.push(page);
          page = [];
          y = 0;
        }
        const rows = Math.max(1, Math.floor((g.height - y - g.headH + g.gap) / (g.tileH + g.gap)));
        const take = Math.min(rows * g.cols, end - from);
        const ids = [];
        for (let k = from; k < from + take; k++) ids.push(list[k].id);
        page.push({ site: site, ids: ids, cont: from > i, total: end - i });
        y += g.headH + Math.ceil(take / g.cols) * (g.tileH + g.gap) + g.gap;
        from += take;
      }
      i = end;
    }
    if (page.length > 0) out.push(page);
    return out;
  }

  function queueLayout() {
    if (layoutQueued) return;
    layoutQueued = true;
    requestAnimationFrame(() => {
      layoutQueued = false;
      layout();
    });
  }

  function layout() {
    geometry = measure();
    pages = paginate(visibleKiosks(), geometry);
    if (pageIndex >= pages.length) pageIndex = Math.max(0, pages.length - 1);
    render();
    subscribe(pageIDs(pageIndex).concat(prefetch));
    scheduleRotation(false);
  }

  function pageIDs(i) {
    const ids = [];
    for (const g of pages[i] || []) for (const id of g.ids) ids.push(id);
    return ids;
  }

  function render() {
    const page = pages[pageIndex] || [];
    setText(pageNo, pages.length > 1 ? "page " + (pageIndex + 1) + " / " + pages.length : "");
    empty.hidden = page.length > 0;
    setText(empty, kiosks.size === 0 ? "No kiosks in the inventory yet." : "No kiosk matches the filter.");
    const key = page.map((g) => g.site + ":" + g.ids.join(",")).join("|");
    if (key === shownKey) return;
    shownKey = key;
    const children = [];
    for (const g of page) {
      const sec = section(g.site);
      setText(sec.info, " \u2014 " + g.total + " kiosks" + (g.cont ? " (continued)" : ""));
      const nodes = [];
      for (const id of g.ids) nodes.push(tileNode(kiosks.get(id)));
      sec.tiles.replaceChildren(...nodes);
      children.push(sec.el);
    }
    grid.replaceChildren(empty, ...children);
  }

  // section returns the header and tile box of a site, made once and kept
  // while the site has kiosks.
  function section(site) {
    let sec = sections.get(site);
    if (sec) return sec;
    const el = document.createElement("section");
    el.className = "site";
    const h = document.createElement("h2");
    const name = document.createElement("span");
    name.className = "site-name";
    name.textContent = site;
    const info = document.createElement("span");
    h.append(name, info);
    const tiles = document.createElement("div");
    tiles.className = "tiles";
    el.append(h, tiles);
    sec = { el: el, info: info, tiles: tiles };
    sections.set(site, sec);
    return sec;
  }

  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  // subscribe asks for exactly these tiles and frees the pictures of the
  // kiosks no longer wanted.
  function subscribe(ids) {
    const key = ids.join(",");
    if (key === subscribedKey || !ws || ws.readyState !== WebSocket.OPEN || renditions.length === 0) return;
    subscribedKey = key;
    const next = new Set(ids);
    for (const id of wanted) {
      if (!next.has(id)) {
        const rec = kiosks.get(id);
        if (rec) dropPicture(rec);
      }
    }
    wanted = next;
    const rendition = chooseRendition();
    const tiles = [];
    for (const id of ids) tiles.push({ id: id, rendition: rendition });
    refCounter = (refCounter + 1) % 1e9;
    send({ type: "subscribe", ref: refCounter, tiles: tiles });
  }

  function chooseRendition() {
    const names = renditions.map((r) => r.name);
    if (cfg.size && names.includes(cfg.size)) return cfg.size;
    // The smallest rendition that is sharp at the tile's size in device pixels.
    const need = (geometry ? geometry.tileW : 320) * (window.devicePixelRatio || 1);
    const bySize = renditions.slice().sort((a, b) => a.width - b.width);
    for (const r of bySize) if (r.width >= need * 0.8) return r.name;
    return bySize[bySize.length - 1].name;
  }

  function showPage(i) {
    if (pages.length === 0) return;
    pageIndex = ((i % pages.length) + pages.length) % pages.length;
    prefetch = [];
    render();
    subscribe(pageIDs(pageIndex));
  }

  // scheduleRotation (re)starts the one rotation timer chain: subscribe to
  // the next page PREFETCH_MS before showing it, so it appears with pictures.
  function scheduleRotation(restart) {
    if (rotateTimer && !restart) return;
    clearTimeout(rotateTimer);
    rotateTimer = 0;
    if (paused || cfg.rotate === 0) return;
    const wait = Math.max(0, cfg.rotate * 1000 - PREFETCH_MS);
    rotateTimer = setTimeout(() => {
      if (pages.length > 1) {
        prefetch = pageIDs((pageIndex + 1) % pages.length);
        subscribe(pageIDs(pageIndex).concat(prefetch));
      }
      rotateTimer = setTimeout(() => {
        rotateTimer = 0;
        if (pages.length > 1) showPage(pageIndex + 1);
        scheduleRotation(false);
      }, Math.min(PREFETCH_MS, cfg.rotate * 1000));
    }, wait);
  }

  // ---- controls ----

  function syncURL() {
    const p = new URLSearchParams(location.search);
    setParam(p, "site", filter.site);
    setParam(p, "state", filter.state);
    setParam(p, "q", filter.q);
    const qs = p.toString();
    const url = location.pathname + (qs ? "?" + qs : "");
    if (url !== location.pathname + location.search) history.replaceState(null, "", url);
  }

  function setParam(p, name, value) {
    if (value) p.set(name, value);
    else p.delete(name);
  }

  function filterChanged() {
    filter.site = siteSelect.value;
    filter.state = stateSelect.value;
    filter.q = search.value.trim().toLowerCase();
    pageIndex = 0;
    syncURL();
    queueLayout();
  }

  function clampInt(v, def, lo, hi) {
    const n = parseInt(v, 10);
    return isNaN(n) ? def : Math.min(hi, Math.max(lo, n));
  }

  function manualPage(delta) {
    showPage(pageIndex + delta);
    scheduleRotation(true);
  }

  function togglePause() {
    paused = !paused;
    pauseButton.textContent = paused ? "resume" : "pause";
    scheduleRotation(true);
  }

  siteSelect.value = filter.site;
  stateSelect.value = filter.state;
  search.value = filter.q;
  siteSelect.addEventListener("change", filterChanged);
  stateSelect.addEventListener("change", filterChanged);
  search.addEventListener("input", filterChanged);
  $("prev").addEventListener("click", () => manualPage(-1));
  $("next").addEventListener("click", () => manualPage(1));
  pauseButton.addEventListener("click", togglePause);
  document.addEventListener("keydown", (ev) => {
    if (ev.target === search) return;
    if (ev.key === "ArrowRight") manualPage(1);
    else if (ev.key === "ArrowLeft") manualPage(-1);
    else if (ev.key === " ") { ev.preventDefault(); togglePause(); }
  });
  window.addEventListener("resize", () => { shownKey = ""; queueLayout(); });

  // Ages tick once a second, on the shown tiles only; the banner counts down.
  setInterval(() => {
    for (const id of wanted) {
      const rec = kiosks.get(id);
      if (rec && rec.node) paintAge(rec);
    }
    if (!ws && reconnectTimer) showBanner();
  }, 1000);

  connect();
  pollStats();
})();
