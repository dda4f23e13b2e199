// StreamEdit output page: the edited picture of one camera page's stream, alone, for an OBS
// Browser Source. It asks the server for the stream that shows its output key, plays it, and
// when that stream ends (the camera page reconnects, the server restarts) asks again.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token"), key = params.get("key");
const auth = token ? { Authorization: "Bearer " + token } : {};
const RETRY_MS = 2000;
const $ = (id) => document.getElementById(id);
let pc = null, attempt = 0, retry = null;

function say(text) {  // the status line; ?quiet=1 (the OBS link) keeps it off the picture
  $("status").textContent = text;
  $("status").hidden = params.get("quiet") === "1" || !text;
}

function again(why) {
  attempt++;
  if (pc) pc.close();
  pc = null;
  $("out").srcObject = null;
  say(why);
  if (!retry) retry = setTimeout(connect, RETRY_MS);
}

async function connect() {
  retry = null;
  const mine = ++attempt;
  const peer = new RTCPeerConnection();
  pc = peer;
  peer.addTransceiver("video", { direction: "recvonly" });
  peer.ontrack = (e) => {
    $("out").srcObject = new MediaStream([e.track]);
    e.track.onended = () => mine === attempt && again("the stream ended; waiting…");
  };
  peer.onconnectionstatechange = () => {
    if (mine !== attempt) return;
    if (peer.connectionState === "connected") say("");
    else if (["failed", "closed"].includes(peer.connectionState)) again("the stream ended; waiting…");
    else if (peer.connectionState === "disconnected")
      setTimeout(() => mine === attempt && peer.connectionState === "disconnected" &&
                        again("the stream dropped; waiting…"), RETRY_MS);
  };
  let reply;
  try {
    await peer.setLocalDescription(await peer.createOffer());
    await new Promise((done) => {
      if (peer.iceGatheringState === "complete") return done();
      peer.addEventListener("icegatheringstatechange",
                            () => peer.iceGatheringState === "complete" && done());
    });
    reply = await fetch(`output/${encodeURIComponent(key)}/offer`, { method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ type: "offer", sdp: peer.localDescription.sdp }) });
  } catch (e) {
    return again("the server is not answering; waiting…");
  }
  if (mine !== attempt) return;
  if (!reply.ok) {
    let why = `HTTP ${reply.status}`;
    try { why = (await reply.json()).error; } catch (e) { /* keep the status */ }
    return again(`${why}; waiting…`);
  }
  await peer.setRemoteDescription(await reply.json());
}

// A stream that ends or stalls leaves its last frame on a video element for seconds
// (until the connection is declared lost): that picture is hidden at once instead, so a
// frozen frame never stays on air. Painted frames are counted without timers, which a
// hidden browser source would throttle.
const STALE_MS = 1000;
let painted = 0;
function onPainted() {
  painted = performance.now();
  $("out").style.visibility = "visible";
  $("out").requestVideoFrameCallback(onPainted);
}
if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
  $("out").requestVideoFrameCallback(onPainted);
  setInterval(() => {
    if (performance.now() - painted > STALE_MS) $("out").style.visibility = "hidden";
  }, 250);
}

document.body.classList.toggle("mirror", params.get("mirror") === "1");
if (!key) say("open this page from the camera page's 'Output for OBS' link");
else { say("waiting for the stream…"); connect(); }
