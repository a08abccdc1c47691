// Page logic of the jwtexp demo: wires the form and buttons of index.html to
// the AuthClient of client.js. No inline script, so the page runs under the
// Content-Security-Policy "default-src 'self'".
//
// Stable hooks for browser automation:
//   #username #password #login   the login form
//   #call-api                    fires PARALLEL_CALLS parallel GET /api/me
//   #logout                      logs out
//   #state                       'logged-out' | 'logged-in' | 'refreshing'
//   #expires-in                  whole seconds left on the access token, 0 when expired
//   #results                     one <li> per call, text "GET /api/me <status>", data-status="<status>";
//                                data-batch counts the clicks, aria-busy="true" while calls run
//   #refresh-count               successful refreshes since the page loaded
//   #last-response               method, path, status and body of the page's last API answer
//   #sessions                    one <li data-id data-current="true|false"> per session of the user,
//                                each other session with a button.end-session; data-loads counts the
//                                finished loads, aria-busy="true" while one runs
//   #refresh-sessions #end-others reload the list; "sign out other devices"
//   #live-toggle                 opens (and closes) the two live connections below
//   #stream-state #socket-state  'closed' | 'open' | 'reconnecting' | 'closed: <why>' of /api/events and /api/ws
//   #stream-ticks #socket-ticks  ticks received since the page loaded (data-count the same number)
//   #stream-exp #socket-exp      the exp of the last tick: the token the connection is bound to
//   body[data-ready="true"]      set once the page has started (and tried to resume a session)
//   #token-type                  'Bearer', 'DPoP' (tokens bound to this page's key) or 'cookie' (cookie-only server)
//   ?transport=body              use the JSON body transport instead of the cookie
//   ?dpop=1                      prove possession of a WebCrypto key (DPoP, RFC 9449)

import { AuthClient, LOGGED_IN, LOGGED_OUT, REFRESHING } from './client.js';

const PARALLEL_CALLS = 5;
const API_PATH = '/api/me';
const SESSIONS_PATH = '/api/sessions';
let refreshes = 0;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const transport = params.get('transport') === 'body' ? 'body' : 'cookie';
const client = new AuthClient({ transport, dpop: params.get('dpop') === '1' });

const notices = {
  'refresh-failed': 'Your session has ended: the server refused to refresh it. Please log in again.',
  logout: 'You are logged out.',
  revoked: 'Your session was ended (logged out elsewhere, or signed out from another device). Please log in again.',
};

// The live connections: opened by #live-toggle while logged in, closed on logout.
let liveWanted = false;
let stopLive = null;
function live(on) {
  if (!on || !liveWanted) {
    stopLive?.();
    stopLive = null;
    return;
  }
  if (stopLive) {
    return;
  }
  const counter = (prefix) => {
    $(`${prefix}-state`).textContent = 'connecting';
    return {
      onState: (state) => {
        $(`${prefix}-state`).textContent = state;
      },
      tick: (data) => {
        const n = Number($(`${prefix}-ticks`).dataset.count || '0') + 1;
        $(`${prefix}-ticks`).dataset.count = String(n);
        $(`${prefix}-ticks`).textContent = String(n);
        $(`${prefix}-exp`).textContent = String(data?.exp ?? '-');
      },
    };
  };
  const s = counter('stream');
  const w = counter('socket');
  const stopStream = client.stream('/api/events', { onState: s.onState, onEvent: (name, data) => name === 'tick' && s.tick(data) });
  const stopSocket = client.socket('/api/ws', { onState: w.onState, onMessage: (m) => m?.type === 'tick' && w.tick(m) });
  stopLive = () => {
    stopStream();
    stopSocket();
  };
}

function render({ state, previous, reason, error }) {
  if (state === LOGGED_IN && previous === REFRESHING && reason === 'refresh') {
    refreshes++;
    $('refresh-count').textContent = String(refreshes);
  }
  $('state').textContent = state;
  $('token-type').textContent = client.cookieOnly ? 'cookie' : client.tokenType;
  document.body.dataset.state = state;
  live(state !== LOGGED_OUT && !(state === REFRESHING && previous === LOGGED_OUT));
  // A session being resumed after a page load is not a logged-in view yet.
  const loggedOut = state === LOGGED_OUT || (state === REFRESHING && previous === LOGGED_OUT);
  $('login-view').hidden = !loggedOut;
  $('app-view').hidden = loggedOut;
  if (state === LOGGED_OUT) {
    $('sessions').replaceChildren();
    const text = notices[reason];
    const detail = error?.description ? ` (${error.description})` : '';
    $('notice').textContent = text ? text + (reason === 'refresh-failed' ? detail : '') : '';
    for (const prefix of ['stream', 'socket']) {
      if (!$(`${prefix}-state`).textContent.startsWith('closed')) {
        $(`${prefix}-state`).textContent = 'closed';
      }
    }
    $('notice').hidden = !text;
  }
  tick();
}

function tick() {
  $('expires-in').textContent = String(client.secondsLeft());
}

