// relaygate.js: the browser side of relaygate, a dependency-free ES module.
//
//   import { RelayGate } from '/client/relaygate.js';
//   const rg = new RelayGate({ gateway: 'https://gw.example', token: async () => userToken });
//   const config = await rg.rtcConfiguration();   // { iceServers, iceTransportPolicy: 'relay' }
//   const pc = new RTCPeerConnection(config);
//   const stop = rg.watch(pc, { renegotiate: async () => { /* offer/answer with iceRestart */ } });
//
// rtcConfiguration() asks the gateway for TURN credentials and a primary and
// a backup relay (POST /v1/credentials). watch() makes the backup worth
// having: browsers do not move a call to another relay when the one carrying
// it dies, so watch reads getStats() every 150 ms, notices within half a second
// that packets stopped arriving on the selected candidate pair, and restarts
// ICE once without the relay that died. It also refreshes the credentials at
// 80 % of their lifetime, so a restart late in a long call never presents an
// expired credential, and reports the round-trip times it sees through each
// relay to POST /v1/measurements, at most once per measurementIntervalMs.
// Every drainCheckMs (5 s), and at once when a credential refresh no longer
// offers it, it asks GET /v1/call-relays about the relay that carries the
// call; when the gateway says to leave it (an operator drains it, or it
// shuts down), watch moves the call off it while it still carries the
// media: onto the warm standby when there is one, else by an ICE restart
// without it (which Chromium 156 carries out only once the relay stops).
//
// Before the first call, rtcConfiguration() measures the relays the gateway
// offers for this client (GET /v1/candidates: a few nearest sites and a few
// spread ones) and sends the round-trip times inline with the credentials
// request, so even a first call from a network nobody has measured is
// placed on measurements rather than GeoIP alone. A browser has no STUN API
// and timing ICE gathering is tens to hundreds of milliseconds off, so each
// candidate is measured the way ICE itself times its checks: two relay-only
// connections in the page, through that relay only, connect to each other,
// and the candidate pair's currentRoundTripTime (a STUN check that crosses
// the relay twice) halved is the round trip to it. All candidates at once,
// within the gateway's budget (budget_ms, about 300 ms); a relay that has
// not answered by then is left out. It costs a GET, a second credentials
// request and two short allocations per candidate, once; preCallBudgetMs: 0
// turns it off. Only relay ids and times are sent, never an address.
//
// Warm standby (opt-in: watch(pc, { renegotiate, standby })): next to the
// call, watch keeps a second, idle RTCPeerConnection through only the next
// best relay (neither one carrying the call), which the app negotiates with
// the far end like any other connection: the offering side hands it to the
// app's standby(pc) function; the answering side gets its own from
// rg.standbyConnection(callPc) when that offer arrives. When the call
// stalls, or its relay drains, or packets start arriving on the standby (the
// far end switched), watch moves the call's tracks onto the standby with
// replaceTrack (no renegotiation), watches it as the call, closes the old
// connection once nothing arrives on it, and builds a fresh standby on the
// next best relay. A switch costs the detection (300-450 ms) instead of
// Chromium's ICE timers (about 4 s), and a drain costs no gap at all.
//
// Events (RelayGate is an EventTarget; each event is a CustomEvent whose
// detail is described in relaygate.d.ts): 'stalled', 'restarting',
// 'recovered', 'draining', 'moved', 'standby', 'switched', 'refreshed',
// 'measurement', 'error'.
//
// Served by relaygate at /client/relaygate.js; apps may also vendor it.

const POLL_MS = 150; // getStats period: a stall is seen within STALL_MS + POLL_MS
const STALL_MS = 300; // no packets for this long on a pair that was carrying them is a stall
const RESTART_TIMEOUT_MS = 10000; // a restart not recovered by then may be tried again
const EXCLUDE_MS = 120000; // how long a dead relay stays out of refreshed configurations
const REFRESH_AT = 0.8; // share of the credential lifetime after which it is refreshed
const RETRY_MS = 5000; // after a failed refresh
const DRAIN_CHECK_MS = 5000; // default period of GET /v1/call-relays during a call
const MOVE_TIMEOUT_MS = 15000; // a move off a draining relay not done by then may be tried again
const RETIRE_MS = 2000; // a connection switched away from is closed after this long without packets in
const STANDBY_RETRY_MS = 10000; // after a standby could not be built or failed
const PRECALL_CAP_MS = 2000; // a pre-call measurement never holds a first call longer, whatever the budget
const PRECALL_POLL_MS = 20; // getStats period while a candidate is measured

