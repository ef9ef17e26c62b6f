// demo.js: the relaygate demo page (GET /demo). A caller and a callee in
// this page, signalling in-page, call each other relay-only through the
// relay the gateway picks, with relaygate.js. Every second it shows, from
// getStats(), which relay carries the call and the call's RTT, jitter, loss
// and bitrates.
//
// window.demoState holds the same in machine-readable form (browser tests
// read it). Privacy: only relay candidates' addresses are ever shown or
// kept; a candidate's relatedAddress (this browser's own address) never is,
// and nothing here logs to the console.

import { RelayGate } from '../client/relaygate.js';

const gateway = new URL('..', import.meta.url).href;
const tokenURL = new URL('token', import.meta.url).href;
const SIDES = ['caller', 'callee'];
const TOKEN_MARGIN_MS = 30000; // a minted token this close to expiry is replaced

const state = (window.demoState = {
  phase: 'idle', // idle, starting, connecting, connected, failed, ended
  error: null,
  tokenSource: null, // 'pasted' or 'minted'
  answer: null, // {primary, backup}: relay_id, region, site, basis, estimated_rtt_ms, urls
  carrier: null, // {relay_id, role: 'primary' | 'backup' | null}: the caller's selected local candidate's relay
  sides: {},
  updates: 0, // stats rounds shown
  events: [], // relaygate.js events: {type, relay}
});

const $ = (sel) => document.querySelector(sel);

// The answer's relay cards, primary then backup, from the page's one template.
for (const [role, title] of [['primary', 'Primary'], ['backup', 'Backup']]) {
  const card = $('#relay-card').content.firstElementChild.cloneNode(true);
  card.id = role;
  card.dataset.role = role;
  card.querySelector('h2').prepend(title);
  $('.relays').append(card);
}

let call = null;
let minted = null; // {token, expiresAt}

function setPhase(phase, text) {
  state.phase = phase;
  document.body.dataset.phase = phase;
  $('#status').textContent = text;
}

function fail(err) {
  state.error = String((err && err.message) || err);
  setPhase('failed', 'Failed');
  $('#note').textContent = state.error;
  hangUp(false);
}

// token returns the pasted token, or a demo token the gateway mints (only
// with relaygate --demo), replaced before it expires.
async function token() {
  const pasted = $('#token').value.trim();
  if (pasted) {
    state.tokenSource = 'pasted';
    return pasted;
  }
  if (minted && Date.parse(minted.expiresAt) - Date.now() > TOKEN_MARGIN_MS) return minted.token;
  const resp = await fetch(tokenURL, { cache: 'no-store' });
  if (resp.status === 404) {
    throw new Error('Paste a user token: this gateway mints demo tokens only when started with --demo.');
  }
  if (!resp.ok) throw new Error(`GET /demo/token answered ${resp.status}`);
  const t = await resp.json();
  minted = { token: t.token, expiresAt: t.expires_at };
  state.tokenSource = 'minted';
  $('#note').textContent = `Using a demo token the gateway minted, valid until ${new Date(t.expires_at).toLocaleTimeString()}.`;
  return minted.token;
}

function relayView(r) {
  if (!r) return null;
  return { relay_id: r.relay_id, region: r.region, site: r.site, basis: r.basis ?? null, estimated_rtt_ms: r.estimated_rtt_ms ?? null, urls: [...(r.urls || [])] };
}

function showAnswer(a) {
  state.answer = { primary: relayView(a.primary), backup: relayView(a.backup) };
  for (const role of ['primary', 'backup']) {
    const r = state.answer[role];
    const card = document.getElementById(role);
    for (const dd of card.querySelectorAll('[data-field]')) {
      const f = dd.dataset.field;
      if (!r) dd.textContent = role === 'backup' ? 'none offered' : '–';
      else if (f === 'urls') dd.textContent = r.urls.join('\n') || '–';
      else if (f === 'estimated_rtt_ms') dd.textContent = r.estimated_rtt_ms == null ? '–' : `${r.estimated_rtt_ms} ms`;
      else dd.textContent = r[f] ?? '–';
    }
  }
}

// relayOf names the relay of the answer a relay candidate was allocated on:
// by its TURN server URL, else by its address in a relay's URLs.
function relayOf(cand) {
  const a = state.answer;
  if (!a || !cand || cand.candidateType !== 'relay') return null;
  for (const role of ['primary', 'backup']) {
    const r = a[role];
    if (r && cand.url && r.urls.includes(cand.url)) return { relay_id: r.relay_id, role };
  }
  const addr = cand.address || cand.ip;
  for (const role of ['primary', 'backup']) {
    const r = a[role];
    if (r && addr && r.urls.some((u) => u.includes(addr.includes(':') ? `[${addr}]` : addr + ':'))) return { relay_id: r.relay_id, role };
  }
  return null;
}

