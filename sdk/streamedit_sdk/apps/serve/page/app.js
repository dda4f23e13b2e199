// StreamEdit page: the camera goes up over WebRTC, the edited video comes back beside it.
//
// Frames keep flowing when this tab is hidden or covered (a streamer captures another window
// into OBS): where the browser has MediaStreamTrackProcessor / MediaStreamTrackGenerator
// (Chrome, Edge), each camera frame is stamped on an OffscreenCanvas as it arrives, and the
// returned frames are read the same way, so nothing depends on timers or animation frames,
// which a hidden page gets throttled. Elsewhere the camera track itself is sent (no stamps,
// no latency figure).
//
// Latency is measured here, in the browser: every frame sent carries its number in a strip
// of PROBE_ROWS rows under the picture (CELLS black or white cells); the server edits the
// picture above it and sends the strip back unchanged, so when the edited frame comes back,
// its number says when it was sent. The strip is cropped from the view.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token");
const auth = token ? { Authorization: "Bearer " + token } : {};
const PROBE_ROWS = 16, CELLS = 16, ID_BITS = CELLS - 2, ID_MOD = 1 << ID_BITS;
const THUMB_W = 32, THUMB_H = 24;  // the thumbnails compared to see that the edit is there
const RETRY_MS = 2000, RETRY_MAX_MS = 30000;  // between reconnection attempts: doubling
// while attempts keep failing to connect (a blocked network), back to 2 s once one works
const BREAKOUT = "MediaStreamTrackProcessor" in window && "MediaStreamTrackGenerator" in window;

const $ = (id) => document.getElementById(id);
const counts = { sent: 0, received: 0, shown: 0, stamped: 0, unreadable: 0, audio: 0,
                 reconnects: 0 };
const sentAt = new Map(), sentThumbs = new Map();
const latencies = [], diffs = [], receivedAt = [], shownAt = [];
let pc = null, sid = null, camera = null, sending = null, timers = [], nextId = 0;
let wanted = false;  // the user asked for a stream (reconnect while true)
let attempt = 0;  // which connection attempt is current (older ones' events are ignored)
let retry = null, edit = null, size = null, backoff = RETRY_MS;

const outputKey = (() => {  // this browser's output name: the OBS link survives reloads,
  // reconnections and restarts of the browser (two tabs share it: the newer one shows)
  let key = localStorage.getItem("streamedit-output-key");
  if (!key) {
    const bytes = crypto.getRandomValues(new Uint8Array(18));
    key = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
    localStorage.setItem("streamedit-output-key", key);
  }
  return key;
})();

function api(path, options = {}) {
  return fetch(path, { ...options, headers: { ...auth, ...(options.headers || {}) } });
}

function postJson(path, body, options = {}) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" },
                     body: JSON.stringify(body), ...options });
}

async function errorOf(reply) {  // the server's reason, whatever came back
  try { return (await reply.json()).error || `HTTP ${reply.status}`; }
  catch (e) { return `HTTP ${reply.status}`; }
}

function setState(text, kind = "") {
  $("state").textContent = text;
  $("state").className = kind;
}

function percentile(values, q) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q / 100 * s.length))];
}

function thumbnail(source, sx, sy, sw, sh) {
  const c = thumbnail.canvas || (thumbnail.canvas = new OffscreenCanvas(THUMB_W, THUMB_H));
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, sx, sy, sw, sh, 0, 0, THUMB_W, THUMB_H);
  return ctx.getImageData(0, 0, THUMB_W, THUMB_H).data.slice();
}

function stamp(ctx, id, w, h) {  // guard cells: first white, last black; the number between
  const cell = Math.floor(w / CELLS);
  for (let k = 0; k < CELLS; k++) {
    const bit = k === 0 ? 1 : k === CELLS - 1 ? 0 : (id >> (ID_BITS - k)) & 1;
    ctx.fillStyle = bit ? "#fff" : "#000";
    ctx.fillRect(k * cell, h, k === CELLS - 1 ? w - k * cell : cell, PROBE_ROWS);
  }
}