export class RelayGate extends EventTarget {
  /**
   * @param {{gateway: string, token: string | (() => string | Promise<string>),
   *          ttlSeconds?: number, transports?: string[], measurementIntervalMs?: number,
   *          drainCheckMs?: number, preCallBudgetMs?: number, fetch?: typeof fetch}} options
   */
  constructor(options) {
    super();
    if (!options || !options.gateway || !options.token) {
      throw new TypeError('RelayGate: gateway and token are required');
    }
    this.gateway = String(options.gateway).replace(/\/+$/, '');
    this._token = options.token;
    this._ttl = options.ttlSeconds;
    this._transports = options.transports;
    this._measureEvery = options.measurementIntervalMs ?? 30000;
    this._drainCheck = options.drainCheckMs ?? DRAIN_CHECK_MS; // 0: never ask
    this._preCallBudget = options.preCallBudgetMs; // undefined: the gateway's budget; 0: no pre-call measurement
    this._preCalled = false; // the first rtcConfiguration() measured (or tried to)
    this._fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this._answer = null; // the last credentials answer
    this._fetchedAt = 0; // when it arrived, performance.now()
    this._inflight = null;
    this._samples = new Map(); // relay_id -> [rtt_ms...] not yet reported
    this._lastFlush = 0;
    this._watchers = new Map(); // every connection a watch carried or carries -> its Watcher
  }

  /** The last credentials answer from the gateway (relay ids, urls, expiry), or null. */
  get credentials() {
    return this._answer;
  }

  /**
   * Fetches fresh credentials and returns an RTCConfiguration for a relay-only call.
   * @returns {Promise<RTCConfiguration>}
   */
  async rtcConfiguration() {
    await this._refresh(true);
    if (!this._preCalled && this._preCallBudget !== 0) {
      this._preCalled = true;
      try {
        if ((await this.measure()).length) await this._refresh(true); // the times go inline
      } catch (err) {
        this._emit('error', { error: err }); // the GeoIP answer stands
      }
    }
    return toConfig(this._answer);
  }

  /**
   * Measures the round trip to each relay the gateway offers for this client
   * (GET /v1/candidates), all at once within the budget, with the current
   * credentials; the times are sent with the next credentials request.
   * rtcConfiguration() calls it before the first call.
   * @returns {Promise<{relay_id: string, rtt_ms: number}[]>} the relays that answered in time
   */
  async measure() {
    const resp = await this._fetch(this.gateway + '/v1/candidates', {
      headers: { Authorization: await this._authorization() },
      cache: 'no-store',
    });
    if (!resp.ok) throw new Error(`relaygate: GET /v1/candidates answered ${resp.status}`);
    const list = await resp.json();
    const answer = this._answer || (await this._refresh(true));
    const start = performance.now();
    const budget = Math.min(PRECALL_CAP_MS, this._preCallBudget ?? list.budget_ms ?? 300);
    const got = await Promise.all((list.candidates || []).map(async (c) => {
      const rtt = await relayRTT(c.urls || [], answer, start + budget);
      return rtt === null ? null : { relay_id: c.relay_id, rtt_ms: Math.min(60000, Math.round(rtt * 10) / 10) };
    }));
    const ms = got.filter(Boolean);
    for (const m of ms) this._sample(m.relay_id, m.rtt_ms);
    this._emit('measurement', { measurements: ms, preCall: true, ms: Math.round(performance.now() - start) });
    return ms;
  }

  async _authorization() {
    const t = typeof this._token === 'function' ? await this._token() : this._token;
    return 'Bearer ' + t;
  }

