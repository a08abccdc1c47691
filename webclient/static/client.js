// jwtexp browser client: a small, dependency-free ES module.
//
// It talks to a server that follows the jwtexp HTTP contract (POST /login,
// POST /refresh, POST /logout, protected routes that take a Bearer token):
//
//   - The access token lives in memory only (a private field of the client),
//     never in localStorage, sessionStorage or a cookie readable by script.
//   - Protected calls go through client.call(url, init), a fetch() look-alike
//     that adds "Authorization: Bearer <access token>".
//   - On a 401 from a protected call the client refreshes ONCE for all the
//     calls that failed meanwhile (one shared promise), then retries each of
//     them once with the new token. A retried call that fails again is
//     returned as it is: the client never loops.
//   - When the server refuses the refresh (any 4xx), the session is over: the
//     client forgets its tokens and goes to the state "logged-out".
//
// Cookie-only servers (jwtexp's WithCookieOnly, the "backend" pattern of the
// OAuth guidance for browser apps): the token response carries no token at
// all, only {"token_type", "expires_in", "token_transport": "cookie"}; both
// tokens live in HttpOnly cookies the browser sends by itself. The client then
// holds no token: it sends no Authorization header, refreshes with the cookie
// whatever its transport option says, and otherwise behaves the same (single
// flight, one retry). Nothing needs configuring: the answer to the login says
// which kind of server it is.
//
// DPoP (RFC 9449), with the option dpop: true: at login the client makes an
// ECDSA P-256 key pair with WebCrypto whose private key is not extractable (no
// script, this one included, can read it out), keeps it in IndexedDB (so a
// reload can still refresh), and signs a DPoP proof (a JWT: typ dpop+jwt, the
// public key as jwk; claims htm, htu without query and fragment, iat, a random
// jti, and ath, the hash of the access token, on resource requests) for every
// login, refresh, protected call and logout. When the token response says
// token_type "DPoP", calls carry "Authorization: DPoP <token>" and the proof; a
// server answering Bearer (DPoP off) gets Bearer calls. Server nonces: the
// latest DPoP-Nonce header the API sent goes into every proof, and an answer
// asking for one (use_dpop_nonce: 400 from login and refresh, 401 with a DPoP
// challenge from a protected route) is retried once with the new nonce. Tokens
// bound to the key are worthless without it: a refresh token copied out of the
// page cannot be refreshed elsewhere. Logout deletes the key.
//
// Refresh-token transports:
//
//   - "cookie" (the default): the login request carries the header
//     "X-Refresh-Transport: cookie"; the server keeps the refresh token in an
//     HttpOnly, Secure, SameSite cookie scoped to the refresh path, which page
//     script cannot read. This is the default because a refresh token that page
//     script can read is exposed to any XSS on the page, and it outlives the
//     access token by days.
//   - "body": the refresh token comes back in the JSON token response, is kept
//     in memory next to the access token, and is sent as
//     {"refresh_token": "..."} to the refresh endpoint. Use it only where no
//     cookie can be used.
//
// Usage:
//
//   import { AuthClient } from './client.js';
//   const auth = new AuthClient();                 // cookie transport
//   auth.addEventListener('statechange', (e) => render(e.detail.state));
//   await auth.login('alice', 'wonderland');
//   const res = await auth.call('/api/me');       // a Response, as fetch gives
//   await auth.logout();

/** The client has no session. */
export const LOGGED_OUT = 'logged-out';
/** The client holds an access token. */
export const LOGGED_IN = 'logged-in';
/** A refresh request is under way. */
export const REFRESHING = 'refreshing';

// DPoP key store: one IndexedDB database of this origin, one record per key name.
const DPOP_DB = 'jwtexp-dpop';
const DPOP_STORE = 'keys';

// COOKIE stands in for the access token of a cookie-only session: the token is
// in an HttpOnly cookie this script cannot read.
const COOKIE = Symbol('jwtexp: access token in an HttpOnly cookie');

/**
 * AuthError is thrown by login() and passed in the detail of events when the
 * server refuses a request. status is the HTTP status (0 for a network or
 * protocol error); code and description come from the JSON error body
 * {"error", "error_description"} when the server sent one.
 */
