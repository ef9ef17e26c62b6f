// Type declarations for relaygate.js, the browser client of relaygate.

/** Options of a RelayGate. */
export interface RelayGateOptions {
  /** Base URL of the relaygate gateway, e.g. "https://gw.example". */
  gateway: string;
  /** The user's JWT issued by the app, or a function returning it (called before every request). */
  token: string | (() => string | Promise<string>);
  /** Requested credential lifetime in seconds (60..172800); the gateway's default when absent. */
  ttlSeconds?: number;
  /** Transports the client can use ("udp", "tcp", "tls"); all when absent. */
  transports?: string[];
  /** Least time between two POST /v1/measurements, in milliseconds; default 30000. */
  measurementIntervalMs?: number;
  /** Budget of the measurement before the first call, in milliseconds (capped at 2000); default the gateway's budget_ms, 0 turns it off. */
  preCallBudgetMs?: number;
  /**
   * How often watch() asks GET /v1/call-relays whether the relay carrying the call drains, in
   * milliseconds; default 5000; 0 never asks (a drained relay's calls then end with it).
   */
  drainCheckMs?: number;
  /** fetch to use; default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** One relay of a credentials answer. */
export interface Relay {
  relay_id: string;
  region: string;
  site: string;
  /** ISO 3166-1 alpha-2 code of the country the relay is in; absent when unknown. */
  country?: string;
  hostname?: string;
  urls: string[];
  estimated_rtt_ms?: number;
  basis?: string;
}

/** The gateway's answer to POST /v1/credentials. */
export interface Credentials {
  username: string;
  credential: string;
  ttl_seconds: number;
  expires_at: string;
  primary: Relay;
  backup?: Relay;
  ice_servers: RTCIceServer[];
  ice_transport_policy: RTCIceTransportPolicy;
}

/** Options of RelayGate.watch. */
export interface WatchOptions {
  /**
   * Runs the app's offer/answer after watch called pc.restartIce() on pc, the
   * connection that carries the call now (after a switch to a standby, the
   * standby): the offer it creates restarts ICE. On the answering side, ask
   * the offerer to do so.
   */
  renegotiate: (pc: RTCPeerConnection) => void | Promise<void>;
  /**
   * Opts the offering side into the warm standby mode: watch builds, next to
   * the call, an RTCPeerConnection through only the next best relay (one
   * sendrecv transceiver per kind the call sends, no track) and hands it here;
   * negotiate it with the far end like any connection (its offer, answer and
   * candidates), the far end answering on RelayGate.standbyConnection(). When
   * the call stalls, its relay drains or the far end switches, watch moves
   * the call's tracks onto the standby (replaceTrack), emits 'switched',
   * closes the old connection once nothing arrives on it, and builds a fresh
   * standby. Absent: the plain ICE-restart mode.
   */
  standby?: (standby: RTCPeerConnection) => void | Promise<void>;
}

/** Details of the events a RelayGate dispatches (as CustomEvent.detail). */
export interface RelayGateEventMap {
  /** Packets stopped arriving on the selected pair; relay is the relay id of its local candidate. */
  stalled: CustomEvent<{ relay: string | null; sinceMs: number }>;
  /** ICE is being restarted; relay is the relay left out (null: none), excluded its URLs. */
  restarting: CustomEvent<{ relay: string | null; excluded: string[] }>;
  /** Packets arrive again; relay is the relay now in use, gapMs the silence from the last packet before the stall. */
  recovered: CustomEvent<{ relay: string | null; gapMs: number }>;
  /**
   * The gateway says the relay carrying the call drains: the call switches to its standby, or
   * without one ICE is restarted without the relay, while it still carries the media; excluded
   * lists the URLs left out.
   */
  draining: CustomEvent<{ relay: string; excluded: string[] }>;
  /** The call left a draining relay: to is the relay now carrying it, ms the time since 'draining'. */
  moved: CustomEvent<{ from: string; to: string; ms: number }>;
  /** A standby connection through relay is connected and idle, ready to take the call. */
  standby: CustomEvent<{ relay: string }>;
  /**
   * The call's tracks moved onto the standby, which pc is and which carries the call from now on
   * (play its remote tracks as the call's): reason is 'stalled', 'draining', or 'follow' (packets
   * arrived on the standby: the far end switched).
   */
  switched: CustomEvent<{ from: string | null; to: string; reason: 'stalled' | 'draining' | 'follow'; pc: RTCPeerConnection }>;
  /** Credentials were refreshed and handed to the connection with setConfiguration. */
  refreshed: CustomEvent<{ expiresAt: string }>;
  /** RTTs observed through each relay were reported to the gateway. */
  /** Measurements sent (POST /v1/measurements), or taken before the first call (preCall: true, ms: time spent; they go inline with the next credentials request). */
  measurement: CustomEvent<{ measurements: { relay_id: string; rtt_ms: number }[]; preCall?: boolean; ms?: number }>;
  /** A refresh, report, restart, standby or switch failed; watch goes on. */
  error: CustomEvent<{ error: unknown }>;
}

/** The relaygate client: credentials, relay-only configuration, and a call watcher. */
export declare class RelayGate extends EventTarget {
  constructor(options: RelayGateOptions);
  /** The gateway base URL, without a trailing slash. */
  readonly gateway: string;
  /** The last credentials answer, or null before the first. */
  readonly credentials: Credentials | null;
  /**
   * Fetches fresh credentials; resolves to { iceServers, iceTransportPolicy: "relay" }.
   * The first call measures the gateway's candidate relays first (see measure) and sends
   * the times inline, unless preCallBudgetMs is 0.
   */
  rtcConfiguration(): Promise<RTCConfiguration>;
  /**
   * Measures the round trip to each relay GET /v1/candidates offers, all at once within the
   * budget, through two in-page relay-only connections per relay (half of ICE's check RTT);
   * the times go with the next credentials request. Resolves to the relays that answered in time.
   */
  measure(): Promise<{ relay_id: string; rtt_ms: number }[]>;
  /**
   * Watches a call: restarts ICE once without the relay that died when packets stop
   * (within about half a second), or with options.standby switches to the warm standby,
   * refreshes credentials at 80 % of their lifetime,
   * reports observed RTTs, and moves the call off its relay when the gateway says it drains.
   * Returns a function that stops watching.
   */
  watch(pc: RTCPeerConnection, options: WatchOptions): () => void;
  /**
   * The answering side of the warm standby: a new RTCPeerConnection through only the next best
   * relay (not the one carrying the watched call pc, which may also be a connection the call was
   * switched away from), which becomes the call's standby. Call it when the far end's standby
   * offer arrives and answer on it like on any connection; its transceivers answer sendrecv.
   * Rejects when no relay other than the carrying one is available.
   */
  standbyConnection(pc: RTCPeerConnection): Promise<RTCPeerConnection>;

  addEventListener<K extends keyof RelayGateEventMap>(
    type: K,
    listener: (this: RelayGate, ev: RelayGateEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof RelayGateEventMap>(
    type: K,
    listener: (this: RelayGate, ev: RelayGateEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