  // _refresh fetches credentials; concurrent callers share one request, and
  // unless force, an answer younger than a tenth of its lifetime is reused.
  async _refresh(force) {
    if (this._inflight) return this._inflight;
    if (!force && this._answer && performance.now() - this._fetchedAt < this._answer.ttl_seconds * 100) {
      return this._answer;
    }
    this._inflight = (async () => {
      const body = {};
      if (this._ttl) body.ttl_seconds = this._ttl;
      if (this._transports) body.transports = this._transports;
      const ms = this._takeMeasurements();
      if (ms.length) body.measurements = ms;
      const resp = await this._fetch(this.gateway + '/v1/credentials', {
        method: 'POST',
        headers: { Authorization: await this._authorization(), 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!resp.ok) throw new Error(`relaygate: POST /v1/credentials answered ${resp.status}`);
      const answer = await resp.json();
      this._answer = answer;
      this._fetchedAt = performance.now();
      return answer;
    })();
    try {
      return await this._inflight;
    } finally {
      this._inflight = null;
    }
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // relayOf names the relay a candidate's TURN server URL belongs to.
  _relayOf(url) {
    const a = this._answer;
    if (!a || !url) return null;
    for (const r of [a.primary, a.backup]) {
      if (r && r.urls && r.urls.includes(url)) return r.relay_id;
    }
    return null;
  }

  _urlsOf(relayID) {
    const a = this._answer;
    for (const r of a ? [a.primary, a.backup] : []) {
      if (r && r.relay_id === relayID) return r.urls || [];
    }
    return [];
  }

  _sample(relayID, rttMs) {
    if (!relayID || !(rttMs >= 0)) return;
    let s = this._samples.get(relayID);
    if (!s) this._samples.set(relayID, (s = []));
    if (s.length < 600) s.push(rttMs);
  }

  // _takeMeasurements drains the samples into one median per relay.
  _takeMeasurements() {
    const out = [];
    for (const [relay_id, s] of this._samples) {
      if (!s.length) continue;
      s.sort((a, b) => a - b);
      out.push({ relay_id, rtt_ms: Math.min(60000, Math.round(s[s.length >> 1] * 10) / 10) });
    }
    this._samples.clear();
    return out;
  }

  async _flushMeasurements(force) {
    const now = performance.now();
    if (!force && now - this._lastFlush < this._measureEvery) return;
    const ms = this._takeMeasurements();
    if (!ms.length) return;
    this._lastFlush = now;
    try {
      const resp = await this._fetch(this.gateway + '/v1/measurements', {
        method: 'POST',
        headers: { Authorization: await this._authorization(), 'Content-Type': 'application/json' },
        body: JSON.stringify({ measurements: ms }),
        keepalive: true,
      });
      if (!resp.ok) throw new Error(`relaygate: POST /v1/measurements answered ${resp.status}`);
      this._emit('measurement', { measurements: ms });
    } catch (err) {
      this._emit('error', { error: err });
    }
  }

  // _relaysToLeave asks the gateway about relay ids and returns those to
  // leave now (they drain).
  async _relaysToLeave(ids) {
    const q = ids.map((id) => 'relay=' + encodeURIComponent(id)).join('&');
    const resp = await this._fetch(this.gateway + '/v1/call-relays?' + q, {
      headers: { Authorization: await this._authorization() },
      cache: 'no-store',
    });
    if (!resp.ok) throw new Error(`relaygate: GET /v1/call-relays answered ${resp.status}`);
    const answer = await resp.json();
    return new Set((answer.relays || []).filter((r) => r.leave).map((r) => r.relay_id));
  }

  /**
   * Watches a call: restarts ICE without a dead relay when packets stop (or,
   * with standby, switches to the warm standby), refreshes credentials before
   * they expire, reports RTTs, leaves a draining relay. Returns stop().
   * @param {RTCPeerConnection} pc
   * @param {{renegotiate: (pc: RTCPeerConnection) => void | Promise<void>,
   *          standby?: (standby: RTCPeerConnection) => void | Promise<void>}} options
   * @returns {() => void}
   */
  watch(pc, options) {
    if (!options || typeof options.renegotiate !== 'function') {
      throw new TypeError('RelayGate.watch: renegotiate is required');
    }
    if (options.standby !== undefined && typeof options.standby !== 'function') {
      throw new TypeError('RelayGate.watch: standby must be a function');
    }
    const w = new Watcher(this, pc, options.renegotiate, options.standby);
    this._watchers.set(pc, w);
    w.start();
    return () => w.stop();
  }

  /**
   * The answering side of a warm standby: a new RTCPeerConnection through
   * only the next best relay (not the one carrying the watched call pc),
   * which becomes pc's standby. Call it when the far end's standby offer
   * arrives and answer on it like on any connection; its transceivers answer
   * sendrecv. Rejects when no other relay is available.
   * @param {RTCPeerConnection} pc a connection this RelayGate watches (or watched, before a switch)
   * @returns {Promise<RTCPeerConnection>}
   */
  async standbyConnection(pc) {
    const w = this._watchers.get(pc);
    if (!w || w.stopped) throw new TypeError('RelayGate.standbyConnection: pc is not watched');
    const sb = await w.newStandby(false);
    if (!sb) throw new Error('relaygate: no relay for a standby besides the one carrying the call');
    return sb;
  }
}

// toConfig turns a credentials answer into an RTCConfiguration.
// relayRTT is the round trip to the relay at the STUN URLs urls, in ms, or
// null when it has not been measured by deadline: two relay-only
// connections through that relay alone connect to each other in the page;
// ICE's own check from one to the other crosses the relay twice, so half of
// the pair's currentRoundTripTime is the round trip to it.
async function relayRTT(urls, answer, deadline) {
  const turn = urls.filter((u) => u.startsWith('stun:')).map((u) => 'turn:' + u.slice(5) + '?transport=udp');
  if (!turn.length || !answer) return null;
  const cfg = { iceServers: [{ urls: turn, username: answer.username, credential: answer.credential }], iceTransportPolicy: 'relay' };
  const a = new RTCPeerConnection(cfg);
  const b = new RTCPeerConnection(cfg);
  try {
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
    a.createDataChannel('relaygate-measure');
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    while (performance.now() + PRECALL_POLL_MS < deadline) {
      await new Promise((r) => setTimeout(r, PRECALL_POLL_MS));
      let rtt = null;
      (await a.getStats()).forEach((s) => {
        if (s.type === 'candidate-pair' && s.responsesReceived > 0 && s.currentRoundTripTime !== undefined) {
          rtt = rtt === null ? s.currentRoundTripTime : Math.min(rtt, s.currentRoundTripTime);
        }
      });
      if (rtt !== null) return (rtt * 1000) / 2;
    }
    return null;
  } catch {
    return null; // this browser could not set it up: the relay is left out
  } finally {
    a.close();
    b.close();
  }
}

function toConfig(answer, exclude) {
  let servers = answer.ice_servers.map((s) => ({ urls: [...s.urls], username: s.username, credential: s.credential }));
  if (exclude && exclude.size) {
    const kept = servers
      .map((s) => ({ ...s, urls: s.urls.filter((u) => !exclude.has(u)) }))
      .filter((s) => s.urls.length);
    if (kept.length) servers = kept; // never leave the call with no relay at all
  }
  return { iceServers: servers, iceTransportPolicy: answer.ice_transport_policy || 'relay' };
}

// onlyRelay turns a credentials answer into an RTCConfiguration through one relay's URLs.
function onlyRelay(answer, urls) {
  const servers = answer.ice_servers
    .map((s) => ({ urls: s.urls.filter((u) => urls.includes(u)), username: s.username, credential: s.credential }))
    .filter((s) => s.urls.length);
  return { iceServers: servers, iceTransportPolicy: answer.ice_transport_policy || 'relay' };
}

// inboundRTP is the RTP packets a stats report counts as received.
function inboundRTP(report) {
  let n = 0;
  let streams = 0;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp') {
      n += s.packetsReceived || 0;
      streams++;
    }
  });
  return { n, streams };
}

