// The live page: noVNC showing one kiosk over kioskwall's live view.
//
// The page is view-only until the operator takes control. Control is the
// server's decision (POST ../api/kiosks/ID/control); noVNC's viewOnly flag
// only follows it, so the page never believes it has control the server did
// not give. The page's state is mirrored on <body data-rfb data-control> for
// people reading the DOM and for tests.

const kioskID = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
const viewerID = randomID();
const statusEvery = 3000;   // ms between polls of the kiosk's status and control
const maxBackoff = 15000;   // ms, the longest wait before reconnecting

const $ = (id) => document.getElementById(id);
const ui = {
  name: $("name"), code: $("code"), site: $("site"), state: $("state"),
  controller: $("controller"), notice: $("notice"), screen: $("screen"),
  control: $("control"), cad: $("cad"), fit: $("fit"),
  clipToggle: $("clip-toggle"), clipboard: $("clipboard"), clipText: $("clip-text"), clipSend: $("clip-send"),
};

let RFB = null;        // noVNC's class, once loaded
let rfb = null;        // the connection now, or null
let connected = false;
let haveControl = false;
let wantControl = false; // the operator's switch: survives reconnects
let backoff = 1000;
let reconnectTimer = 0;
let kiosk = null;      // last status from the API
// What went wrong, by source; render shows the most pressing one.
let connError = "";    // the live view's connection, until it works again
let statusError = "";  // the status API, until it answers
let controlError = ""; // the last control request, until the next one

function randomID() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function apiURL(path) {
  return new URL("../api/kiosks/" + encodeURIComponent(kioskID) + path, location.href);
}

function wsURL() {
  const u = new URL("../ws/vnc/" + encodeURIComponent(kioskID), location.href);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.searchParams.set("viewer", viewerID);
  return u.href;
}

// --- what the page shows ---------------------------------------------------

function showNotice(text, kind) {
  ui.notice.hidden = !text;
  ui.notice.textContent = text || "";
  ui.notice.className = "notice" + (kind ? " " + kind : "");
}

// render derives everything visible from the state variables, so no event
// handler can leave the page half updated.
function render() {
  document.body.dataset.rfb = connected ? "connected" : (rfb ? "connecting" : "disconnected");
  document.body.dataset.control = String(haveControl);
  ui.control.checked = haveControl;
  ui.control.disabled = !connected;
  ui.cad.disabled = !haveControl;
  ui.clipSend.disabled = !haveControl;
  if (rfb) rfb.viewOnly = !haveControl;

  const st = kiosk && kiosk.state;
  ui.state.textContent = st ? st.replace("_", " ") : "unknown";
  ui.state.className = "badge " + (st || "");
  const err = statusError || connError || controlError;
  if (err) {
    showNotice(err);
  } else if (kiosk && st !== "online") {
    const what = st === "connecting" ? "kiosk not connected yet" : "kiosk unreachable";
    showNotice(what + ": " + (kiosk.message || st) + (kiosk.last_update ? " - showing the last picture" : ""));
  } else if (!connected) {
    showNotice("Connecting to the live view...", "info");
  } else {
    showNotice("");
  }
}

function showKiosk(k) {
  kiosk = k;
  ui.name.textContent = k.name || k.id;
  ui.code.textContent = k.id;
  ui.site.textContent = k.site || "";
  document.title = (k.name || k.id) + " (" + k.id + ") - kioskwall";
}

function showController(c) {
  if (!c || !c.controller) {
    ui.controller.textContent = haveControl ? "" : "view only";
    ui.controller.className = "controller";
    return;
  }
  if (c.control) {
    ui.controller.textContent = "you have control";
    ui.controller.className = "controller mine";
    return;
  }
  const since = new Date(c.controller.since).toLocaleTimeString();
  ui.controller.textContent = "controlled by " + c.controller.remote_addr + " (" + c.controller.browser + ") since " + since;
  ui.controller.className = "controller";
}

// --- the connection ----------------------------------------------------------