function readStamp(source, sw, sh, w, h) {  // the number in a returned frame's strip, or null
  const c = readStamp.canvas || (readStamp.canvas = new OffscreenCanvas(w, PROBE_ROWS));
  if (c.width !== w) c.width = w;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  const top = sh * h / (h + PROBE_ROWS);
  ctx.drawImage(source, 0, top, sw, sh - top, 0, 0, w, PROBE_ROWS);
  const data = ctx.getImageData(0, 0, w, PROBE_ROWS).data, cell = Math.floor(w / CELLS);
  const bits = [];
  for (let k = 0; k < CELLS; k++) {  // mean of the cell's middle
    let sum = 0, n = 0;
    for (let y = 4; y < PROBE_ROWS - 4; y++)
      for (let x = k * cell + (cell >> 2); x < (k + 1) * cell - (cell >> 2); x++, n++) {
        const i = 4 * (y * w + x);
        sum += data[i] + data[i + 1] + data[i + 2];
      }
    bits.push(sum / (3 * n) > 127 ? 1 : 0);
  }
  if (bits[0] !== 1 || bits[CELLS - 1] !== 0) return null;
  return bits.slice(1, CELLS - 1).reduce((v, b) => (v << 1) | b, 0);
}

function eachFrame(track, callback) {  // every frame of a track, off the page's rendering
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  (async () => {
    for (;;) {
      const { value: frame, done } = await reader.read().catch(() => ({ done: true }));
      if (done) return;
      try { await callback(frame); } finally { frame.close(); }
    }
  })();
  return reader;
}

function stampedTrack(track) {  // the camera's frames with their number strip: what goes up
  const generator = new MediaStreamTrackGenerator({ kind: "video" });
  const writer = generator.writable.getWriter();
  let canvas = null, ctx = null;
  eachFrame(track, async (frame) => {
    const w = frame.displayWidth, h = frame.displayHeight;
    if (!canvas || canvas.width !== w || canvas.height !== h + PROBE_ROWS) {
      canvas = new OffscreenCanvas(w, h + PROBE_ROWS);
      ctx = canvas.getContext("2d");
      size = { w, h };
    }
    ctx.drawImage(frame, 0, 0, w, h);
    stamp(ctx, nextId, w, h);
    sentAt.set(nextId, performance.now());
    sentThumbs.set(nextId, thumbnail(frame, 0, 0, w, h));
    sentAt.delete((nextId + ID_MOD - 256) % ID_MOD);
    sentThumbs.delete((nextId + ID_MOD - 256) % ID_MOD);
    nextId = (nextId + 1) % ID_MOD;
    counts.sent++;
    await writer.write(new VideoFrame(canvas, { timestamp: frame.timestamp }));
  });
  return generator;
}

function edited(source, sw, sh, now) {  // latency and edit strength of a returned frame
  counts.received++;
  receivedAt.push(now);
  if (!size) return;
  const id = readStamp(source, sw, sh, size.w, size.h);
  if (id === null || !sentAt.has(id)) { counts.unreadable++; return; }
  counts.stamped++;
  latencies.push(now - sentAt.get(id));
  const mine = thumbnail(source, 0, 0, sw, sh * size.h / (size.h + PROBE_ROWS));
  const theirs = sentThumbs.get(id);
  let sum = 0;
  for (let i = 0; i < mine.length; i += 4)
    sum += Math.abs(mine[i] - theirs[i]) + Math.abs(mine[i + 1] - theirs[i + 1]) +
           Math.abs(mine[i + 2] - theirs[i + 2]);
  diffs.push(sum / (3 * THUMB_W * THUMB_H));
  sentAt.delete(id);
}

