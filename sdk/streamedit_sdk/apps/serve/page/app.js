// StreamEdit page: the camera goes up over WebRTC, the edited video comes back beside it.
//
// Latency is measured here, in the browser: every frame sent carries its number in a strip
// of PROBE_ROWS rows under the picture (CELLS black or white cells); the server edits the
// picture above it and sends the strip back unchanged, so when the edited frame is shown,
// its number says when it was sent. The strip is cropped from the view.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token");
const auth = token ? { Authorization: "Bearer " + token } : {};
const PROBE_ROWS = 16, CELLS = 16, ID_BITS = CELLS - 2, ID_MOD = 1 << ID_BITS;
const THUMB_W = 32, THUMB_H = 24;  // the thumbnails compared to see that the edit is there

const $ = (id) => document.getElementById(id);
const counts = { sent: 0, received: 0, stamped: 0, unreadable: 0, audio: 0 };
const sentAt = new Map(), sentThumbs = new Map(), latencies = [], diffs = [], shownAt = [];
let pc = null, sid = null, camera = null, timers = [], nextId = 0, running = false;

function api(path, options = {}) {
  return fetch(path, { ...options, headers: { ...auth, ...(options.headers || {}) } });
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
  const c = thumbnail.canvas || (thumbnail.canvas = Object.assign(
    document.createElement("canvas"), { width: THUMB_W, height: THUMB_H }));
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

function readStamp(video, w, h) {  // the number in the returned frame's strip, or null
  const c = readStamp.canvas || (readStamp.canvas = document.createElement("canvas"));
  c.width = w; c.height = PROBE_ROWS;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  const vw = video.videoWidth, vh = video.videoHeight, top = vh * h / (h + PROBE_ROWS);
  ctx.drawImage(video, 0, top, vw, vh - top, 0, 0, w, PROBE_ROWS);
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

function onVideoFrame(video, callback) {  // each new frame of a video element
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const tick = (now) => { if (running) { callback(now); video.requestVideoFrameCallback(tick); } };
    video.requestVideoFrameCallback(tick);
  } else {
    let last = -1;
    const tick = (now) => {
      if (!running) return;
      if (video.currentTime !== last) { last = video.currentTime; callback(now); }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }
}

function sendFrames(local, w, h) {  // the camera drawn with its stamp: what goes up
  const canvas = $("sent");
  canvas.width = w; canvas.height = h + PROBE_ROWS;
  const ctx = canvas.getContext("2d");
  onVideoFrame(local, () => {
    ctx.drawImage(local, 0, 0, w, h);
    stamp(ctx, nextId, w, h);
    sentAt.set(nextId, performance.now());
    sentThumbs.set(nextId, thumbnail(local, 0, 0, local.videoWidth, local.videoHeight));
    sentAt.delete((nextId + ID_MOD - 256) % ID_MOD);
    sentThumbs.delete((nextId + ID_MOD - 256) % ID_MOD);
    nextId = (nextId + 1) % ID_MOD;
    counts.sent++;
  });
  return canvas.captureStream();
}

function watchEdited(remote, w, h) {  // latency and edit strength of each returned frame
  onVideoFrame(remote, (now) => {
    counts.received++;
    shownAt.push(now);
    const id = readStamp(remote, w, h);
    if (id === null || !sentAt.has(id)) { counts.unreadable++; return; }
    counts.stamped++;
    latencies.push(now - sentAt.get(id));
    const top = remote.videoHeight * h / (h + PROBE_ROWS);
    const mine = thumbnail(remote, 0, 0, remote.videoWidth, top), theirs = sentThumbs.get(id);
    let sum = 0;
    for (let i = 0; i < mine.length; i += 4)
      sum += Math.abs(mine[i] - theirs[i]) + Math.abs(mine[i + 1] - theirs[i + 1]) +
             Math.abs(mine[i + 2] - theirs[i + 2]);
    diffs.push(sum / (3 * THUMB_W * THUMB_H));
    sentAt.delete(id);
  });
}

function measurements(final = false) {
  const now = performance.now();
  while (shownAt.length && shownAt[0] < now - 2000) shownAt.shift();
  return {
    frames_sent: counts.sent, frames_received: counts.received,
    frames_stamped: counts.stamped, frames_unreadable: counts.unreadable,
    fps_received: shownAt.length / 2,
    latency_p50_ms: percentile(latencies, 50), latency_p95_ms: percentile(latencies, 95),
    latency_samples: latencies.length, edit_diff_median: percentile(diffs, 50),
    audio_tracks_received: counts.audio,
    user_agent: navigator.userAgent.slice(0, 200), final: final ? 1 : 0,
  };
}

async function report(final = false) {
  if (sid) await api(`session/${sid}/report`, { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(measurements(final)) });
}

async function refresh() {
  const m = measurements();
  const fmt = (v) => v === null ? "–" : v.toFixed(0);
  $("fps").textContent = m.fps_received.toFixed(1);
  $("lat50").textContent = fmt(percentile(latencies.slice(-100), 50));
  $("lat95").textContent = fmt(percentile(latencies.slice(-100), 95));
  if (!sid) return;
  const r = await api(`session/${sid}/stats`);
  if (!r.ok) return;
  const s = await r.json();
  $("refs").textContent = s.references;
  $("face").textContent = s.face_tracked ? "tracked" : "not found";
  $("dropped").textContent = s.dropped;
  $("in").textContent = s.frames_in;
}

function currentEdit() {
  if (params.get("sticker")) return { sticker: "star", sticker_at: params.get("sticker") };
  return { style: params.get("style") || $("style").value || "cartoon" };
}

async function changeEdit(edit) {
  if (!sid) return;
  const r = await api(`session/${sid}/edit`, { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(edit) });
  if (!r.ok) setState((await r.json()).error, "error");
}

async function start() {
  $("start").disabled = true;
  setState("starting");
  try {
    camera = await navigator.mediaDevices.getUserMedia({
      video: { width: 640, height: 480 }, audio: params.get("audio") !== "0" });
  } catch (e) {
    camera = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  }
  const local = $("local"), remote = $("remote");
  local.srcObject = camera;
  await local.play();
  const w = local.videoWidth, h = local.videoHeight;
  document.documentElement.style.setProperty("--ar", String(w / h));
  running = true;
  const sent = sendFrames(local, w, h);
  pc = new RTCPeerConnection();
  const sender = pc.addTrack(sent.getVideoTracks()[0], sent);
  camera.getAudioTracks().forEach((t) => pc.addTrack(t, camera));
  pc.ontrack = (e) => {
    if (e.track.kind === "video") { remote.srcObject = new MediaStream([e.track]); watchEdited(remote, w, h); }
    else { $("sound").srcObject = new MediaStream([e.track]); counts.audio++; }
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {  // all candidates in the offer: no trickle ICE to signal
    if (pc.iceGatheringState === "complete") return done();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
  });
  const r = await api("offer", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp, edit: currentEdit(),
                           probe_rows: PROBE_ROWS }) });
  const body = await r.json();
  if (!r.ok) {
    setState(r.status === 503 ? "busy: the server runs all the streams it can" : body.error,
             r.status === 503 ? "busy" : "error");
    await stop(false);
    return;
  }
  sid = body.session;
  await pc.setRemoteDescription(body);
  const p = sender.getParameters();  // keep the size: the stamp's rows must stay the stamp's
  p.degradationPreference = "maintain-resolution";
  await sender.setParameters(p).catch(() => {});
  setState("live", "live");
  $("stop").disabled = false; $("grab").disabled = false; $("upload").disabled = false;
  timers.push(setInterval(refresh, 1000), setInterval(() => report(), 2000));
  const seconds = Number(params.get("seconds"));
  if (seconds > 0) setTimeout(() => stop(true), seconds * 1000);
}

