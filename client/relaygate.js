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
// Every drainCheckMs (5 s) it asks GET /v1/call-relays about the relay that
// carries the call; when the gateway says to leave it (an operator drains it,
// or it shuts down), watch restarts ICE without it while it still carries
// the media, so maintenance leaves no gap.
//
// Events (RelayGate is an EventTarget; each event is a CustomEvent whose
// detail is described in relaygate.d.ts): 'stalled', 'restarting',
// 'recovered', 'draining', 'moved', 'refreshed', 'measurement', 'error'.
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

export class RelayGate extends EventTarget {
  /**
   * @param {{gateway: string, token: string | (() => string | Promise<string>),
   *          ttlSeconds?: number, transports?: string[], measurementIntervalMs?: number,
   *          drainCheckMs?: number, fetch?: typeof fetch}} options
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
    this._fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this._answer = null; // the last credentials answer
    this._fetchedAt = 0; // when it arrived, performance.now()
    this._inflight = null;
    this._samples = new Map(); // relay_id -> [rtt_ms...] not yet reported
    this._lastFlush = 0;
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
    return toConfig(this._answer);
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
   * Watches a call: restarts ICE without a dead relay when packets stop,
   * refreshes credentials before they expire, reports RTTs. Returns stop().
   * @param {RTCPeerConnection} pc
   * @param {{renegotiate: () => void | Promise<void>}} options
   * @returns {() => void}
   */
  watch(pc, options) {
    if (!options || typeof options.renegotiate !== 'function') {
      throw new TypeError('RelayGate.watch: renegotiate is required');
    }
    const w = new Watcher(this, pc, options.renegotiate);
    w.start();
    return () => w.stop();
  }
}

// toConfig turns a credentials answer into an RTCConfiguration.
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

class Watcher {
  constructor(rg, pc, renegotiate) {
    this.rg = rg;
    this.pc = pc;
    this.renegotiate = renegotiate;
    this.timer = 0;
    this.refreshTimer = 0;
    this.stopped = false;
    this.busy = false; // a getStats round in flight
    this.counter = ''; // what last counts: 'rtp', or 'pair:<id>' for calls without RTP
    this.last = 0; // its value at the last poll
    this.lastProgress = 0; // when they last grew
    this.active = false; // they grew since the last (re)start
    this.stall = null; // {at, relay, since} while stalled or restarting
    this.excluded = new Map(); // url -> until (performance.now())
    this.relay = null; // the relay of the selected pair's local candidate, at the last poll
    this.drainTimer = 0;
    this.asking = false; // a GET /v1/call-relays in flight
    this.move = null; // {relay, at} while moving off a draining relay
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
      this.rg._emit('refreshed', { expiresAt: a.expires_at });
      this.scheduleRefresh();
    } catch (err) {
      this.rg._emit('error', { error: err });
      if (!this.stopped) this.refreshTimer = setTimeout(() => this.refresh(), RETRY_MS);
    }
  }

  async poll() {
    if (this.busy || this.stopped) return;
    if (this.pc.connectionState === 'closed') return this.stop();
    this.busy = true;
    let report;
    try {
      report = await this.pc.getStats();
    } catch {
      this.busy = false;
      return;
    }
    this.busy = false;
    if (this.stopped) return;
    const now = performance.now();

    // Progress is media packets received (RTP streams persist across ICE
    // restarts); a call with no RTP stream falls back to the selected
    // pair's bytes, which start again from zero on a new pair.
    let rtp = 0;
    let streams = 0;
    let pair = null;
    let selectedID = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        rtp += s.packetsReceived || 0;
        streams++;
      }
      if (s.type === 'transport' && s.selectedCandidatePairId) selectedID = s.selectedCandidatePairId;
    });
    if (selectedID) pair = report.get(selectedID);
    if (!pair) {
      report.forEach((s) => {
        if (!pair && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
      });
    }
    const counter = streams ? 'rtp' : 'pair:' + (pair ? pair.id : '');
    const received = streams ? rtp : (pair && pair.bytesReceived) || 0;
    const local = pair && report.get(pair.localCandidateId);
    const remote = pair && report.get(pair.remoteCandidateId);
    const relay = local ? this.rg._relayOf(local.url) : null;
    if (pair && pair.currentRoundTripTime > 0) this.rg._sample(relay, pair.currentRoundTripTime * 1000);
    this.rg._flushMeasurements(false);

    if (relay) {
      if (this.move && relay !== this.move.relay) {
        this.rg._emit('moved', { from: this.move.relay, to: relay, ms: Math.round(now - this.move.at) });
        this.move = null;
      }
      this.relay = relay;
    }

    const grew = counter === this.counter && received > this.last;
    this.counter = counter;
    this.last = received;
    if (grew) {
      if (this.stall && this.stall.restarted) {
        const gapMs = Math.round(now - this.stall.since);
        this.stall = null;
        this.rg._emit('recovered', { relay, gapMs });
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

  // checkDrain asks the gateway whether the relay carrying the call drains,
  // and if so moves the call off it while it still carries the media.
  async checkDrain() {
    const relay = this.relay;
    if (this.stopped || this.asking || !relay || this.stall) return;
    if (this.move && performance.now() - this.move.at < MOVE_TIMEOUT_MS) return;
    this.asking = true;
    let leave;
    try {
      leave = await this.rg._relaysToLeave([relay]);
    } catch (err) {
      this.rg._emit('error', { error: err });
      return;
    } finally {
      this.asking = false;
    }
    if (this.stopped || !leave.has(relay) || this.relay !== relay || this.stall) return;
    this.move = { relay, at: performance.now() };
    this.exclude(relay);
    this.rg._emit('draining', { relay, excluded: [...this.excludedURLs()] });
    await this.restartWithout();
  }

  // exclude leaves relay's URLs out of configurations for EXCLUDE_MS.
  exclude(relay) {
    for (const u of this.rg._urlsOf(relay)) this.excluded.set(u, performance.now() + EXCLUDE_MS);
  }

  // restartWithout hands the connection the configuration without the
  // excluded URLs, restarts ICE and runs the app's renegotiation.
  async restartWithout() {
    try {
      if (this.rg._answer) {
        this.pc.setConfiguration({ ...this.pc.getConfiguration(), ...toConfig(this.rg._answer, this.excludedURLs()) });
      }
      this.pc.restartIce();
      await this.renegotiate();
    } catch (err) {
      this.rg._emit('error', { error: err });
    }
  }

  async restart(stall) {
    stall.restarted = true;
    stall.at = performance.now();
    const dead = this.deadRelay;
    if (dead) this.exclude(dead);
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
  const a = rg._answer;
  for (const r of a ? [a.primary, a.backup] : []) {
    for (const u of (r && r.urls) || []) {
      if (u.includes(host)) return true;
    }
  }
  return false;
}