export class AuthError extends Error {
  constructor(message, { status = 0, code = '', description = '', cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
    this.description = description;
  }
}

/** errorFrom turns a failed response into an AuthError. */
async function errorFrom(res, what) {
  let code = '';
  let description = '';
  try {
    const body = await res.json();
    if (body && typeof body === 'object') {
      code = typeof body.error === 'string' ? body.error : '';
      description = typeof body.error_description === 'string' ? body.error_description : '';
    }
  } catch {
    // Not a JSON body: the status says enough.
  }
  const detail = description || code || `HTTP ${res.status}`;
  return new AuthError(`${what} failed: ${detail}`, { status: res.status, code, description });
}

/**
 * AuthClient keeps one session with a jwtexp server and makes protected calls.
 *
 * Options (all optional):
 *   transport   'cookie' (default) or 'body', see the top of this file.
 *   baseURL     where the endpoints live; default: the page's origin.
 *   loginPath   default '/login'.
 *   refreshPath default '/refresh'.
 *   logoutPath  default '/logout'.
 *   fetch       the fetch function to use; default: globalThis.fetch.
 *   now         a clock in milliseconds; default: Date.now.
 *
 * Events (the client is an EventTarget; every event is a CustomEvent):
 *   'statechange'  detail {state, previous, reason, error} on every change of
 *                  state. reason is one of 'login', 'restore', 'refresh',
 *                  'refresh-failed', 'restore-failed', 'refresh-error',
 *                  'logout'; error is an AuthError or undefined.
 *   'logged-in', 'logged-out', 'refreshing'
 *                  the same detail, under the name of the new state.
 *
 * The access token is never exposed: call() is the only way to use it.
 */
export class AuthClient extends EventTarget {
  #transport;
  #urls;
  #origin;
  #fetch;
  #now;

  #access = null; // access token, memory only; COOKIE in a cookie-only session
  #cookieOnly = false; // the server keeps both tokens in HttpOnly cookies
  #dpop; // DPoP enabled (option dpop)
  #dpopKeyName;
  #key = null; // the DPoP key, a promise of {privateKey, jwk} or of null, once loaded or made
  #nonce = null; // the latest DPoP-Nonce of the API
  #tokenType = 'Bearer'; // token_type of the last token response: 'Bearer' or 'DPoP'
  #refresh = null; // refresh token, memory only, body transport only
  #expiresAt = null; // when the access token expires, in ms on this client's clock
  #state = LOGGED_OUT;
  #inflight = null; // the one shared refresh promise, while a refresh runs
  #generation = 0; // changes whenever #access changes
  #attempts = 0; // refresh attempts finished so far, whatever their outcome
  #epoch = 0; // changes on login and logout; a refresh begun in another epoch is discarded
  #retryKey = null; // Idempotency-Key of a refresh that got no answer (5xx, network error) yet
  #warned = false;

  constructor(options = {}) {
    super();
    const {
      transport = 'cookie',
      baseURL,
      loginPath = '/login',
      refreshPath = '/refresh',
      logoutPath = '/logout',
      fetch: fetchFn,
      now,
      dpop = false,
      dpopKeyName = 'default',
    } = options;
    if (transport !== 'cookie' && transport !== 'body') {
      throw new TypeError(`jwtexp: transport must be 'cookie' or 'body', not ${JSON.stringify(transport)}`);
    }
    const base = baseURL ?? globalThis.location?.origin;
    if (!base) {
      throw new TypeError('jwtexp: baseURL is required outside a browser page');
    }
    const root = new URL(base, globalThis.location?.href);
    this.#transport = transport;
    this.#origin = root.origin;
    this.#urls = {
      login: new URL(loginPath, root).href,
      refresh: new URL(refreshPath, root).href,
      logout: new URL(logoutPath, root).href,
    };
    this.#fetch = fetchFn ?? globalThis.fetch.bind(globalThis);
    this.#now = now ?? Date.now;
    if (dpop && !globalThis.crypto?.subtle) {
      throw new TypeError('jwtexp: dpop needs WebCrypto (crypto.subtle), which browsers give secure contexts only (https, or http on localhost)');
    }
    this.#dpop = Boolean(dpop);
    this.#dpopKeyName = String(dpopKeyName);
  }

