// Evercast operator console. Plain browser JavaScript, no build step.
//
// The token is asked for once and kept in localStorage; every API call sends
// it as "Authorization: Bearer <token>", and hls.js sends it too (xhrSetup).
// The session grid polls GET /v1/sessions and each session's /status every
// two seconds; a websocket feed will replace the polling.
'use strict';

(() => {
  const TOKEN_KEY = 'evercast.token';
  const POLL_MS = 2000;
  const ON_AIR = new Set(['warming', 'live', 'paused']);
  const STATE_ORDER = { live: 0, warming: 1, paused: 2, scheduled: 3, ended: 4 };

  const $ = (id) => document.getElementById(id);
  const el = {
    who: $('who'), whoName: $('who-name'), updated: $('updated'), signOut: $('sign-out'),
    signIn: $('sign-in'), signInForm: $('sign-in-form'), token: $('token'), signInError: $('sign-in-error'),
    board: $('board'), banner: $('banner'), summary: $('summary'), empty: $('empty'), grid: $('grid'),
    player: $('player'), playerTitle: $('player-title'), playerClose: $('player-close'),
    video: $('video'), playerNote: $('player-note'), template: $('card-template'),
  };

  let token = localStorage.getItem(TOKEN_KEY) || '';
  let timer = null;
  let generation = 0; // bumps on sign-out so that late answers are dropped
  let merchants = new Map(); // id -> name, operator only
  const cards = new Map(); // session id -> card element
  let hls = null;
  let previewing = null; // session id

  class AuthError extends Error {}

  async function api(method, path) {
    const gen = generation;
    const res = await fetch(path, {
      method,
      headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' },
      cache: 'no-store',
    });
    if (gen !== generation) throw new AuthError('signed out');
    if (res.status === 401) {
      signOut('The token was refused. Sign in again.');
      throw new AuthError('unauthorized');
    }
    let body = null;
    if (res.status !== 204) body = await res.json().catch(() => null);
    if (!res.ok) {
      const e = body && body.error;
      const err = new Error(e ? (e.field ? e.field + ': ' : '') + e.message : res.status + ' ' + res.statusText);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  // Sign-in and sign-out.

  el.signInForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = el.token.value.trim();
    if (!t) return;
    token = t;
    el.signInError.hidden = true;
    try {
      await api('GET', '/v1/sessions');
    } catch (e) {
      token = '';
      el.signInError.textContent = e instanceof AuthError ? 'That token was refused.' : 'Cannot reach the API: ' + e.message;
      el.signInError.hidden = false;
      el.signIn.hidden = false;
      el.board.hidden = true;
      return;
    }
    localStorage.setItem(TOKEN_KEY, token);
    el.token.value = '';
    start();
  });

  el.signOut.addEventListener('click', (ev) => {
    ev.preventDefault();
    signOut('');
  });

  function signOut(message) {
    generation++;
    token = '';
    localStorage.removeItem(TOKEN_KEY);
    clearTimeout(timer);
    timer = null;
    closePreview();
    cards.clear();
    el.grid.replaceChildren();
    el.who.hidden = true;
    el.board.hidden = true;
    el.signIn.hidden = false;
    el.signInError.textContent = message;
    el.signInError.hidden = !message;
    el.token.focus();
  }

  async function start() {
    el.signIn.hidden = true;
    el.board.hidden = false;
    el.who.hidden = false;
    el.whoName.textContent = 'Signed in';
    merchants = new Map();
    try {
      const list = await api('GET', '/v1/merchants');
      el.whoName.textContent = 'Operator';
      for (const m of list.items) merchants.set(m.id, m.name);
    } catch (e) {
      if (e instanceof AuthError) return;
      if (e.status === 403) el.whoName.textContent = 'Merchant key';
    }
    poll();
  }

  // Polling.

  async function poll() {
    clearTimeout(timer);
    const gen = generation;
    if (!document.hidden) {
      try {
        const list = await api('GET', '/v1/sessions');
        const statuses = await Promise.all(list.items.map((s) =>
          api('GET', '/v1/sessions/' + encodeURIComponent(s.id) + '/status').catch((e) => {
            if (e instanceof AuthError) throw e;
            return { error: e.message };
          })));
        render(list.items, statuses);
        el.banner.hidden = true;
        el.updated.textContent = 'updated ' + new Date().toLocaleTimeString();
      } catch (e) {
        if (e instanceof AuthError) return;
        el.banner.textContent = 'Cannot reach the API: ' + e.message + ' (retrying)';
        el.banner.hidden = false;
      }
    }
    if (gen === generation) timer = setTimeout(poll, POLL_MS);
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && token) poll();
  });

  // Rendering. Everything shown is set with textContent: clip text comes
  // from scripts and viewer comments and is never parsed as HTML.

  function render(sessions, statuses) {
    const rows = sessions.map((s, i) => ({ s, st: statuses[i] || {} }));
    rows.sort((a, b) => rank(a) - rank(b));
    const seen = new Set();
    let onAir = 0;
    let dry = 0;
    for (const { s, st } of rows) {
      seen.add(s.id);
      let card = cards.get(s.id);
      if (!card) {
        card = newCard(s.id);
        cards.set(s.id, card);
      }
      el.grid.appendChild(card); // keeps the sorted order
      fillCard(card, s, st);
      const state = st.state || s.state;
      if (ON_AIR.has(state)) {
        onAir++;
        if ((st.buffer_ahead_seconds || 0) < 5) dry++;
      }
    }
    for (const [id, card] of cards) {
      if (!seen.has(id)) {
        card.remove();
        cards.delete(id);
      }
    }
    el.empty.hidden = sessions.length > 0;
    el.summary.replaceChildren(
      stat(sessions.length, 'sessions'), stat(onAir, 'on air'), stat(dry, 'buffer under 5 s'));
  }

  function rank({ s, st }) {
    const r = STATE_ORDER[st.state || s.state];
    return r === undefined ? 9 : r;
  }

  function stat(n, label) {
    const span = document.createElement('span');
    const b = document.createElement('b');
    b.textContent = String(n);
    span.append(b, label);
    return span;
  }

  function newCard(id) {
    const card = el.template.content.firstElementChild.cloneNode(true);
    card.querySelector('.start').addEventListener('click', () => act(card, id, 'start'));
    card.querySelector('.stop').addEventListener('click', () => {
      if (confirm('Stop this stream now? It goes off air at once.')) act(card, id, 'stop');
    });
    card.querySelector('.preview').addEventListener('click', () => openPreview(id, card.dataset.title));
    return card;
  }

  function fillCard(card, s, st) {
    const q = (sel) => card.querySelector(sel);
    const state = st.state || s.state || 'scheduled';
    const title = s.title || s.id;
    card.dataset.state = state;
    card.dataset.title = title;
    q('.title').textContent = title;
    const owner = merchants.get(s.merchant_id);
    q('.ids').textContent = s.id + (owner ? ' · ' + owner : '');
    const badge = q('.state');
    badge.textContent = state;
    badge.className = 'state ' + state;

    const ahead = st.buffer_ahead_seconds || 0;
    const target = s.lookahead_seconds || 60;
    const fill = q('.gauge-fill');
    fill.style.width = Math.min(100, (ahead / target) * 100).toFixed(1) + '%';
    fill.className = 'gauge-fill' + (ON_AIR.has(state) && ahead < 5 ? ' dry' : ahead < target / 2 ? ' low' : '');
    q('.gauge-value').textContent = ahead.toFixed(1) + ' s / ' + target + ' s';
    const meter = q('.gauge');
    meter.setAttribute('aria-valuenow', ahead.toFixed(1));
    meter.setAttribute('aria-valuemax', String(target));

    q('.on-air').replaceChildren(st.on_air ? clipLine(st.on_air) : dash());
    const next = q('.next');
    next.replaceChildren(...(st.next || []).slice(0, 3).map((c) => {
      const li = document.createElement('li');
      li.append(clipLine(c));
      return li;
    }));
    if (!next.children.length) next.replaceChildren(dash());
    q('.aired').textContent = duration(st.aired_seconds || 0);
    q('.pipeline').textContent = st.error ? 'status unavailable: ' + st.error
      : (st.in_flight || 0) + ' in flight · ' + (st.failed || 0) + ' failed';
    q('.outputs').replaceChildren(outputs(s, st));

    q('.start').disabled = ON_AIR.has(state);
    q('.stop').disabled = !ON_AIR.has(state);
    q('.preview').disabled = !ON_AIR.has(state);
  }

  function clipLine(c) {
    const span = document.createElement('span');
    const kind = document.createElement('span');
    kind.className = 'kind';
    kind.textContent = c.kind || 'clip';
    span.append(kind, truncate(c.text || '', 140));
    if (c.state && c.state !== 'on_air') {
      const st = document.createElement('span');
      st.className = 'clip-state';
      st.textContent = c.state;
      span.append(st);
    }
    return span;
  }

  function outputs(s, st) {
    // The orchestrator's view when it has one, else the configured targets.
    const list = (st.outputs && st.outputs.length) ? st.outputs
      : (s.outputs || []).map((o) => ({ name: o.name, url: '', state: ON_AIR.has(st.state || s.state) ? 'unknown' : 'idle' }));
    if (!list.length) return document.createTextNode('HLS preview only');
    const frag = document.createDocumentFragment();
    list.forEach((o, i) => {
      const span = document.createElement('span');
      span.textContent = (i ? ', ' : '') + (o.name || o.url || 'rtmp') + ': ' + o.state +
        (o.reconnects ? ' (' + o.reconnects + ' reconnects)' : '');
      if (o.state === 'retrying' || o.last_error) span.className = 'out-bad';
      if (o.last_error) span.title = o.last_error;
      frag.append(span);
    });
    return frag;
  }

  function dash() {
    const span = document.createElement('span');
    span.className = 'muted';
    span.textContent = '—';
    return span;
  }

  function truncate(s, n) {
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  }

  function duration(sec) {
    sec = Math.floor(sec);
    const h = Math.floor(sec / 3600);
    const m = Math.floor((sec % 3600) / 60);
    const s = sec % 60;
    return (h ? h + ' h ' : '') + (h || m ? m + ' min ' : '') + s + ' s';
  }

  async function act(card, id, verb) {
    const err = card.querySelector('.card-error');
    err.hidden = true;
    card.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    try {
      await api('POST', '/v1/sessions/' + encodeURIComponent(id) + '/' + verb);
      if (verb === 'stop' && previewing === id) closePreview();
    } catch (e) {
      if (e instanceof AuthError) return;
      err.textContent = verb + ' failed: ' + e.message;
      err.hidden = false;
    }
    poll();
  }

  // Live preview with hls.js; the token goes in a header on every request.

  function openPreview(id, title) {
    closePreview();
    previewing = id;
    el.player.hidden = false;
    el.playerTitle.textContent = 'Preview · ' + (title || id);
    el.playerNote.textContent = 'Connecting…';
    const src = '/v1/sessions/' + encodeURIComponent(id) + '/hls/index.m3u8';
    if (!window.Hls || !window.Hls.isSupported()) {
      el.playerNote.textContent = 'This browser lacks Media Source Extensions, which the preview needs to send the token.';
      return;
    }
    const bearer = token;
    hls = new window.Hls({
      xhrSetup: (xhr) => xhr.setRequestHeader('Authorization', 'Bearer ' + bearer),
      liveSyncDurationCount: 3,
      manifestLoadingMaxRetry: 6,
    });
    hls.on(window.Hls.Events.MANIFEST_PARSED, () => {
      el.playerNote.textContent = 'Live. Muted until you unmute it.';
      el.video.play().catch(() => {});
    });
    hls.on(window.Hls.Events.ERROR, (_, data) => {
      if (!data.fatal) return;
      const code = data.response && data.response.code;
      el.playerNote.textContent = 'Preview stopped: ' + data.details + (code ? ' (HTTP ' + code + ')' : '');
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    });
    hls.loadSource(src);
    hls.attachMedia(el.video);
  }

  function closePreview() {
    if (hls) {
      hls.destroy();
      hls = null;
    }
    previewing = null;
    el.video.removeAttribute('src');
    el.video.load();
    el.player.hidden = true;
  }

  el.playerClose.addEventListener('click', closePreview);

  if (token) {
    start();
  } else {
    el.signIn.hidden = false;
    el.token.focus();
  }
})();