class Watcher {
  constructor(rg, pc, renegotiate, standby) {
    this.rg = rg;
    this.pc = pc;
    this.renegotiate = renegotiate;
    this.offerStandby = standby || null; // the app's negotiation of a standby we offer; null: we do not offer
    this.timer = 0;
    this.refreshTimer = 0;
    this.stopped = false;
    this.busy = false; // a getStats round in flight
    this.counter = ''; // what last counts: '<gen>:rtp', or 'pair:<id>' for calls without RTP
    this.last = 0; // its value at the last poll
    this.gen = 0; // bumped at every switch to a standby
    this.lastProgress = 0; // when they last grew
    this.active = false; // they grew since the last (re)start
    this.stall = null; // {at, relay, since} while stalled or restarting
    this.excluded = new Map(); // url -> until (performance.now())
    this.relay = null; // the relay of the selected pair's local candidate, at the last poll
    this.carrying = null; // the relays of the selected pair's two candidates (Set), once known
    this.drainTimer = 0;
    this.asking = false; // a GET /v1/call-relays in flight
    this.move = null; // {relay, at} while moving off a draining relay
    this.standby = null; // {pc, relay, ready, seen} the warm standby, once there is one
    this.building = false; // a standby being built
    this.standbyAfter = 0; // no standby built before this (performance.now())
    this.retired = null; // {pc, seen, lastIn} the connection switched away from, until closed
  }