client.addEventListener('statechange', (ev) => render(ev.detail));

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const button = $('login');
  button.disabled = true;
  $('login-error').textContent = '';
  try {
    await client.login($('username').value, $('password').value);
    $('password').value = '';
    $('notice').hidden = true;
    clearResults();
    await loadSessions();
  } catch (err) {
    $('login-error').textContent = err.message;
  } finally {
    button.disabled = false;
  }
});

function clearResults() {
  $('results').replaceChildren();
  $('last-response').textContent = '(none yet)';
}

// show puts an answer of the API, body included, into #last-response. It reads a clone, so the
// caller can still read the response.
async function show(method, path, res) {
  let body = '';
  try {
    body = await res.clone().text();
  } catch {
    body = '(unreadable body)';
  }
  if (body) {
    try {
      body = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // not JSON: show it as it is
    }
  }
  $('last-response').textContent = `${method} ${path} → ${res.status} ${res.statusText}\n${body || '(no body)'}`;
}

// api makes one protected call through the client and shows its answer.
async function api(method, path) {
  const res = await client.call(path, { method });
  await show(method, path, res);
  return res;
}

const when = (seconds) => new Date(seconds * 1000).toLocaleString();

// loadSessions fills #sessions from GET /api/sessions.
async function loadSessions() {
  const list = $('sessions');
  list.setAttribute('aria-busy', 'true');
  try {
    const res = await api('GET', SESSIONS_PATH);
    if (!res.ok) {
      list.replaceChildren();
      return;
    }
    const { sessions = [] } = await res.json();
    list.replaceChildren(
      ...sessions.map((s) => {
        const li = document.createElement('li');
        li.dataset.id = s.id;
        li.dataset.current = String(s.current === true);
        const name = document.createElement('strong');
        name.textContent = s.client || 'unknown device';
        const meta = document.createElement('span');
        meta.className = 'meta';
        meta.textContent = ` signed in ${when(s.created_at)}, last refreshed ${when(s.last_used_at)}, ends by ${when(s.expires_at)}`;
        li.append(name, meta);
        if (s.current) {
          const badge = document.createElement('span');
          badge.className = 'pill';
          badge.textContent = 'this device';
          li.append(' ', badge);
        } else {
          const end = document.createElement('button');
          end.type = 'button';
          end.className = 'end-session secondary';
          end.textContent = 'End';
          end.addEventListener('click', async () => {
            end.disabled = true;
            await api('DELETE', `${SESSIONS_PATH}/${encodeURIComponent(s.id)}`);
            await loadSessions();
          });
          li.append(' ', end);
        }
        return li;
      }),
    );
  } catch (err) {
    $('last-response').textContent = `GET ${SESSIONS_PATH} failed: ${err.message}`;
  } finally {
    list.dataset.loads = String(Number(list.dataset.loads || '0') + 1);
    list.setAttribute('aria-busy', 'false');
  }
}

$('refresh-sessions').addEventListener('click', () => loadSessions());
$('end-others').addEventListener('click', async () => {
  $('end-others').disabled = true;
  try {
    await api('DELETE', SESSIONS_PATH);
    await loadSessions();
  } finally {
    $('end-others').disabled = false;
  }
});

$('call-api').addEventListener('click', async () => {
  const results = $('results');
  const button = $('call-api');
  button.disabled = true;
  results.dataset.batch = String(Number(results.dataset.batch || '0') + 1);
  results.setAttribute('aria-busy', 'true');
  const lines = [];
  for (let i = 0; i < PARALLEL_CALLS; i++) {
    const li = document.createElement('li');
    li.textContent = `GET ${API_PATH} …`;
    li.dataset.status = 'pending';
    li.className = 'pending';
    lines.push(li);
  }
  results.replaceChildren(...lines);
  // All calls start before any of them finishes: with an expired token they
  // all get a 401 and share one refresh.
  await Promise.all(
    lines.map(async (li) => {
      let status;
      try {
        const res = await client.call(API_PATH);
        status = String(res.status);
        li.className = res.ok ? 'ok' : 'fail';
        await show('GET', API_PATH, res);
      } catch (err) {
        status = 'error';
        li.className = 'fail';
        li.title = err.message;
      }
      li.textContent = `GET ${API_PATH} ${status}`;
      li.dataset.status = status;
    }),
  );
  results.setAttribute('aria-busy', 'false');
  button.disabled = false;
});

$('live-toggle').addEventListener('click', () => {
  liveWanted = !liveWanted;
  $('live-toggle').textContent = liveWanted ? 'Close live connections' : 'Open live connections';
  live(false);
  if (liveWanted) {
    live(client.state !== LOGGED_OUT);
  } else {
    $('stream-state').textContent = 'closed';
    $('socket-state').textContent = 'closed';
  }
});

$('logout').addEventListener('click', async () => {
  $('logout').disabled = true;
  try {
    await client.logout();
  } finally {
    $('logout').disabled = false;
  }
});

$('transport').textContent = transport;
$('switch-transport').href = transport === 'body' ? '?' : '?transport=body';
$('switch-transport').textContent = transport === 'body' ? 'use the cookie transport' : 'use the body transport';
render({ state: client.state, previous: client.state, reason: 'init' });
setInterval(tick, 250);

// In cookie mode an HttpOnly refresh cookie may have survived a page reload.
if (await client.restore()) {
  await loadSessions();
}
document.body.dataset.ready = 'true';