async function stop(final = true) {
  running = false;
  timers.forEach(clearInterval); timers = [];
  if (final) await report(true).catch(() => {});
  if (sid) await api(`session/${sid}`, { method: "DELETE" }).catch(() => {});
  if (pc) pc.close();
  if (camera) camera.getTracks().forEach((t) => t.stop());
  pc = null; sid = null; camera = null;
  $("start").disabled = false; $("stop").disabled = true;
  $("grab").disabled = true; $("upload").disabled = true;
  if ($("state").className === "live" || $("state").textContent === "starting") setState("stopped");
}

async function grab() {  // the frame to edit, as a download
  const r = await api(`session/${sid}/frame.png`);
  if (!r.ok) return setState((await r.json()).error, "error");
  const link = Object.assign(document.createElement("a"),
    { href: URL.createObjectURL(await r.blob()), download: "frame-to-edit.png" });
  link.click();
}

async function upload() {
  const file = $("upload").files[0];
  if (!file || !sid) return;
  const r = await api(`session/${sid}/image`, { method: "POST", body: file,
    headers: { "Content-Type": file.type || "application/octet-stream" } });
  setState(r.ok ? "live: your edit" : (await r.json()).error, r.ok ? "live" : "error");
}

async function init() {
  const r = await api("config");
  const config = r.ok ? await r.json() : { styles: ["cartoon"], sticker_places: ["cheek"], prompt: false };
  for (const s of config.styles) $("style").add(new Option(s, s, false, s === params.get("style")));
  for (const s of config.sticker_places) $("place").add(new Option(s, s));
  $("prompt-group").hidden = !config.prompt;
  $("start").onclick = () => start().catch((e) => { setState(String(e), "error"); stop(false); });
  $("stop").onclick = () => stop(true);
  $("apply-style").onclick = () => changeEdit({ style: $("style").value });
  $("apply-sticker").onclick = () => changeEdit({ sticker: "star", sticker_at: $("place").value });
  $("apply-prompt").onclick = () => changeEdit({ prompt: $("prompt").value });
  $("grab").onclick = grab;
  $("upload").onchange = upload;
  if (params.get("autostart") === "1") $("start").click();
}

init();