function countShown(video) {  // frames the page actually painted (none while it is hidden)
  if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return;
  const tick = (now) => {
    counts.shown++;
    shownAt.push(now);
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
}

function measurements(final = false) {
  const now = performance.now();
  for (const list of [receivedAt, shownAt])
    while (list.length && list[0] < now - 2000) list.shift();
  return {
    frames_sent: counts.sent, frames_received: counts.received, frames_shown: counts.shown,
    frames_stamped: counts.stamped, frames_unreadable: counts.unreadable,
    fps_received: receivedAt.length / 2, fps_shown: shownAt.length / 2,
    latency_p50_ms: percentile(latencies, 50), latency_p95_ms: percentile(latencies, 95),
    latency_samples: latencies.length, edit_diff_median: percentile(diffs, 50),
    audio_tracks_received: counts.audio, reconnects: counts.reconnects,
    hidden_now: document.hidden ? 1 : 0, stamped_pipeline: BREAKOUT ? 1 : 0,
    width: size ? size.w : null, height: size ? size.h : null,
    user_agent: navigator.userAgent.slice(0, 200), final: final ? 1 : 0,
  };
}

async function report(final = false) {
  if (sid) await postJson(`session/${sid}/report`, measurements(final));
}

async function refresh() {
  const m = measurements();
  const fmt = (v) => v === null ? "–" : v.toFixed(0);
  $("fps").textContent = (BREAKOUT ? m.fps_received : m.fps_shown).toFixed(1);
  $("lat50").textContent = BREAKOUT ? fmt(percentile(latencies.slice(-100), 50)) : "n/a";
  $("lat95").textContent = BREAKOUT ? fmt(percentile(latencies.slice(-100), 95)) : "n/a";
  if (!sid) return;
  const mine = sid;
  let r;
  try { r = await api(`session/${mine}/stats`); }
  catch (e) { return lost("the server is not answering"); }
  if (mine !== sid) return;
  if (r.status === 404) return lost("the server ended the stream");
  if (!r.ok) return;
  const s = await r.json();
  if (s.ended_by) return lost(`the server ended the stream (${s.ended_by})`);
  $("refs").textContent = s.references;
  $("face").textContent = s.face_tracked ? "tracked" : "not found";
  $("dropped").textContent = s.dropped;
  $("in").textContent = s.frames_in;
  $("views").textContent = s.views;
  $("edit").textContent = s.edit;
}

function currentEdit() {
  if (params.get("sticker")) return { sticker: "star", sticker_at: params.get("sticker") };
  return { style: params.get("style") || $("style").value || "cartoon" };
}

async function changeEdit(next) {
  edit = next;  // also what a reconnection starts with
  if (!sid) return;
  const r = await postJson(`session/${sid}/edit`, next);
  if (!r.ok) setState(await errorOf(r), "error");
}

function constraints() {
  const video = {};
  const device = $("camera").value, wanted = $("size").value;
  if (device) video.deviceId = { exact: device };
  if (wanted) {
    const [w, h] = wanted.split("x").map(Number);
    video.width = { ideal: w }; video.height = { ideal: h };
  }
  return { video: Object.keys(video).length ? video : true, audio: params.get("audio") !== "0" };
}

async function listCameras() {
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  const select = $("camera"), chosen = select.value;
  select.length = 1;
  devices.filter((d) => d.kind === "videoinput").forEach((d, i) =>
    select.add(new Option(d.label || `camera ${i + 1}`, d.deviceId, false, d.deviceId === chosen)));
}

async function start() {
  $("start").disabled = true;
  setState("starting");
  const config = await api("config").then((r) => r.json()).catch(() => null);
  if (config === null) {
    setState("the server is not answering", "error");
    $("start").disabled = false;
    return;
  }
  if (config.busy) {  // known before the camera opens
    setState(`busy: the server runs all ${config.max_streams} streams it can; try later`, "busy");
    $("start").disabled = false;
    return;
  }
  try {
    camera = await navigator.mediaDevices.getUserMedia(constraints());
  } catch (e) {
    camera = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  }
  await listCameras();
  const local = $("local");
  local.srcObject = camera;
  await local.play();
  const settings = camera.getVideoTracks()[0].getSettings();
  const w = settings.width || local.videoWidth, h = settings.height || local.videoHeight;
  document.documentElement.style.setProperty("--ar", String(w / h));
  sending = BREAKOUT ? stampedTrack(camera.getVideoTracks()[0]) : camera.getVideoTracks()[0];
  if (!BREAKOUT) size = null;
  edit = edit || currentEdit();
  wanted = true;
  $("stop").disabled = false;
  timers.push(setInterval(refresh, 1000), setInterval(() => report().catch(() => {}), 2000));
  await connect();
  const seconds = Number(params.get("seconds"));
  if (seconds > 0) setTimeout(() => stop(true), seconds * 1000);
}

async function connect() {  // one connection to the server; a failure schedules the next
  retry = null;
  if (!wanted) return;
  const mine = ++attempt;
  const peer = new RTCPeerConnection();
  pc = peer;
  const stream = new MediaStream([sending]);
  const sender = peer.addTrack(sending, stream);
  camera.getAudioTracks().forEach((t) => peer.addTrack(t, camera));
  peer.ontrack = (e) => {
    if (e.track.kind === "video") {
      $("remote").srcObject = new MediaStream([e.track]);
      if (BREAKOUT) eachFrame(e.track, (f) => edited(f, f.displayWidth, f.displayHeight,
                                                   performance.now()));
    } else { $("sound").srcObject = new MediaStream([e.track]); counts.audio++; }
  };
  peer.onconnectionstatechange = () => {
    if (mine !== attempt) return;
    const state = peer.connectionState;
    if (state === "connected") { setState("live", "live"); backoff = RETRY_MS; }
    else if (state === "failed" || state === "closed") lost(`the connection ${state}`);
    else if (state === "disconnected")  // a blip recovers by itself; a lost server does not
      setTimeout(() => mine === attempt && peer.connectionState === "disconnected" &&
                        lost("the connection dropped"), RETRY_MS);
  };
  let reply;
  try {
    await peer.setLocalDescription(await peer.createOffer());
    await new Promise((done) => {  // all candidates in the offer: no trickle ICE to signal
      if (peer.iceGatheringState === "complete") return done();
      peer.addEventListener("icegatheringstatechange",
                            () => peer.iceGatheringState === "complete" && done());
    });
    reply = await postJson("offer", { type: "offer", sdp: peer.localDescription.sdp, edit,
      probe_rows: BREAKOUT ? PROBE_ROWS : 0, output_key: outputKey });
  } catch (e) {
    return lost("the server is not answering");
  }
  if (mine !== attempt) return;
  if (!reply.ok) {
    const why = await errorOf(reply);
    if (reply.status === 503) return lost("busy: waiting for a free place", "busy");
    setState(why, "error");
    return stop(false);
  }
  const body = await reply.json();
  sid = body.session;
  await peer.setRemoteDescription(body);
  const p = sender.getParameters();  // keep the size: the stamp's rows must stay the stamp's
  p.degradationPreference = "maintain-resolution";
  await sender.setParameters(p).catch(() => {});
  if (peer.connectionState !== "connected") setState("connecting", "waiting");
  $("grab").disabled = false; $("upload").disabled = false;
}

function lost(why, kind = "error") {  // the stream is gone: say so and connect again
  if (!wanted) return;
  attempt++;
  if (pc) pc.close();
  pc = null; sid = null;
  $("grab").disabled = true; $("upload").disabled = true;
  setState(`disconnected: ${why}; reconnecting in ${Math.round(backoff / 1000)} s…`, kind);
  if (!retry) {
    counts.reconnects++;
    retry = setTimeout(connect, backoff);
    backoff = Math.min(2 * backoff, RETRY_MAX_MS);
  }
}

async function stop(final = true) {
  wanted = false;
  attempt++;
  if (retry) clearTimeout(retry);
  retry = null;
  timers.forEach(clearInterval); timers = [];
  if (final) await report(true).catch(() => {});
  if (sid) await api(`session/${sid}`, { method: "DELETE" }).catch(() => {});
  if (pc) pc.close();
  if (camera) camera.getTracks().forEach((t) => t.stop());
  if (sending && sending.stop) sending.stop();
  pc = null; sid = null; camera = null; sending = null;
  $("start").disabled = false; $("stop").disabled = true;
  $("grab").disabled = true; $("upload").disabled = true;
  if (!["error", "busy"].includes($("state").className)) setState("stopped");
}

async function grab() {  // the frame to edit, as a download
  const r = await api(`session/${sid}/frame.png`);
  if (!r.ok) return setState(await errorOf(r), "error");
  const link = Object.assign(document.createElement("a"),
    { href: URL.createObjectURL(await r.blob()), download: "frame-to-edit.png" });
  link.click();
}

async function upload() {
  const file = $("upload").files[0];
  $("upload").value = "";  // (the same file chosen again is uploaded again)
  if (!file || !sid) return;
  const r = await api(`session/${sid}/image`, { method: "POST", body: file,
    headers: { "Content-Type": file.type || "application/octet-stream" } });
  if (r.ok) return setState("live: your edit", "live");
  setState(await errorOf(r), "error");  // said for a while; the stream itself is still live
  const mine = sid;
  setTimeout(() => { if (sid === mine && pc && pc.connectionState === "connected")
    setState("live", "live"); }, 8000);
}

function outputLink() {
  const url = new URL("view", location.href);
  url.search = new URLSearchParams({ key: outputKey, quiet: "1",
                                     ...(token ? { token } : {}) }).toString();
  return url.href;
}

async function init() {
  const r = await api("config").catch(() => null);
  const config = r && r.ok ? await r.json()
    : { styles: ["cartoon"], sticker_places: ["cheek"], prompt: false, busy: false };
  for (const s of config.styles) $("style").add(new Option(s, s, false, s === params.get("style")));
  for (const s of config.sticker_places) $("place").add(new Option(s, s));
  $("size").value = params.get("size") || localStorage.getItem("streamedit-size") || "";
  $("prompt-group").hidden = !config.prompt;
  $("mirror").checked = params.get("mirror") === "1" || localStorage.getItem("streamedit-mirror") === "1";
  document.body.classList.toggle("mirror", $("mirror").checked);
  $("mirror").onchange = () => {
    document.body.classList.toggle("mirror", $("mirror").checked);
    localStorage.setItem("streamedit-mirror", $("mirror").checked ? "1" : "0");
  };
  $("output").value = outputLink();
  $("copy").onclick = () => {
    $("output").select();
    (navigator.clipboard ? navigator.clipboard.writeText($("output").value) : Promise.reject())
      .catch(() => document.execCommand("copy"));
  };
  if (config.busy) setState(`busy: the server runs all ${config.max_streams} streams it can`, "busy");
  $("start").onclick = () => start().catch((e) => { setState(String(e), "error"); stop(false); });
  $("stop").onclick = () => stop(true);
  const restart = () => { if (wanted) stop(false).then(() => $("start").click()); };
  $("camera").onchange = restart;
  $("size").onchange = () => { localStorage.setItem("streamedit-size", $("size").value); restart(); };
  $("apply-style").onclick = () => changeEdit({ style: $("style").value });
  $("apply-sticker").onclick = () => changeEdit({ sticker: "star", sticker_at: $("place").value });
  $("apply-prompt").onclick = () => changeEdit({ prompt: $("prompt").value });
  $("grab").onclick = grab;
  $("upload").onchange = upload;
  countShown($("remote"));
  addEventListener("pagehide", () => {  // goodbye: the server frees the place at once
    if (sid) fetch(`session/${sid}/end`, { method: "POST", keepalive: true, body: "{}",
      headers: { ...auth, "Content-Type": "application/json" } });
  });
  if (params.get("autostart") === "1") $("start").click();
}

init();