  /** True when the client proves possession of a DPoP key (option dpop). */
  get dpop() {
    return this.#dpop;
  }

  /** token_type of the current session: 'Bearer', or 'DPoP' for tokens bound to this client's key. */
  get tokenType() {
    return this.#tokenType;
  }

  /** The current state: LOGGED_OUT, LOGGED_IN or REFRESHING. */
  get state() {
    return this.#state;
  }

  /** The refresh-token transport, 'cookie' or 'body'. */
  get transport() {
    return this.#transport;
  }

  /**
   * True when the server keeps the access token in an HttpOnly cookie too
   * (its token response said token_transport "cookie"): no token is in this
   * page at all.
   */
  get cookieOnly() {
    return this.#cookieOnly;
  }

  /**
   * When the access token expires, in milliseconds since the epoch on this
   * client's clock (expires_in of the token response added to the time the
   * request was sent), or null without a token.
   */
  get expiresAt() {
    return this.#expiresAt;
  }

  /** Whole seconds left on the access token (rounded up), 0 once expired or without a token. */
  secondsLeft(at = this.#now()) {
    if (this.#expiresAt === null) {
      return 0;
    }
    return Math.max(0, Math.ceil((this.#expiresAt - at) / 1000));
  }

  /**
   * login posts {username, password} as JSON to the login endpoint and keeps the
   * tokens of the answer. It resolves once the state is LOGGED_IN and rejects
   * with an AuthError when the server refuses.
   */
  async login(username, password) {
    const epoch = ++this.#epoch; // a refresh still under way belongs to the old session
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (this.#transport === 'cookie') {
      headers['X-Refresh-Transport'] = 'cookie';
    }
    const sentAt = this.#now();
    let res;
    try {
      if (this.#dpop) {
        // A new session, a new key: one key never links two sessions.
        this.#key = newDPoPKey(this.#dpopKeyName);
        await this.#key;
      }
      res = await this.#tokenRequest(this.#urls.login, {
        method: 'POST',
        headers,
        body: JSON.stringify({ username, password }),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (err) {
      throw new AuthError(`login failed: ${err.message}`, { cause: err });
    }
    if (!res.ok) {
      throw await errorFrom(res, 'login');
    }
    const tokens = await this.#readTokens(res, true);
    if (epoch !== this.#epoch) {
      throw new AuthError('login failed: superseded by another login or logout');
    }
    this.#accept(tokens, sentAt);
    this.#setState(LOGGED_IN, 'login');
  }

  /**
   * restore tries to resume a session after a page load, in cookie mode only:
   * the access token is gone with the old page, but the HttpOnly refresh
   * cookie may still be there. It resolves true when a session was resumed.
   */
  restore() {
    if ((this.#transport !== 'cookie' && !this.#cookieOnly) || this.#state !== LOGGED_OUT) {
      return Promise.resolve(this.#state !== LOGGED_OUT);
    }
    return this.#singleFlight('restore');
  }

  /**
   * refresh gets a new access token with the refresh token. Calls made while a
   * refresh runs share it (single flight). It resolves true on success and
   * never rejects. A 4xx answer ends the session (LOGGED_OUT, reason
   * 'refresh-failed'); a network error or a 5xx keeps the session as it was
   * (reason 'refresh-error'), so a later call can try again.
   */
  refresh() {
    if (this.#inflight) {
      return this.#inflight;
    }
    if (this.#state === LOGGED_OUT) {
      return Promise.resolve(false);
    }
    return this.#singleFlight('refresh');
  }

  /**
   * call works like fetch(input, init) for a protected route of the API origin:
   * it adds the Bearer token and credentials 'same-origin' (unless init says
   * otherwise), and on a 401 refreshes once (shared with every other call that
   * failed meanwhile) and retries once. It resolves with the final Response;
   * a 401 after the retry, or when the refresh failed, is returned, not
   * retried. It rejects on a network error, like fetch, and with a TypeError
   * for a URL of another origin, so that the token never leaves the API origin.
   * A request body must be re-sendable (a string, Blob, FormData,
   * URLSearchParams or ArrayBuffer; not a stream).
   */
  async call(input, init = {}) {
    // A fetch Request defaults to credentials 'same-origin', which is what a
    // protected call wants: say so explicitly for a URL, keep a Request's own.
    const request = input instanceof Request ? new Request(input, init) : new Request(input, { credentials: 'same-origin', ...init });
    if (new URL(request.url).origin !== this.#origin) {
      throw new TypeError(`jwtexp: refusing to send the access token to ${new URL(request.url).origin}`);
    }
    if (this.#inflight) {
      await this.#inflight; // a new token is on its way: do not spend a request on the old one
    }
    const generation = this.#generation;
    const attempts = this.#attempts;
    const token = this.#access;
    const first = await this.#send(request, token);
    if (first.status !== 401 || token === null) {
      return first;
    }
    // The token was refused. One refresh answers for every call sent before it
    // finished: if the token has been replaced since this call sent it, use the
    // new one; if a refresh finished since and did not replace it, report the
    // 401; otherwise refresh, or join the refresh under way.
    let refreshed;
    if (generation !== this.#generation) {
      refreshed = this.#access !== null;
    } else if (attempts !== this.#attempts) {
      refreshed = false;
    } else {
      refreshed = await this.refresh();
    }
    if (!refreshed || this.#access === null) {
      return first;
    }
    first.body?.cancel().catch(() => {});
    // The retry's answer is final: no second refresh, no loop.
    return this.#send(request, this.#access);
  }

  /**
   * stream reads the Server-Sent Events stream at path (GET with the Bearer
   * token, through call: a 401 refreshes once) and calls onEvent(name, data)
   * for each event, data parsed as JSON. The server ends a stream bound to the
   * token with the event "end": {"reason":"token_expired"} refreshes the token
   * (the one shared refresh) and reconnects; {"reason":"token_revoked"} ends
   * the session here too (LOGGED_OUT, reason 'revoked'). A dropped stream
   * reconnects after a second. onState(s) hears 'open', 'reconnecting' and
   * 'closed: <reason>'. It returns a function that stops the stream.
   * fetch, not EventSource: EventSource cannot send an Authorization header.
   */
  stream(path, { onEvent = () => {}, onState = () => {} } = {}) {
    let stopped = false;
    let abort = null;
    const run = async () => {
      while (!stopped && this.#state !== LOGGED_OUT) {
        const generation = this.#generation;
        abort = new AbortController();
        let reason = null;
        try {
          const res = await this.call(path, { headers: { Accept: 'text/event-stream' }, signal: abort.signal, cache: 'no-store' });
          if (res.status === 401) {
            onState('closed: unauthorized');
            return; // call refreshed already: the session is over
          }
          if (res.ok && res.body) {
            onState('open');
            reason = await readEvents(res.body, onEvent);
          }
        } catch {
          // a network error or the abort of stop()
        }
        if (stopped) {
          return;
        }
        if (reason === 'token_revoked') {
          onState(`closed: ${reason}`);
          this.#revoked();
          return;
        }
        onState('reconnecting');
        if (reason === 'token_expired') {
          // Another call may have refreshed already: then just reconnect.
          if (generation === this.#generation && !(await this.refresh())) {
            onState('closed: refresh failed');
            return;
          }
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    run();
    return () => {
      stopped = true;
      abort?.abort();
    };
  }

  /**
   * socket opens a WebSocket to path with the access token as the
   * "jwtexp.bearer" subprotocol (a browser cannot set Authorization on a
   * WebSocket; the token stays out of the URL) and calls onMessage(message)
   * for each JSON message. Whenever the token is refreshed, the open socket
   * is handed the new one ({"type":"reauth"}), so it outlives the old token.
   * Close code 4001 (token expired) refreshes and reconnects; 4003 (token
   * revoked) ends the session here too (LOGGED_OUT, reason 'revoked'); any
   * other end reconnects after a second. onState(s) hears 'open',
   * 'reconnecting' and 'closed: <code> <reason>'. It returns a function that
   * closes the socket. A cookie-only session opens it with the cookie alone; a
   * session with DPoP-bound tokens cannot open it (a handshake carries no
   * proof) and hears 'closed: not available with DPoP-bound tokens'.
   */
  socket(path, { onMessage = () => {}, onState = () => {} } = {}) {
    const url = new URL(path, this.#origin);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let stopped = false;
    let ws = null;
    const reauth = (ev) => {
      if (ev.detail.state === LOGGED_IN && ws?.readyState === WebSocket.OPEN && typeof this.#access === 'string') {
        ws.send(JSON.stringify({ type: 'reauth', access_token: this.#access }));
      }
    };
    this.addEventListener('statechange', reauth);
    const connect = () => {
      if (stopped || this.#access === null) {
        return;
      }
      if (this.#tokenType === 'DPoP' && typeof this.#access === 'string') {
        // A WebSocket handshake cannot carry a DPoP proof, and a bound token without one is refused.
        onState('closed: not available with DPoP-bound tokens');
        return;
      }
      const generation = this.#generation;
      // A cookie-only session has no token to offer: the browser sends the cookie.
      const socket = this.#access === COOKIE ? new WebSocket(url) : new WebSocket(url, ['jwtexp.bearer', this.#access]);
      ws = socket;
      socket.onopen = () => onState('open');
      socket.onmessage = (ev) => {
        try {
          onMessage(JSON.parse(ev.data));
        } catch {
          // not JSON: not ours
        }
      };
      socket.onclose = async (ev) => {
        if (stopped || ws !== socket) {
          return;
        }
        if (ev.code === 4003) {
          onState(`closed: ${ev.code} ${ev.reason}`);
          this.#revoked();
          return;
        }
        onState('reconnecting');
        if (ev.code === 4001 && generation === this.#generation && !(await this.refresh())) {
          onState('closed: refresh failed');
          return;
        }
        setTimeout(connect, ev.code === 4001 ? 0 : 1000);
      };
    };
    connect();
    return () => {
      stopped = true;
      this.removeEventListener('statechange', reauth);
      ws?.close(1000);
    };
  }

  // #revoked ends the session after the server said a connection's token was revoked.
  #revoked() {
    if (this.#state === LOGGED_OUT) {
      return;
    }
    this.#epoch++; // discard any refresh under way
    this.#clear();
    this.#setState(LOGGED_OUT, 'revoked');
  }

  /**
   * logout posts to the logout endpoint with the Bearer token (and, in body
   * mode, the refresh token as JSON), then forgets both, whatever the answer.
   * It resolves true when the server confirmed (2xx) and never rejects; the
   * state is LOGGED_OUT when it resolves.
   */
  async logout() {
    const epoch = ++this.#epoch; // discard any refresh under way
    const headers = { Accept: 'application/json' };
    if (typeof this.#access === 'string') {
      headers.Authorization = `${this.#tokenType} ${this.#access}`;
    }
    let body;
    if (this.#refresh !== null) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify({ refresh_token: this.#refresh });
    }
    let ok = false;
    try {
      const token = typeof this.#access === 'string' && this.#tokenType === 'DPoP' ? this.#access : null;
      const proof = await this.#proof('POST', this.#urls.logout, token);
      if (proof !== null) {
        headers.DPoP = proof;
      }
      const res = await this.#fetch(this.#urls.logout, {
        method: 'POST',
        headers,
        body,
        credentials: 'same-origin',
        cache: 'no-store',
      });
      this.#sawNonce(res);
      ok = res.ok;
    } catch {
      ok = false;
    }
    if (epoch === this.#epoch) {
      this.#clear();
      this.#setState(LOGGED_OUT, 'logout');
    }
    if (this.#dpop && epoch === this.#epoch) {
      // The session is over: its key has nothing left to prove (unless a login
      // began meanwhile, with a key of its own).
      this.#key = null;
      await deleteDPoPKey(this.#dpopKeyName).catch(() => {});
    }
    return ok;
  }

  // #send sends one attempt of a call with the given token: Bearer, or DPoP with a
  // fresh proof. A 401 asking for a DPoP nonce is sent once more with the new nonce.
  async #send(request, token) {
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(request.headers);
      const dpop = typeof token === 'string' && this.#tokenType === 'DPoP';
      if (typeof token === 'string') {
        headers.set('Authorization', `${dpop ? 'DPoP' : 'Bearer'} ${token}`);
      }
      const used = this.#nonce; // the nonce this attempt's proof carries
      if (dpop) {
        const proof = await this.#proof(request.method, request.url, token, used);
        if (proof !== null) {
          headers.set('DPoP', proof);
        }
      }
      const res = await this.#fetch(new Request(request.clone(), { headers }));
      // Another call in flight may have seen the new nonce first: compare with the nonce sent.
      const fresh = this.#sawNonce(res) ?? used;
      if (attempt > 0 || !dpop || fresh === used || res.status !== 401 || !/error="use_dpop_nonce"/.test(res.headers.get('WWW-Authenticate') ?? '')) {
        return res;
      }
      res.body?.cancel().catch(() => {});
    }
  }

  // #tokenRequest posts to the login or refresh endpoint with a DPoP proof (when
  // the client has a key), retrying once when the server asks for a nonce
  // (400 use_dpop_nonce, RFC 9449 §8).
  async #tokenRequest(url, init) {
    for (let attempt = 0; ; attempt++) {
      const used = this.#nonce;
      const proof = await this.#proof(init.method, url, null, used);
      const headers = { ...init.headers };
      if (proof !== null) {
        headers.DPoP = proof;
      }
      const res = await this.#fetch(url, { ...init, headers });
      const fresh = this.#sawNonce(res) ?? used;
      if (attempt > 0 || proof === null || fresh === used || res.status !== 400) {
        return res;
      }
      let code = '';
      try {
        code = (await res.clone().json())?.error ?? '';
      } catch {
        // not JSON: not a nonce request
      }
      if (code !== 'use_dpop_nonce') {
        return res;
      }
    }
  }

  // #sawNonce remembers the DPoP-Nonce of an answer, and returns it (null without one).
  #sawNonce(res) {
    const nonce = res.headers.get('DPoP-Nonce');
    if (nonce) {
      this.#nonce = nonce;
    }
    return nonce || null;
  }

  // #proof signs a DPoP proof for method and url (and the access token, for a
  // resource request) with the server's nonce, or returns null without DPoP or
  // without a key.
  async #proof(method, url, accessToken, nonce = this.#nonce) {
    if (!this.#dpop) {
      return null;
    }
    this.#key ??= loadDPoPKey(this.#dpopKeyName);
    const key = await this.#key.catch(() => null);
    if (!key) {
      return null;
    }
    return signProof(key, {
      htm: method,
      htu: url,
      iat: Math.floor(this.#now() / 1000),
      nonce,
      accessToken,
    });
  }

  // #singleFlight starts the one shared refresh, or returns the one under way.
  #singleFlight(reason) {
    if (!this.#inflight) {
      this.#inflight = this.#doRefresh(reason).finally(() => {
        this.#attempts++;
        this.#inflight = null;
      });
    }
    return this.#inflight;
  }

  async #doRefresh(reason) {
    const epoch = this.#epoch;
    const previous = this.#state;
    let init;
    if (this.#transport === 'cookie' || this.#cookieOnly) {
      // No body: the browser sends the HttpOnly cookie, scoped to the refresh path.
      init = {
        method: 'POST',
        headers: { Accept: 'application/json', 'X-Refresh-Transport': 'cookie' },
        credentials: 'same-origin',
        cache: 'no-store',
      };
    } else {
      if (this.#refresh === null) {
        return false;
      }
      // No credentials: in body mode a stale cookie must not travel as a second credential.
      init = {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ refresh_token: this.#refresh }),
        credentials: 'omit',
        cache: 'no-store',
      };
    }
    // The same key until the refresh gets an answer: a retry after a 503 or a dropped connection
    // is then the same request to the server, which answers with the session's current token
    // instead of taking the old one for a stolen, replayed token.
    if (this.#retryKey === null) {
      this.#retryKey = newRetryKey();
    }
    init.headers['Idempotency-Key'] = `"${this.#retryKey}"`;
    this.#setState(REFRESHING, reason);
    const sentAt = this.#now();
    let tokens;
    try {
      const res = await this.#tokenRequest(this.#urls.refresh, init);
      if (epoch !== this.#epoch) {
        return this.#access !== null; // logged out, or logged in anew, meanwhile
      }
      if (!res.ok) {
        const err = await errorFrom(res, 'refresh');
        if (epoch !== this.#epoch) {
          return this.#access !== null;
        }
        if (res.status >= 500) {
          this.#setState(previous, 'refresh-error', err); // the server is unwell, the session may be fine
        } else {
          this.#retryKey = null;
          this.#clear(); // refused: the session is over
          this.#setState(LOGGED_OUT, reason === 'restore' ? 'restore-failed' : 'refresh-failed', err);
        }
        return false;
      }
      tokens = await this.#readTokens(res, false);
    } catch (err) {
      // A network error, or an answer that is not a token response.
      if (epoch === this.#epoch) {
        const error = err instanceof AuthError ? err : new AuthError(`refresh failed: ${err.message}`, { cause: err });
        this.#setState(previous, 'refresh-error', error);
      }
      return false;
    }
    if (epoch !== this.#epoch) {
      return this.#access !== null;
    }
    this.#retryKey = null;
    this.#accept(tokens, sentAt);
    this.#setState(LOGGED_IN, reason);
    return true;
  }

  // #readTokens reads and checks an RFC 6749 §5.1 token response.
  async #readTokens(res, isLogin) {
    let body;
    try {
      body = await res.json();
    } catch (err) {
      throw new AuthError('token response is not JSON', { status: res.status, cause: err });
    }
    if (body && body.token_transport === 'cookie' && body.access_token === undefined && body.refresh_token === undefined) {
      // A cookie-only server: the tokens are in HttpOnly cookies.
      if (body.token_type !== undefined && String(body.token_type).toLowerCase() !== 'bearer') {
        throw new AuthError(`token response has token_type ${body.token_type}, want Bearer`, { status: res.status });
      }
      return {
        access: COOKIE,
        refresh: null,
        cookieOnly: true,
        tokenType: 'Bearer',
        expiresIn: typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : null,
      };
    }
    if (!body || typeof body.access_token !== 'string' || body.access_token === '') {
      throw new AuthError('token response has no access_token', { status: res.status });
    }
    const tokenType = body.token_type === undefined ? 'bearer' : String(body.token_type).toLowerCase();
    if (tokenType !== 'bearer' && !(tokenType === 'dpop' && this.#dpop)) {
      throw new AuthError(`token response has token_type ${body.token_type}, want ${this.#dpop ? 'DPoP or ' : ''}Bearer`, { status: res.status });
    }
    const hasRefresh = typeof body.refresh_token === 'string' && body.refresh_token !== '';
    if (this.#transport === 'body' && isLogin && !hasRefresh) {
      throw new AuthError('token response has no refresh_token (body transport)', { status: res.status });
    }
    if (this.#transport === 'cookie' && hasRefresh && !this.#warned) {
      this.#warned = true;
      console.warn('jwtexp: the server sent refresh_token in the body in cookie mode; the client ignores it');
    }
    return {
      access: body.access_token,
      refresh: this.#transport === 'body' && hasRefresh ? body.refresh_token : null,
      cookieOnly: false,
      tokenType: tokenType === 'dpop' ? 'DPoP' : 'Bearer',
      expiresIn: typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : null,
    };
  }

  #accept(tokens, sentAt) {
    this.#access = tokens.access;
    this.#cookieOnly = tokens.cookieOnly;
    this.#tokenType = tokens.tokenType;
    this.#generation++;
    if (tokens.refresh !== null) {
      this.#refresh = tokens.refresh;
    }
    // Counted from when the request left, so the estimate errs on the early side.
    this.#expiresAt = tokens.expiresIn === null ? null : sentAt + tokens.expiresIn * 1000;
  }

  #clear() {
    this.#access = null;
    this.#refresh = null;
    this.#retryKey = null;
    this.#expiresAt = null;
    this.#generation++;
  }

  #setState(state, reason, error) {
    const previous = this.#state;
    if (state === previous) {
      return;
    }
    this.#state = state;
    const detail = { state, previous, reason, error };
    this.dispatchEvent(new CustomEvent('statechange', { detail }));
    this.dispatchEvent(new CustomEvent(state, { detail }));
  }
}