  start() {
    this.timer = setInterval(() => this.poll(), POLL_MS);
    if (this.rg._drainCheck > 0) this.drainTimer = setInterval(() => this.checkDrain(), this.rg._drainCheck);
    this.scheduleRefresh();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.drainTimer);
    clearTimeout(this.refreshTimer);
    this.dropStandby();
    if (this.retired) this.retired.pc.close();
    this.retired = null;
    for (const [pc, w] of this.rg._watchers) if (w === this) this.rg._watchers.delete(pc);
    this.rg._flushMeasurements(true);
  }

  excludedURLs() {
    const now = performance.now();
    const s = new Set();
    for (const [u, until] of this.excluded) {
      if (until > now) s.add(u);
      else this.excluded.delete(u);
    }
    return s;
  }

  scheduleRefresh() {
    const a = this.rg._answer;
    if (!a || this.stopped) return;
    const due = this.rg._fetchedAt + a.ttl_seconds * 1000 * REFRESH_AT;
    this.refreshTimer = setTimeout(() => this.refresh(), Math.max(0, due - performance.now()));
  }

  async refresh() {
    if (this.stopped) return;
    try {
      const a = await this.rg._refresh(false);
      if (this.stopped || this.pc.signalingState === 'closed') return;
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), ...toConfig(a, this.excludedURLs()) });
      const sb = this.standby;
      if (sb && sb.pc.signalingState !== 'closed') {
        sb.pc.setConfiguration({ ...sb.pc.getConfiguration(), ...onlyRelay(a, this.rg._urlsOf(sb.relay)) });
      }
      this.rg._emit('refreshed', { expiresAt: a.expires_at });
      this.scheduleRefresh();
      // An answer that no longer offers the relay carrying the call says it
      // may be draining: ask now rather than at the next drain check.
      if (this.relay && ![a.primary, a.backup].some((r) => r && r.relay_id === this.relay)) this.checkDrain();
    } catch (err) {
      this.rg._emit('error', { error: err });
      if (!this.stopped) this.refreshTimer = setTimeout(() => this.refresh(), RETRY_MS);
    }
  }

  // standbyRelay is the next best relay for a standby: the gateway's
  // primary or backup that carries neither end of the call and is not left
  // out. A call split over two relays has none.
  standbyRelay() {
    const a = this.rg._answer;
    const ex = this.excludedURLs();
    const busy = this.carrying || new Set([this.relay]);
    for (const r of a ? [a.primary, a.backup] : []) {
      if (r && !busy.has(r.relay_id) && (r.urls || []).some((u) => !ex.has(u))) return r;
    }
    return null;
  }

  // newStandby builds a standby connection through the next best relay:
  // offering, with one sendrecv transceiver per track the call sends, handed
  // to the app's standby(); answering, turning the far end's offered
  // transceivers sendrecv as they arrive. It returns null when no relay is left.
  async newStandby(offering) {
    await this.rg._refresh(false);
    if (!this.carrying) {
      // The answering side may be asked before its first poll saw the pair.
      const report = await this.pc.getStats();
      this.carrying = carrying(this.rg, report, selectedPair(report));
      if (!this.carrying) throw new Error('relaygate: no standby before the call is connected');
    }
    const r = this.standbyRelay();
    if (!r || this.stopped) return null;
    this.dropStandby();
    const pc = new RTCPeerConnection(onlyRelay(this.rg._answer, r.urls.filter((u) => !this.excludedURLs().has(u))));
    const sb = { pc, relay: r.relay_id, ready: false, seen: 0 };
    this.standby = sb;
    this.rg._watchers.set(pc, this);
    pc.addEventListener('connectionstatechange', () => {
      if (this.standby !== sb) return;
      if (pc.connectionState === 'connected' && !sb.ready) {
        sb.ready = true;
        this.rg._emit('standby', { relay: sb.relay });
      } else if (pc.connectionState === 'failed') {
        this.dropStandby();
        this.standbyAfter = performance.now() + STANDBY_RETRY_MS;
      }
    });
    if (offering) {
      for (const t of this.pc.getTransceivers()) {
        if (!t.stopped && t.receiver.track && (t.direction === 'sendrecv' || t.direction === 'sendonly')) {
          pc.addTransceiver(t.receiver.track.kind, { direction: 'sendrecv' });
        }
      }
    } else {
      pc.addEventListener('track', (e) => {
        if (e.transceiver.direction === 'recvonly') e.transceiver.direction = 'sendrecv';
      });
    }
    return pc;
  }

  // buildStandby, on the offering side, builds a standby and has the app
  // negotiate it; a failure is tried again after STANDBY_RETRY_MS.
  async buildStandby() {
    if (this.building || this.stopped) return;
    this.building = true;
    let pc = null;
    try {
      pc = await this.newStandby(true);
      if (pc) await this.offerStandby(pc);
    } catch (err) {
      this.rg._emit('error', { error: err });
      if (pc && this.standby && this.standby.pc === pc) this.dropStandby();
      pc = null;
    } finally {
      this.building = false;
      if (!pc) this.standbyAfter = performance.now() + STANDBY_RETRY_MS;
    }
  }

  dropStandby() {
    const sb = this.standby;
    this.standby = null;
    if (!sb) return;
    this.rg._watchers.delete(sb.pc);
    sb.pc.close();
  }

  // switchToStandby moves every track the call sends onto the standby's
  // transceiver of the same kind, then watches the standby as the call and
  // keeps the old connection until nothing arrives on it.
  switchToStandby(reason) {
    const sb = this.standby;
    if (!sb || !sb.ready || sb.pc.connectionState !== 'connected') return false;
    const old = this.pc;
    const free = sb.pc.getTransceivers().filter((t) => t.receiver && t.receiver.track && !t.stopped);
    for (const s of old.getSenders()) {
      const track = s.track;
      if (!track) continue;
      const i = free.findIndex((t) => t.receiver.track.kind === track.kind);
      if (i < 0) continue;
      const [t] = free.splice(i, 1);
      t.sender
        .replaceTrack(track)
        .then(() => s.replaceTrack(null))
        .catch((err) => this.rg._emit('error', { error: err }));
    }
    const now = performance.now();
    if (this.retired) this.retired.pc.close();
    this.retired = { pc: old, seen: this.counter === this.gen + ':rtp' ? this.last : 0, lastIn: now };
    this.standby = null;
    this.pc = sb.pc;
    this.gen++;
    this.counter = this.gen + ':rtp';
    this.last = sb.seen;
    this.standbyAfter = 0;
    this.rg._emit('switched', { from: this.relay, to: sb.relay, reason, pc: sb.pc });
    this.relay = sb.relay; // the next standby goes elsewhere
    this.carrying = new Set([sb.relay]);
    return true;
  }

  async poll() {
    if (this.busy || this.stopped) return;
    if (this.pc.connectionState === 'closed') return this.stop();
    this.busy = true;
    const sb = this.standby;
    const old = this.retired;
    let report, sbReport, oldReport;
    try {
      [report, sbReport, oldReport] = await Promise.all([
        this.pc.getStats(),
        sb ? sb.pc.getStats().catch(() => null) : null,
        old ? old.pc.getStats().catch(() => null) : null,
      ]);
    } catch {
      this.busy = false;
      return;
    }
    this.busy = false;
    if (this.stopped) return;
    const now = performance.now();

    // Progress is media packets received (RTP streams persist across ICE
    // restarts); a call with no RTP stream falls back to the selected
    // pair's bytes, which start again from zero on a new pair. Packets on
    // the standby or on the connection switched away from count too.
    const { n: rtp, streams } = inboundRTP(report);
    const pair = selectedPair(report);
    const counter = streams ? this.gen + ':rtp' : 'pair:' + (pair ? pair.id : '');
    const received = streams ? rtp : (pair && pair.bytesReceived) || 0;
    const local = pair && report.get(pair.localCandidateId);
    const remote = pair && report.get(pair.remoteCandidateId);
    const relay = local ? this.rg._relayOf(local.url) : null;
    this.carrying = carrying(this.rg, report, pair) || this.carrying;
    if (pair && pair.currentRoundTripTime > 0) this.rg._sample(relay, pair.currentRoundTripTime * 1000);
    this.rg._flushMeasurements(false);

    if (relay) {
      if (this.move && relay !== this.move.relay) {
        this.rg._emit('moved', { from: this.move.relay, to: relay, ms: Math.round(now - this.move.at) });
        this.move = null;
      }
      this.relay = relay;
    }

    let grew = counter === this.counter && received > this.last;
    this.counter = counter;
    this.last = received;
    if (old && oldReport && old === this.retired) {
      const n = inboundRTP(oldReport).n;
      if (n > old.seen) {
        old.seen = n;
        old.lastIn = now;
        grew = true;
      } else if (now - old.lastIn > RETIRE_MS) {
        this.retired = null;
        old.pc.close(); // releases its allocations, so a draining relay can go
      }
    }
    if (sb && sbReport && sb === this.standby) {
      const n = inboundRTP(sbReport).n;
      if (n > sb.seen) {
        sb.seen = n;
        grew = true;
        this.switchToStandby('follow'); // the far end switched: follow it
      }
    }
    if (this.offerStandby && !this.standby && !this.building && this.active && this.relay && now >= this.standbyAfter) {
      this.buildStandby();
    }
    if (grew) {
      if (this.stall && this.stall.restarted) {
        const gapMs = Math.round(now - this.stall.since);
        this.stall = null;
        this.rg._emit('recovered', { relay: this.relay, gapMs });
      } else if (this.stall) {
        this.stall = null; // a hiccup, not a dead relay
      }
      this.active = true;
      this.lastProgress = now;
      return;
    }
    if (!this.active) return;
    if (this.stall) {
      if (this.stall.restarted && now - this.stall.at > RESTART_TIMEOUT_MS) this.stall = null; // may try again
      else if (!this.stall.restarted) this.restart(this.stall);
      return;
    }
    if (now - this.lastProgress < STALL_MS) return;
    this.stall = { at: now, since: this.lastProgress, relay, restarted: false };
    this.rg._emit('stalled', { relay, sinceMs: Math.round(now - this.lastProgress) });
    this.deadRelay = deadRelay(this.rg, relay, local, remote);
    this.restart(this.stall);
  }

  // checkDrain asks the gateway whether the relay carrying the call (or the
  // standby's) drains, and if so moves the call off it while it still
  // carries the media: onto the standby when there is one, else by an ICE
  // restart without it.
  async checkDrain() {
    const relay = this.relay;
    if (this.stopped || this.asking || !relay || this.stall) return;
    if (this.move && performance.now() - this.move.at < MOVE_TIMEOUT_MS) return;
    const sb = this.standby;
    this.asking = true;
    let leave;
    try {
      leave = await this.rg._relaysToLeave(sb && sb.relay !== relay ? [relay, sb.relay] : [relay]);
    } catch (err) {
      this.rg._emit('error', { error: err });
      return;
    } finally {
      this.asking = false;
    }
    if (this.stopped) return;
    if (sb && sb === this.standby && leave.has(sb.relay)) {
      this.exclude(sb.relay);
      this.dropStandby(); // the next poll builds one on another relay, if any
    }
    if (!leave.has(relay) || this.relay !== relay || this.stall) return;
    this.move = { relay, at: performance.now() };
    this.exclude(relay);
    this.rg._emit('draining', { relay, excluded: [...this.excludedURLs()] });
    if (!this.switchToStandby('draining')) await this.restartWithout();
  }

  // exclude leaves relay's URLs out of configurations for EXCLUDE_MS.
  exclude(relay) {
    for (const u of this.rg._urlsOf(relay)) this.excluded.set(u, performance.now() + EXCLUDE_MS);
  }

  // restartWithout hands the connection the configuration without the
  // excluded URLs, restarts ICE and runs the app's renegotiation.
  async restartWithout() {
    const pc = this.pc;
    try {
      if (this.rg._answer) {
        pc.setConfiguration({ ...pc.getConfiguration(), ...toConfig(this.rg._answer, this.excludedURLs()) });
      }
      pc.restartIce();
      await this.renegotiate(pc);
    } catch (err) {
      this.rg._emit('error', { error: err });
    }
  }

  async restart(stall) {
    stall.restarted = true;
    stall.at = performance.now();
    const dead = this.deadRelay;
    if (dead) this.exclude(dead);
    if (this.switchToStandby('stalled')) return;
    this.rg._emit('restarting', { relay: dead, excluded: [...this.excludedURLs()] });
    await this.restartWithout();
  }
}

