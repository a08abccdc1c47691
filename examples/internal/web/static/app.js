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
//   body[data-ready="true"]      set once the page has started (and tried to resume a session)
//   ?transport=body              use the JSON body transport instead of the cookie

import { AuthClient, LOGGED_OUT, REFRESHING } from './client.js';

const PARALLEL_CALLS = 5;
const API_PATH = '/api/me';

const $ = (id) => document.getElementById(id);
const transport = new URLSearchParams(location.search).get('transport') === 'body' ? 'body' : 'cookie';
const client = new AuthClient({ transport });

const notices = {
  'refresh-failed': 'Your session has ended: the server refused to refresh it. Please log in again.',
  logout: 'You are logged out.',
};

function render({ state, previous, reason, error }) {
  $('state').textContent = state;
  document.body.dataset.state = state;
  // A session being resumed after a page load is not a logged-in view yet.
  const loggedOut = state === LOGGED_OUT || (state === REFRESHING && previous === LOGGED_OUT);
  $('login-view').hidden = !loggedOut;
  $('app-view').hidden = loggedOut;
  if (state === LOGGED_OUT) {
    const text = notices[reason];
    const detail = error?.description ? ` (${error.description})` : '';
    $('notice').textContent = text ? text + (reason === 'refresh-failed' ? detail : '') : '';
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
  } catch (err) {
    $('login-error').textContent = err.message;
  } finally {
    button.disabled = false;
  }
});

function clearResults() {
  $('results').replaceChildren();
}

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
await client.restore();
document.body.dataset.ready = 'true';