// candidateView describes a candidate: its type always, its address only
// when it is a relay's (a host or srflx address would be this browser's).
function candidateView(c) {
  if (!c) return null;
  const v = { type: c.candidateType, protocol: c.protocol || null, relayProtocol: c.relayProtocol || null };
  if (c.candidateType === 'relay') {
    v.address = c.address || c.ip || null;
    v.port = c.port ?? null;
  }
  return v;
}

function fmtCandidate(v) {
  if (!v) return '–';
  if (v.type !== 'relay') return v.type;
  const host = v.address && v.address.includes(':') ? `[${v.address}]` : v.address;
  return `relay ${host}:${v.port}${v.relayProtocol ? ' (' + v.relayProtocol + ')' : ''}`;
}

const fmt = {
  ms: (v) => (v == null ? '–' : `${v.toFixed(1)} ms`),
  pct: (v) => (v == null ? '–' : `${v.toFixed(1)} %`),
  kbps: (v) => (v == null ? '–' : `${v.toFixed(1)} kbit/s`),
};

// sample reads one side's stats and derives per-second figures from the
// previous round's counters.
async function sample(name, pc, prev) {
  const report = await pc.getStats();
  let pair = null;
  let inbound = null;
  let outbound = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
    if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound = s;
    if (s.type === 'outbound-rtp' && s.kind === 'audio') outbound = s;
  });
  const now = performance.now();
  const local = pair && report.get(pair.localCandidateId);
  const remote = pair && report.get(pair.remoteCandidateId);
  const counters = {
    at: now,
    received: inbound ? inbound.packetsReceived || 0 : 0,
    lost: inbound ? Math.max(0, inbound.packetsLost || 0) : 0,
    bytesIn: inbound ? inbound.bytesReceived || 0 : 0,
    bytesOut: outbound ? outbound.bytesSent || 0 : 0,
  };
  const side = {
    state: pc.connectionState,
    local: candidateView(local),
    remote: candidateView(remote),
    relay: relayOf(local),
    rttMs: pair && pair.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null,
    jitterMs: inbound && inbound.jitter != null ? inbound.jitter * 1000 : null,
    lossPct: null,
    inKbps: null,
    outKbps: null,
    packetsReceived: counters.received,
    counters,
  };
  if (prev && prev.counters) {
    const p = prev.counters;
    const dt = (now - p.at) / 1000;
    const got = counters.received - p.received;
    const lost = counters.lost - p.lost;
    if (got + lost > 0) side.lossPct = (100 * Math.max(0, lost)) / (got + Math.max(0, lost));
    if (dt > 0) {
      side.inKbps = ((counters.bytesIn - p.bytesIn) * 8) / dt / 1000;
      side.outKbps = ((counters.bytesOut - p.bytesOut) * 8) / dt / 1000;
    }
  }
  return side;
}

function showSides() {
  for (const name of SIDES) {
    const s = state.sides[name];
    if (!s) continue;
    const cell = (f) => document.querySelector(`td[data-side="${name}"][data-field="${f}"]`);
    cell('state').textContent = s.state;
    cell('local').textContent = fmtCandidate(s.local);
    cell('remote').textContent = fmtCandidate(s.remote);
    cell('relay').textContent = s.relay ? `${s.relay.relay_id} (${s.relay.role})` : '–';
    cell('rtt').textContent = fmt.ms(s.rttMs);
    cell('jitter').textContent = fmt.ms(s.jitterMs);
    cell('loss').textContent = fmt.pct(s.lossPct);
    cell('inRate').textContent = fmt.kbps(s.inKbps);
    cell('outRate').textContent = fmt.kbps(s.outKbps);
  }
  const c = state.carrier;
  for (const role of ['primary', 'backup']) {
    const on = !!c && c.role === role;
    document.getElementById(role).classList.toggle('carrying', on);
    document.querySelector(`#${role} .badge`).hidden = !on;
  }
  $('#carrier').textContent = c ? `carried by ${c.relay_id}${c.role ? ' (' + c.role + ')' : ''}` : '';
}