// deadRelay names the relay to leave out of a restart: the one our selected
// pair's local candidate was allocated on, unless the far end's candidate
// sits on another of our relays, when either may have died and leaving ours
// out could leave us with only the dead one.
function deadRelay(rg, relay, local, remote) {
  if (!relay || !local) return null;
  if (!remote || remote.candidateType !== 'relay') return relay;
  const ours = hostOf(local);
  const theirs = remote.address || remote.ip;
  if (theirs && ours && theirs !== ours && knownHost(rg, theirs)) return null;
  return relay;
}

function hostOf(c) {
  return c.address || c.ip || null;
}

function knownHost(rg, host) {
  return relayByHost(rg, host) !== null;
}

// relayByHost names the relay of the credentials answer whose URLs name host.
function relayByHost(rg, host) {
  const a = rg._answer;
  for (const r of a ? [a.primary, a.backup] : []) {
    for (const u of (r && r.urls) || []) {
      if (u.includes(host)) return r.relay_id;
    }
  }
  return null;
}

// selectedPair is the candidate pair a stats report's transport selected.
function selectedPair(report) {
  let pair = null;
  let selectedID = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) selectedID = s.selectedCandidatePairId;
  });
  if (selectedID) pair = report.get(selectedID);
  if (!pair) {
    report.forEach((s) => {
      if (!pair && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
  }
  return pair;
}

// carrying names the relays a selected pair runs through: its local
// candidate's, and its remote candidate's when that is on one of ours (the
// far end's relays are the same fleet's). Null when there is no pair yet.
function carrying(rg, report, pair) {
  const local = pair && report.get(pair.localCandidateId);
  const relay = local ? rg._relayOf(local.url) : null;
  if (!relay) return null;
  const out = new Set([relay]);
  const remote = report.get(pair.remoteCandidateId);
  const theirs = remote && remote.candidateType === 'relay' && relayByHost(rg, hostOf(remote));
  if (theirs) out.add(theirs);
  return out;
}