function connect() {
  reconnectTimer = 0;
  rfb = new RFB(ui.screen, wsURL(), { shared: true, wsProtocols: ["binary"] });
  rfb.viewOnly = true;
  rfb.scaleViewport = ui.fit.checked;
  rfb.resizeSession = false;
  rfb.qualityLevel = 8;
  rfb.compressionLevel = 2;
  rfb.addEventListener("connect", onConnect);
  rfb.addEventListener("disconnect", onDisconnect);
  rfb.addEventListener("desktopname", (e) => { if (!kiosk) ui.name.textContent = e.detail.name; });
  // The kiosk's clipboard: kioskwall sends it only while this page has control.
  rfb.addEventListener("clipboard", (e) => { ui.clipText.value = e.detail.text; });
  render();
}

async function onConnect() {
  connected = true;
  backoff = 1000;
  connError = "";
  render();
  // The server forgets control with the connection: ask again after a
  // reconnect if the operator had it.
  if (wantControl) await requestControl(true);
  poll();
}

function onDisconnect(e) {
  const r = rfb;
  rfb = null;
  connected = false;
  haveControl = false;
  r.removeEventListener("connect", onConnect);
  r.removeEventListener("disconnect", onDisconnect);
  connError = (e.detail.clean ? "Live view closed" : "Live view lost") +
    "; reconnecting in " + Math.round(backoff / 1000) + " s";
  render();
  reconnectTimer = setTimeout(connect, backoff);
  backoff = Math.min(backoff * 2, maxBackoff);
}

// --- control -------------------------------------------------------------------

async function requestControl(on) {
  controlError = "";
  try {
    const res = await fetch(apiURL("/control"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ viewer: viewerID, control: on }),
    });
    const body = await res.json();
    haveControl = !!body.control;
    if (!res.ok) {
      wantControl = false;
      controlError = body.error || ("control request failed: HTTP " + res.status);
    }
    showController(body);
  } catch (err) {
    haveControl = false;
    controlError = "control request failed: " + err.message;
  }
  render();
}

// --- status polling ------------------------------------------------------------

let pollTimer = 0;

async function poll() {
  clearTimeout(pollTimer);
  try {
    const [k, c] = await Promise.all([
      fetch(apiURL("")).then(async (r) => {
        if (r.status === 404) throw new Error("kiosk " + kioskID + " is not in the inventory");
        if (!r.ok) throw new Error("kiosk status: HTTP " + r.status);
        return r.json();
      }),
      fetch(apiURL("/control?viewer=" + viewerID)).then((r) => (r.ok ? r.json() : null)),
    ]);
    showKiosk(k);
    if (c) {
      // The server is the judge: control may have ended without this page
      // asking (it reconnected, or the server restarted).
      if (haveControl && !c.control) wantControl = false;
      haveControl = !!c.control;
      showController(c);
    }
    statusError = "";
  } catch (err) {
    statusError = err.message;
  }
  render();
  pollTimer = setTimeout(poll, statusEvery);
}

// --- the tools -------------------------------------------------------------------

ui.control.addEventListener("change", () => {
  wantControl = ui.control.checked;
  ui.control.checked = haveControl; // until the server says so
  requestControl(wantControl);
  if (wantControl) ui.screen.focus();
});
ui.cad.addEventListener("click", () => { if (rfb && haveControl) rfb.sendCtrlAltDel(); });
ui.fit.addEventListener("change", () => { if (rfb) rfb.scaleViewport = ui.fit.checked; });
ui.clipToggle.addEventListener("click", () => {
  ui.clipboard.hidden = !ui.clipboard.hidden;
  ui.clipToggle.setAttribute("aria-expanded", String(!ui.clipboard.hidden));
});
ui.clipSend.addEventListener("click", () => {
  if (rfb && haveControl && ui.clipText.value) rfb.clipboardPasteFrom(ui.clipText.value);
});
// Leaving the page ends the connection cleanly, which ends control at once.
window.addEventListener("pagehide", () => { if (rfb) rfb.disconnect(); });

// --- start -------------------------------------------------------------------------

async function start() {
  ui.code.textContent = kioskID;
  try {
    ({ default: RFB } = await import(new URL("../vendor/novnc/core/rfb.js", location.href).href));
  } catch (err) {
    showNotice("noVNC is missing from this build (" + err.message + "): run scripts/vendor-novnc, then rebuild kioskwall");
    document.body.dataset.rfb = "unavailable";
    poll();
    return;
  }
  connect();
  poll();
}

start();