async function tick() {
  if (!call) return;
  const c = call;
  try {
    for (const [name, pc] of [['caller', c.a], ['callee', c.b]]) {
      state.sides[name] = await sample(name, pc, state.sides[name]);
    }
  } catch {
    return; // a connection closed under us: the next round, if any, tells
  }
  if (call !== c) return;
  const caller = state.sides.caller;
  state.carrier = caller.relay;
  const up = SIDES.every((n) => state.sides[n].state === 'connected');
  if (up && state.phase !== 'connected') setPhase('connected', 'Connected');
  if (!up && state.phase === 'connected') setPhase('connecting', 'Reconnecting…');
  if (SIDES.some((n) => state.sides[n].state === 'failed') && state.phase !== 'failed') {
    setPhase('connecting', 'ICE failed; waiting for watch() to restart…');
  }
  state.updates++;
  showSides();
}

async function startCall() {
  if (call) return;
  state.error = null;
  state.updates = 0;
  state.sides = {};
  state.carrier = null;
  state.events = [];
  $('#note').textContent = '';
  setPhase('starting', 'Fetching credentials…');
  $('#start').disabled = true;
  $('#stop').disabled = false;
  const c = { a: null, b: null, stops: [], timer: 0, ac: null };
  call = c;
  try {
    const rg = new RelayGate({ gateway, token });
    const config = await rg.rtcConfiguration();
    if (call !== c) return;
    const answer = rg.credentials;
    showAnswer(answer);
    // Start on the primary alone, so the call goes through the relay the
    // gateway chose; watch() restarts it with the backup if that dies.
    const primaryURLs = new Set(answer.primary.urls || []);
    const onPrimary = config.iceServers
      .map((s) => ({ ...s, urls: [].concat(s.urls).filter((u) => primaryURLs.has(u)) }))
      .filter((s) => s.urls.length);
    const first = { ...config, iceServers: onPrimary.length ? onPrimary : config.iceServers };
    c.a = new RTCPeerConnection(first);
    c.b = new RTCPeerConnection(first);
    c.a.onicecandidate = (e) => e.candidate && c.b.addIceCandidate(e.candidate).catch(() => {});
    c.b.onicecandidate = (e) => e.candidate && c.a.addIceCandidate(e.candidate).catch(() => {});
    c.ac = new AudioContext();
    for (const [pc, hz] of [[c.a, 440], [c.b, 660]]) {
      const osc = c.ac.createOscillator();
      osc.frequency.value = hz;
      const gain = c.ac.createGain();
      gain.gain.value = 0.1;
      const dst = c.ac.createMediaStreamDestination();
      osc.connect(gain).connect(dst);
      osc.start();
      const track = dst.stream.getAudioTracks()[0];
      pc.addTrack(track, dst.stream);
    }
    // The caller always offers; a restart asked for by either side is one
    // offer with iceRestart.
    let inflight = null;
    const negotiate = (restart) => {
      if (inflight) return inflight;
      inflight = (async () => {
        const offer = await c.a.createOffer({ iceRestart: restart });
        await c.a.setLocalDescription(offer);
        await c.b.setRemoteDescription(offer);
        const ans = await c.b.createAnswer();
        await c.b.setLocalDescription(ans);
        await c.a.setRemoteDescription(ans);
      })().finally(() => (inflight = null));
      return inflight;
    };
    for (const type of ['stalled', 'restarting', 'recovered', 'error']) {
      rg.addEventListener(type, (e) => {
        state.events.push({ type, relay: (e.detail && e.detail.relay) || null });
        if (type === 'restarting') $('#note').textContent = `The relay carrying the call stopped; restarting ICE without ${e.detail.relay || 'it'}…`;
        if (type === 'recovered') $('#note').textContent = `Recovered on ${e.detail.relay || 'another relay'} after ${e.detail.gapMs} ms of silence.`;
      });
    }
    c.stops.push(rg.watch(c.a, { renegotiate: () => negotiate(true) }));
    c.stops.push(rg.watch(c.b, { renegotiate: () => negotiate(true) }));
    setPhase('connecting', 'Connecting through the relay…');
    await negotiate(false);
    c.timer = setInterval(tick, 1000);
    tick();
  } catch (err) {
    if (call === c) fail(err);
  }
}

function hangUp(ended) {
  const c = call;
  call = null;
  if (c) {
    clearInterval(c.timer);
    for (const stop of c.stops) stop();
    for (const pc of [c.a, c.b]) {
      if (!pc) continue;
      for (const s of pc.getSenders()) if (s.track) s.track.stop();
      pc.close();
    }
    if (c.ac) c.ac.close().catch(() => {});
  }
  $('#start').disabled = false;
  $('#stop').disabled = true;
  if (ended) setPhase('ended', 'Call ended');
}

$('#start').addEventListener('click', () => startCall());
$('#stop').addEventListener('click', () => hangUp(true));
document.body.dataset.ready = 'true';
state.ready = true;