// readEvents reads a text/event-stream body, calling onEvent(name, data) for each
// event but "end", and resolves with the reason of "end" ({"reason": ...}), or
// null when the stream ended without one.
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let name = '';
  let data = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return null;
    }
    buf += value;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      if (line === '') {
        if (name !== '' || data !== '') {
          let parsed = null;
          try {
            parsed = JSON.parse(data);
          } catch {
            // not JSON: passed on as null
          }
          if (name === 'end') {
            reader.cancel().catch(() => {});
            return parsed?.reason ?? 'closed';
          }
          onEvent(name || 'message', parsed);
        }
        name = '';
        data = '';
      } else if (line.startsWith('event:')) {
        name = line.slice(6).trim();
      } else if (line.startsWith('data:')) {
        data += line.slice(5).trimStart();
      }
    }
  }
}

// newRetryKey returns a random Idempotency-Key for one refresh attempt.
function newRetryKey() {
  if (typeof crypto.randomUUID === 'function') {
    return crypto.randomUUID();
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// --- DPoP (RFC 9449) ---

const encoder = new TextEncoder();

function base64url(bytes) {
  let bin = '';
  for (const b of new Uint8Array(bytes)) {
    bin += String.fromCharCode(b);
  }
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomID() {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

// withKeyStore runs fn(store) in a transaction of the DPoP key database and
// resolves with the result of the request fn returns, once the transaction commits.
function withKeyStore(mode, fn) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DPOP_DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(DPOP_STORE);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      let request;
      try {
        const tx = db.transaction(DPOP_STORE, mode);
        request = fn(tx.objectStore(DPOP_STORE));
        tx.oncomplete = () => {
          db.close();
          resolve(request?.result);
        };
        tx.onerror = tx.onabort = () => {
          db.close();
          reject(tx.error);
        };
      } catch (err) {
        db.close();
        reject(err);
      }
    };
  });
}

