// The refresh interceptor most tutorials teach, copied as people write it, run against jwtexp
// example servers (see ../../naive.go). Reads {"targets":[{"name","url"}],"calls","expiries"} on
// stdin, writes one result per target as JSON on stdout.
//
// naive: every call that gets a 401 refreshes on its own with the refresh token the store holds
// (a plain object standing in for localStorage), stores the answer when it arrives and retries
// once; a failed refresh "redirects to /login". sameInstance: the refresh goes through the same
// axios instance (so a refused refresh meets the interceptor too), run after a logout.
import axios from 'axios';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function expOf(token) {
  const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(Buffer.from(payload, 'base64').toString('utf8')).exp;
}

async function login(base, storage) {
  const res = await axios.post(`${base}/login`, { username: 'alice', password: 'wonderland' });
  storage.access = res.data.access_token;
  storage.refresh = res.data.refresh_token;
}

async function naive(base, calls, expiries) {
  const storage = {};
  // redirects: refresh failures, by status (4xx: the server ended the session; 5xx: a
  // transient failure the naive client treats the same way); failed: calls refused, by status.
  const out = { redirects: {}, failed: {}, succeeded: 0, refreshCalls: 0, finalStatus: 0 };
  const count = (m, err) => { const k = String(err.response?.status ?? 0); m[k] = (m[k] ?? 0) + 1; };
  const api = axios.create({ baseURL: base });
  api.interceptors.request.use((config) => {
    config.headers.Authorization = `Bearer ${storage.access}`;
    return config;
  });
  async function refreshAccessToken() {
    out.refreshCalls++;
    const res = await axios.post(`${base}/refresh`, { refresh_token: storage.refresh });
    storage.access = res.data.access_token;
    storage.refresh = res.data.refresh_token;
    return res.data.access_token;
  }
  api.interceptors.response.use((res) => res, async (error) => {
    const original = error.config;
    if (error.response?.status === 401 && !original._retry) {
      original._retry = true;
      try {
        const token = await refreshAccessToken();
        original.headers.Authorization = `Bearer ${token}`;
        return api(original);
      } catch (err) {
        count(out.redirects, err); // window.location = '/login'
        return Promise.reject(err);
      }
    }
    return Promise.reject(error);
  });

  await login(base, storage);
  for (let i = 0; i < expiries; i++) {
    // Wait until the stored access token has expired (leeway 0), then fire the burst.
    await sleep(Math.max(0, expOf(storage.access) * 1000 - Date.now()) + 50);
    const results = await Promise.allSettled(Array.from({ length: calls }, () => api.get('/api/me')));
    for (const r of results) {
      if (r.status === 'fulfilled') out.succeeded++;
      else count(out.failed, r.reason);
    }
  }
  // The session is still alive: the stored refresh token still refreshes.
  const last = await axios.post(`${base}/refresh`, { refresh_token: storage.refresh }, { validateStatus: () => true });
  out.finalStatus = last.status;
  return out;
}

async function sameInstance(base) {
  const storage = {};
  const out = { redirects: 0, refreshCalls: 0, looped: false };
  const api = axios.create({ baseURL: base });
  api.interceptors.request.use((config) => {
    if (config.url === '/refresh') {
      out.refreshCalls++;
      if (out.refreshCalls > 100) throw new Error('refresh loop'); // what the report saw: forever
    }
    config.headers.Authorization = `Bearer ${storage.access}`;
    return config;
  });
  async function refreshAccessToken() {
    const res = await api.post('/refresh', { refresh_token: storage.refresh });
    storage.access = res.data.access_token;
    storage.refresh = res.data.refresh_token;
    return res.data.access_token;
  }
  api.interceptors.response.use((res) => res, async (error) => {
    const original = error.config;
    if (error.response?.status === 401 && !original._retry) {
      original._retry = true;
      try {
        const token = await refreshAccessToken();
        original.headers.Authorization = `Bearer ${token}`;
        return api(original);
      } catch (err) {
        out.redirects++;
        return Promise.reject(err);
      }
    }
    return Promise.reject(error);
  });
  await login(base, storage);
  const lo = await api.post('/logout', { refresh_token: storage.refresh }, { validateStatus: () => true });
  out.logoutStatus = lo.status;
  try {
    await api.get('/api/me');
  } catch (err) {
    out.finalStatus = err.response?.status ?? 0;
    out.looped = out.refreshCalls > 100;
  }
  return out;
}

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));
const results = await Promise.all(input.targets.map(async (t) => ({
  name: t.name,
  naive: await naive(t.url, input.calls, input.expiries),
  sameInstance: await sameInstance(t.url),
})));
process.stdout.write(JSON.stringify(results));