// newDPoPKey makes an ECDSA P-256 key pair whose private key cannot be exported
// and stores it under name (IndexedDB keeps a CryptoKey as it is, non-extractable).
async function newDPoPKey(name) {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const key = { privateKey: pair.privateKey, jwk: { crv, kty, x, y } };
  await withKeyStore('readwrite', (store) => store.put(key, name));
  return key;
}

// loadDPoPKey returns the key stored under name, or null.
async function loadDPoPKey(name) {
  const key = await withKeyStore('readonly', (store) => store.get(name));
  return key?.privateKey && key?.jwk ? key : null;
}

function deleteDPoPKey(name) {
  return withKeyStore('readwrite', (store) => store.delete(name));
}

// signProof returns a DPoP proof JWT (RFC 9449 §4.2): header typ dpop+jwt, alg
// ES256 and the public jwk; claims jti, htm, htu (the URL without query and
// fragment), iat, nonce when the server gave one, and ath, base64url(SHA-256)
// of the access token, when one is presented.
async function signProof(key, { htm, htu, iat, nonce, accessToken }) {
  const target = new URL(htu);
  target.search = '';
  target.hash = '';
  const claims = { jti: randomID(), htm: htm.toUpperCase(), htu: target.href, iat };
  if (nonce) {
    claims.nonce = nonce;
  }
  if (typeof accessToken === 'string') {
    claims.ath = base64url(await crypto.subtle.digest('SHA-256', encoder.encode(accessToken)));
  }
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk };
  const input = `${base64url(encoder.encode(JSON.stringify(header)))}.${base64url(encoder.encode(JSON.stringify(claims)))}`;
  // WebCrypto's ECDSA signature is r || s, 32 bytes each: the JWS ES256 form (RFC 7518 §3.4).
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, encoder.encode(input));
  return `${input}.${base64url(sig)}`;
}
