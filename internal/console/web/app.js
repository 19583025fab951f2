// Evercast operator console. Plain browser JavaScript, no build step.
//
// The token is asked for once and kept in localStorage; every REST call
// sends it as "Authorization: Bearer <token>", hls.js sends it too
// (xhrSetup), and the websocket offers it as the subprotocol
// "bearer.<token>" next to "evercast.control.v1" (docs/control-protocol.md).
//
// State comes from REST at first (sessions, each session's status, and for
// the open panel its products, rundown and comments); from then on the
// control channel's events keep it current. The session list is read again
// on session.state events and every 30 s (every 5 s while the feed is
// down); a session's status is read again shortly after clip events, to
// reconcile the buffer gauge and the pipeline counts.
//
// Everything shown is set with textContent: clip text comes from scripts
// and viewer comments and is never parsed as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'evercast.token';
  const PROTOCOL = 'evercast.control.v1';
  const WS_PATH = '/v1/ws/control';
  const REFRESH_MS = 30000; // session list while the feed is up
  const FALLBACK_MS = 5000; // session list and statuses while it is down
  const STATUS_DELAY_MS = 1500; // status re-read after clip events
  const PING_MS = 20000;
  const PONG_WAIT_MS = 10000;
  const COMMAND_TIMEOUT_MS = 35000; // the server runs a command for up to 30 s
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const INCIDENT_TTL_MS = 120000; // one-off failures stay on the card this long
  const ON_AIR = new Set(['warming', 'live', 'paused']);
  // Grid order: on air first, then by title. Pausing does not move a card.
  const STATE_ORDER = { live: 0, paused: 0, warming: 0, scheduled: 1, ended: 2 };
  const COMMANDS = {
    pause: 'Pause', resume: 'Resume', skip: 'Skip', standby: 'Cut to standby', stop: 'Stop',
    cut: 'Take off air', say: 'Say now', focus: 'Focus',
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    who: $('who'), whoName: $('who-name'), whoDetail: $('who-detail'), conn: $('conn'),
    updated: $('updated'), signOut: $('sign-out'),
    signIn: $('sign-in'), signInForm: $('sign-in-form'), token: $('token'), signInError: $('sign-in-error'),
    board: $('board'), banner: $('banner'), summary: $('summary'), empty: $('empty'), grid: $('grid'),
    template: $('card-template'),
    player: $('player'), video: $('video'), playerNote: $('player-note'), playerClose: $('player-close'),
    panel: $('panel'), panelTitle: $('panel-title'), panelIds: $('panel-ids'), panelState: $('panel-state'),
    panelClose: $('panel-close'), panelPreview: $('panel-preview'), panelPreviewStart: $('panel-preview-start'),
    commands: $('commands'), panelStart: $('panel-start'),
    sayForm: $('say-form'), sayText: $('say-text'), focusForm: $('focus-form'), focusProduct: $('focus-product'),
    cmdFeedback: $('cmd-feedback'), cmdLog: $('cmd-log'), panelAlerts: $('panel-alerts'),
    panelNext: $('panel-next'), panelAired: $('panel-aired'),
    commentForm: $('comment-form'), commentUser: $('comment-user'), commentText: $('comment-text'),
    commentFeedback: $('comment-feedback'), commentFeed: $('comment-feed'),
    confirm: $('confirm'), confirmTitle: $('confirm-title'), confirmText: $('confirm-text'), confirmOk: $('confirm-ok'),
  };

  let token = localStorage.getItem(TOKEN_KEY) || '';
  let generation = 0; // bumps on sign-out so that late answers are dropped
  let role = ''; // operator, merchant; '' until known
  let merchants = new Map(); // id -> name, operator only
  const models = new Map(); // session id -> model
  const cards = new Map(); // session id -> card element
  const workers = new Map(); // worker name -> WorkerData
  let queues = null; // latest QueueData.queues
  let feed = null;
  let refreshTimer = null;
  let refreshing = null; // the promise of the refresh under way
  let panelId = null;
  let hls = null;
  let previewId = null;

  class AuthError extends Error {}

  // REST.

  async function api(method, path, body) {
    const gen = generation;
    const headers = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, {
      method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (gen !== generation) throw new AuthError('signed out');
    if (res.status === 401) {
      signOut('The token was refused. Sign in again.');
      throw new AuthError('unauthorized');
    }
    let data = null;
    if (res.status !== 204) data = await res.json().catch(() => null);
    if (!res.ok) {
      const e = data && data.error;
      const err = new Error(e ? (e.field ? e.field + ': ' : '') + e.message : res.status + ' ' + res.statusText);
      err.status = res.status;
      err.code = e && e.code;
      throw err;
    }
    return data;
  }

  const sessionPath = (id, rest) => '/v1/sessions/' + encodeURIComponent(id) + (rest || '');

  // The model of a session: what REST said, kept current by events.

  function model(id) {
    let m = models.get(id);
    if (!m) {
      m = {
        id, session: { id }, state: '', owner: '', bufferAhead: 0, target: 60, aired: 0,
        onAir: null, next: [], inFlight: 0, failed: 0, statusError: '',
        outputs: new Map(), alerts: new Map(), incidents: [], recent: [], clips: new Map(),
        comments: new Map(), replies: new Map(), log: [], says: new Map(), products: null,
        statusTimer: null, pending: new Map(), // command name -> true while in flight
      };
      models.set(id, m);
    }
    return m;
  }

  function applySession(m, s) {
    m.session = s;
    if (s.state) m.state = s.state;
    if (s.owner) m.owner = s.owner;
    m.target = s.lookahead_seconds || 60;
    if (!ON_AIR.has(m.state)) {
      m.onAir = null;
      m.next = [];
      m.bufferAhead = 0;
      m.alerts.delete('standby');
    }
  }

  function applyStatus(m, st) {
    m.statusError = '';
    if (st.state) m.state = st.state;
    if (st.owner) m.owner = st.owner;
    m.bufferAhead = st.buffer_ahead_seconds || 0;
    m.aired = st.aired_seconds || 0;
    m.inFlight = st.in_flight || 0;
    m.failed = st.failed || 0;
    // Between two clips (and always under the fast clock, where a clip airs
    // at once) nothing is on air; keep showing the clip that just aired.
    if (st.on_air) m.onAir = entryOf(st.on_air);
    else if (!m.onAir || m.onAir.state !== 'aired' || !ON_AIR.has(m.state)) m.onAir = null;
    m.next = (st.next || []).map(entryOf);
    for (const c of m.next) remember(m, c);
    if (m.onAir) remember(m, m.onAir);
    if (st.outputs) {
      for (const o of st.outputs) setOutput(m, o);
    }
  }

  // entryOf turns a RundownEntry (REST) into the console's clip shape.
  function entryOf(c) {
    return {
      id: c.id, seq: c.seq || 0, kind: c.kind || 'clip', text: c.text || '', state: c.state || '',
      product: c.product || '', duration: c.duration || 0, commentId: c.comment_id || '',
      airedAt: c.aired_at || '',
    };
  }

  // clipOf turns ClipData (an event) into the console's clip shape.
  function clipOf(d, state) {
    return {
      id: d.clip_id, seq: d.seq || 0, kind: d.kind || 'clip', text: d.text || '', state,
      product: d.product_id || '', duration: (d.duration_ms || 0) / 1000, commentId: d.comment_id || '',
      priority: !!d.priority, airedAt: '',
    };
  }

  // remember keeps what is known of a clip, so that a later event without
  // text (a say-now clip is planned before its script exists) still shows it.
  function remember(m, c) {
    const old = m.clips.get(c.id);
    if (old) {
      for (const k of Object.keys(c)) {
        if (c[k] !== '' && c[k] !== 0 && c[k] !== undefined) old[k] = c[k];
      }
      return old;
    }
    m.clips.set(c.id, Object.assign({}, c));
    if (m.clips.size > 600) m.clips.delete(m.clips.keys().next().value);
    return m.clips.get(c.id);
  }

  function textOf(m, c) {
    if (c.text) return c.text;
    const known = m.clips.get(c.id);
    if (known && known.text) return known.text;
    if (m.says.has(c.id)) return m.says.get(c.id);
    return '';
  }

  function setOutput(m, o) {
    const name = o.name || o.url || 'rtmp';
    m.outputs.set(name, o);
    const key = 'output:' + name;
    if ((o.state === 'retrying' || o.state === 'stopped') && ON_AIR.has(m.state)) {
      addAlert(m, key, o.state === 'stopped' ? 'critical' : 'warning',
        'Output ' + name + ' ' + o.state + (o.last_error ? ': ' + o.last_error : '') +
        (o.reconnects ? ' (' + o.reconnects + ' reconnects)' : ''));
    } else {
      m.alerts.delete(key);
    }
  }

  function addAlert(m, key, severity, text, ttl) {
    const now = Date.now();
    const prev = m.alerts.get(key);
    m.alerts.set(key, { severity, text, at: now, expires: ttl ? now + ttl : 0 });
    if (!prev || prev.text !== text) {
      m.incidents.unshift({ severity, text, at: now });
      if (m.incidents.length > 30) m.incidents.length = 30;
    }
  }

  function clearAlert(m, key, text) {
    if (!m.alerts.delete(key)) return;
    m.incidents.unshift({ severity: 'cleared', text, at: Date.now() });
    if (m.incidents.length > 30) m.incidents.length = 30;
  }

  function activeAlerts(m) {
    const now = Date.now();
    const out = [];
    for (const [key, a] of m.alerts) {
      if (a.expires && a.expires < now) {
        m.alerts.delete(key);
        continue;
      }
      out.push(a);
    }
    return out.sort((a, b) => sevRank(a.severity) - sevRank(b.severity) || b.at - a.at);
  }

  const sevRank = (s) => (s === 'critical' ? 0 : s === 'warning' ? 1 : 2);

  // Loading state over REST.

  // refreshAll reads the session list and the status of every session on
  // air. With again, a refresh already under way (which may have started
  // before something the caller knows of) is followed by a fresh one.
  async function refreshAll(again) {
    if (refreshing) {
      if (!again) return refreshing;
      const gen = generation;
      return refreshing.then(() => (gen === generation ? refreshAll() : undefined));
    }
    const gen = generation;
    refreshing = (async () => {
      try {
        const list = await api('GET', '/v1/sessions');
        const seen = new Set();
        for (const s of list.items) {
          seen.add(s.id);
          applySession(model(s.id), s);
        }
        for (const id of [...models.keys()]) {
          if (!seen.has(id)) dropSession(id);
        }
        await Promise.all(list.items.filter((s) => ON_AIR.has(s.state)).map((s) => loadStatus(s.id)));
        if (gen !== generation) return;
        if (feed) feed.track(list.items.map((s) => s.id));
        setBanner('');
        el.updated.textContent = 'updated ' + new Date().toLocaleTimeString();
        for (const id of seen) markDirty(id);
        markDirty(null);
      } catch (e) {
        if (e instanceof AuthError) return;
        setBanner('Cannot reach the API: ' + e.message + ' (retrying)');
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  async function loadStatus(id) {
    const m = models.get(id);
    if (!m) return;
    try {
      applyStatus(m, await api('GET', sessionPath(id, '/status')));
    } catch (e) {
      if (e instanceof AuthError) throw e;
      m.statusError = e.message;
    }
    markDirty(id);
  }

  // scheduleStatus reads a session's status again soon, once for a burst of
  // events.
  function scheduleStatus(id) {
    const m = models.get(id);
    if (!m || m.statusTimer) return;
    const gen = generation;
    m.statusTimer = setTimeout(() => {
      m.statusTimer = null;
      if (gen === generation && models.get(id) === m && ON_AIR.has(m.state)) {
        loadStatus(id).catch(() => {});
      }
    }, STATUS_DELAY_MS);
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    const gen = generation;
    const every = feed && feed.live ? REFRESH_MS : FALLBACK_MS;
    refreshTimer = setTimeout(async () => {
      if (gen !== generation) return;
      if (!document.hidden) {
        await refreshAll();
        // Without the feed, the open panel's lists are read again too.
        if (panelId && !(feed && feed.live)) loadPanelData(panelId);
      }
      if (gen === generation) scheduleRefresh();
    }, every);
  }

  let listTimer = null;
  // refreshSoon re-reads the session list shortly (state changes come in bursts).
  function refreshSoon() {
    if (listTimer) return;
    const gen = generation;
    listTimer = setTimeout(() => {
      listTimer = null;
      if (gen === generation) refreshAll();
    }, 300);
  }

  function dropSession(id) {
    const m = models.get(id);
    if (m && m.statusTimer) clearTimeout(m.statusTimer);
    models.delete(id);
    if (previewId === id) stopPreview();
    const card = cards.get(id);
    if (card) card.remove();
    cards.delete(id);
    if (panelId === id) closePanel();
  }

  // The control channel.

  class Feed {
    constructor() {
      this.ws = null;
      this.live = false; // subscribed and receiving
      this.closed = false;
      this.cursor = null; // last seq seen, for resuming
      this.backoff = BACKOFF_MIN_MS;
      this.nextId = 1;
      this.pending = new Map(); // request id -> {resolve, reject, timer}
      this.all = false; // subscribed to "*"
      this.ids = new Set(); // sessions subscribed one by one
      this.known = new Set(); // sessions the console lists
      this.timer = null;
      this.pingTimer = null;
      this.pongTimer = null;
      this.principal = null;
      this.helloSeen = false;
      // roleReady settles once the principal's role is known: from hello,
      // or, when the websocket cannot be reached, from a REST probe.
      this.roleReady = new Promise((resolve) => { this.roleKnown = resolve; });
    }

    open() {
      if (this.closed) return;
      const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + WS_PATH;
      let ws;
      try {
        ws = new WebSocket(url, [PROTOCOL, 'bearer.' + token]);
      } catch (e) {
        // The token cannot travel as a subprotocol (it holds characters an
        // HTTP token may not): REST polling only.
        this.closed = true;
        setConn('polling', 'REST only: this token cannot be used on the websocket');
        probeRole().then(() => this.roleKnown());
        scheduleRefresh();
        return;
      }
      this.ws = ws;
      setConn('connecting', 'connecting…');
      ws.onmessage = (ev) => this.onMessage(ev);
      ws.onclose = (ev) => this.onClose(ws, ev);
      ws.onerror = () => {}; // onclose follows and handles it
    }

    close() {
      this.closed = true;
      clearTimeout(this.timer);
      this.stopPing();
      if (this.ws) this.ws.close(1000, 'signed out');
      this.failPending('signed out');
      this.ws = null;
      this.live = false;
    }

    onClose(ws, ev) {
      if (ws !== this.ws) return;
      this.ws = null;
      const wasLive = this.live;
      this.live = false;
      this.stopPing();
      this.failPending('the live feed dropped; the command may have run');
      if (this.closed) return;
      if (!this.helloSeen) probeRole().then(() => this.roleKnown());
      const delay = Math.round(this.backoff * (0.75 + Math.random() * 0.5));
      this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
      const why = ev.code === 1013 ? 'feed dropped (too slow)' : ev.code === 1001 ? 'server restarting'
        : wasLive ? 'feed disconnected' : 'live feed unavailable';
      setConn('retrying', why + ' · polling · retry in ' + Math.max(1, Math.round(delay / 1000)) + ' s');
      this.timer = setTimeout(() => this.open(), delay);
      if (wasLive) scheduleRefresh(); // poll faster while the feed is down
    }

    failPending(why) {
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        const err = new Error(why);
        err.code = 'unavailable';
        p.reject(err);
      }
      this.pending.clear();
    }

    send(msg) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
      this.ws.send(JSON.stringify(msg));
      return true;
    }

    // request sends a message with a fresh id and resolves with the ack's
    // result, or rejects with the error (err.code, err.message).
    request(msg, timeout) {
      return new Promise((resolve, reject) => {
        const id = 'r' + this.nextId++;
        msg.id = id;
        if (!this.send(msg)) {
          const err = new Error('the live feed is not connected');
          err.code = 'unavailable';
          reject(err);
          return;
        }
        const timer = setTimeout(() => {
          this.pending.delete(id);
          const err = new Error('no answer in time; the request may have been carried out');
          err.code = 'timeout';
          reject(err);
        }, timeout || COMMAND_TIMEOUT_MS);
        this.pending.set(id, { resolve, reject, timer });
      });
    }

    command(sessionId, name, args) {
      const msg = { type: 'command', session_id: sessionId, command: name };
      if (args) msg.args = args;
      return this.request(msg);
    }

    onMessage(ev) {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      switch (msg.type) {
        case 'hello':
          this.principal = msg.principal || null;
          this.onHello();
          break;
        case 'event':
          if (typeof msg.seq === 'number' && msg.seq > (this.cursor || 0)) this.cursor = msg.seq;
          onEvent(msg);
          break;
        case 'ack':
        case 'error': {
          const p = msg.id && this.pending.get(msg.id);
          if (p) {
            this.pending.delete(msg.id);
            clearTimeout(p.timer);
            if (msg.type === 'ack') {
              p.resolve(msg.result || {});
            } else {
              const err = new Error(msg.message || msg.code);
              err.code = msg.code;
              err.retryAfter = msg.retry_after_ms;
              p.reject(err);
            }
          } else if (msg.type === 'error') {
            setBanner('Live feed: ' + (msg.code ? msg.code + ': ' : '') + (msg.message || ''));
          }
          break;
        }
        case 'resync':
          this.onResync(msg);
          break;
        case 'pong':
          clearTimeout(this.pongTimer);
          this.pongTimer = null;
          break;
        default:
          break; // later versions may add messages
      }
    }

    async onHello() {
      const ws = this.ws;
      const p = this.principal || {};
      this.helloSeen = true;
      setWho(p.role, p.name);
      if (p.role === 'operator') await loadMerchants();
      this.roleKnown();
      const resuming = this.cursor !== null;
      const since = resuming ? this.cursor : undefined;
      this.all = false;
      this.ids.clear();
      try {
        if (p.role !== 'merchant') {
          try {
            await this.subscribe(['*'], since);
            this.all = true;
          } catch (e) {
            if (e.code !== 'forbidden') throw e;
          }
        }
        if (!this.all) await this.subscribeEach([...this.known], since);
      } catch (e) {
        if (this.ws !== ws) return; // that connection is gone already
        setConn('retrying', 'subscribe failed: ' + e.message);
        ws.close(4000, 'subscribe failed');
        return;
      }
      if (this.ws !== ws) return;
      this.live = true;
      this.backoff = BACKOFF_MIN_MS;
      setConn('live', 'live feed');
      this.startPing();
      scheduleRefresh();
      // The first time, read the state again now that every later change
      // arrives as an event; after a drop the replay covers the gap.
      if (!resuming) refreshAll(true);
    }

    async subscribe(sessions, since) {
      const msg = { type: 'subscribe', sessions };
      if (since !== undefined && since !== null) msg.since = since;
      const res = await this.request(msg, 20000);
      if (typeof res.last_seq === 'number' && res.last_seq > (this.cursor || 0)) this.cursor = res.last_seq;
      if (this.cursor === null) this.cursor = res.last_seq || 0;
      return res;
    }

    // subscribeEach subscribes to sessions by id (a merchant key may not
    // subscribe to "*"): all at once, else one by one so that a session
    // deleted meanwhile does not keep the others out.
    async subscribeEach(ids, since) {
      const want = ids.filter((id) => !this.ids.has(id));
      if (!want.length) return;
      for (let i = 0; i < want.length; i += 1000) {
        const chunk = want.slice(i, i + 1000);
        try {
          await this.subscribe(chunk, since);
          chunk.forEach((id) => this.ids.add(id));
        } catch (e) {
          if (e.code === 'unavailable' || e.code === 'timeout') throw e;
          for (const id of chunk) {
            try {
              await this.subscribe([id], since);
              this.ids.add(id);
            } catch (e2) {
              if (e2.code === 'unavailable' || e2.code === 'timeout') throw e2;
            }
          }
        }
      }
    }

    // track is told the sessions the console lists; when subscribed one by
    // one, it subscribes to new ones and reads their status again (what
    // happened before the subscription came as no event).
    track(ids) {
      this.known = new Set(ids);
      if (!this.live || this.all) return;
      const added = ids.filter((id) => !this.ids.has(id));
      if (!added.length) return;
      this.subscribeEach(added).then(() => {
        for (const id of added) {
          const m = models.get(id);
          if (m && ON_AIR.has(m.state)) loadStatus(id).catch(() => {});
        }
      }).catch(() => {});
    }

    onResync(msg) {
      if (typeof msg.last_seq === 'number') this.cursor = msg.last_seq;
      this.resyncs = (this.resyncs || 0) + 1;
      el.conn.dataset.resyncs = String(this.resyncs);
      el.conn.title = 'Reloaded at ' + new Date().toLocaleTimeString() + ': ' + (msg.reason === 'unknown_seq'
        ? 'the server restarted' : 'events were missed while away');
      setBanner('');
      refreshAll().then(() => {
        if (panelId) loadPanelData(panelId);
      });
    }

    startPing() {
      this.stopPing();
      this.pingTimer = setInterval(() => {
        if (this.pongTimer) return;
        if (!this.send({ type: 'ping', id: 'p' + this.nextId++ })) return;
        this.pongTimer = setTimeout(() => {
          this.pongTimer = null;
          if (this.ws) this.ws.close(4001, 'no pong');
        }, PONG_WAIT_MS);
      }, PING_MS);
    }

    stopPing() {
      clearInterval(this.pingTimer);
      clearTimeout(this.pongTimer);
      this.pingTimer = null;
      this.pongTimer = null;
    }
  }

  function setConn(state, text) {
    el.conn.dataset.conn = state;
    el.conn.textContent = text;
  }

  function setWho(r, name) {
    role = r || role;
    el.whoName.textContent = role === 'operator' ? 'Operator' : role === 'merchant' ? 'Merchant key' : 'Signed in';
    el.whoDetail.textContent = name && name !== role ? name : '';
  }

  // Events.

  function onEvent(msg) {
    const d = msg.data || {};
    if (!msg.session_id) {
      deploymentEvent(msg.event, d);
      return;
    }
    const m = models.get(msg.session_id);
    if (!m) {
      // A session created since the list was read.
      refreshSoon();
      return;
    }
    const id = m.id;
    switch (msg.event) {
      case 'session.state':
        if (d.state) m.state = d.state;
        if (!ON_AIR.has(m.state)) applySession(m, Object.assign({}, m.session, { state: m.state }));
        if (m.state !== 'live') clearAlert(m, 'standby', 'Programme back on air');
        if (m.state === 'ended' && previewId === id) stopPreview();
        refreshSoon();
        scheduleStatus(id);
        break;
      case 'clip.planned': {
        const c = remember(m, clipOf(d, 'planned'));
        if (c.kind !== 'standby' && !m.next.some((x) => x.id === c.id)) {
          if (c.priority) {
            const at = m.next.findIndex((x) => !x.priority);
            m.next.splice(at < 0 ? m.next.length : at, 0, c);
          } else if (m.next.length < 5) {
            m.next.push(c);
          }
        }
        m.inFlight++;
        scheduleStatus(id);
        break;
      }
      case 'clip.ready': {
        const c = remember(m, clipOf(d, 'rendered'));
        const n = m.next.find((x) => x.id === c.id);
        if (n) Object.assign(n, { state: 'rendered', text: c.text, duration: c.duration });
        scheduleStatus(id);
        break;
      }
      case 'clip.cued': {
        const c = remember(m, clipOf(d, 'on_air'));
        m.onAir = Object.assign({}, c, { state: 'on_air' });
        m.next = m.next.filter((x) => x.id !== c.id);
        if (c.kind === 'standby' && m.state === 'live') {
          addAlert(m, 'standby', 'critical', 'Standby on air: the buffer ran dry');
        } else if (c.kind !== 'standby') {
          clearAlert(m, 'standby', 'Programme back on air');
        }
        break;
      }
      case 'clip.aired': {
        const c = remember(m, clipOf(d, 'aired'));
        c.state = 'aired';
        const entry = Object.assign({}, c, { state: 'aired', airedAt: new Date().toISOString() });
        m.recent = [entry].concat(m.recent.filter((x) => x.id !== c.id)).slice(0, 30);
        if (m.onAir && m.onAir.id === c.id) m.onAir.state = 'aired';
        if (d.start_ms !== undefined) m.aired = Math.max(m.aired, (d.start_ms + (d.duration_ms || 0)) / 1000);
        scheduleStatus(id);
        break;
      }
      case 'clip.failed': {
        const c = remember(m, clipOf(d, 'failed'));
        m.next = m.next.filter((x) => x.id !== c.id);
        m.failed++;
        addAlert(m, 'failed:' + c.id, 'warning', 'Clip ' + (c.kind || '') + ' failed' +
          (d.stage ? ' at ' + d.stage : '') + (d.error ? ': ' + d.error : ''), INCIDENT_TTL_MS);
        scheduleStatus(id);
        break;
      }
      case 'playhead':
        if (typeof d.aired_seconds === 'number') m.aired = d.aired_seconds;
        break;
      case 'buffer':
        if (typeof d.buffer_ahead_seconds === 'number') m.bufferAhead = d.buffer_ahead_seconds;
        if (d.target_seconds) m.target = d.target_seconds;
        if (typeof d.in_flight === 'number') m.inFlight = d.in_flight;
        break;
      case 'output':
        setOutput(m, d);
        break;
      case 'comment':
        addComment(m, {
          id: d.id, user: d.user || '', text: d.text || '', action: d.action || '', reason: d.reason || '',
          intent: d.intent || '', product: d.product_id || '', at: Date.parse(d.received_at) || Date.now(),
        });
        break;
      case 'reply':
        if (d.comment_id) {
          const prev = m.replies.get(d.comment_id) || {};
          if (m.replies.size > 300) m.replies.delete(m.replies.keys().next().value);
          m.replies.set(d.comment_id, Object.assign(prev, {
            state: d.state || prev.state, clipId: d.clip_id || prev.clipId, text: d.text || prev.text || '',
            latency: typeof d.latency_ms === 'number' ? d.latency_ms : prev.latency,
          }));
        }
        break;
      case 'command':
        noteCommandEvent(m, d);
        if (d.ok && d.result && d.result.state) m.state = d.result.state;
        break;
      case 'error':
        addAlert(m, 'error:' + msg.seq, 'warning', (d.component ? d.component + ': ' : '') + (d.message || 'error'),
          INCIDENT_TTL_MS);
        break;
      case 'alert': {
        const key = 'alert:' + (d.alert || 'alert');
        if (d.cleared) {
          clearAlert(m, key, d.message || (d.alert + ' cleared'));
        } else {
          addAlert(m, key, d.severity === 'critical' ? 'critical' : 'warning', d.message || d.alert);
        }
        break;
      }
      default:
        return; // later versions may add events
    }
    markDirty(id);
  }

  function deploymentEvent(name, d) {
    if (name === 'queue' && d.queues) {
      queues = d.queues;
    } else if (name === 'worker' && d.worker) {
      workers.set(d.worker, d);
    } else {
      return;
    }
    markDirty(null);
  }

  function addComment(m, c) {
    if (!c.id) return;
    const prev = m.comments.get(c.id);
    if (prev) {
      Object.assign(prev, c);
    } else {
      m.comments.set(c.id, c);
      if (m.comments.size > 200) {
        const oldest = m.comments.keys().next().value;
        m.comments.delete(oldest);
        m.replies.delete(oldest);
      }
    }
  }

  // noteCommandEvent logs a command someone ran; one of ours, already
  // logged from its ack, is only marked as seen.
  function noteCommandEvent(m, d) {
    const mine = m.log.find((x) => x.mine && !x.seen && x.command === d.command && Date.now() - x.at < 60000);
    if (mine) {
      mine.seen = true;
      return;
    }
    const by = d.by ? (d.by.name || d.by.role) : 'someone';
    m.log.unshift({
      at: Date.now(), command: d.command, args: d.args, by, mine: false,
      state: d.ok ? 'ok' : 'error', result: d.result, error: d.ok ? '' : (d.code ? d.code + ': ' : '') + (d.message || ''),
    });
    if (m.log.length > 40) m.log.length = 40;
  }

  // Rendering, batched: events mark sessions dirty, one pass draws them.

  const drawn = new WeakMap(); // node -> what draw last put in it
  // draw replaces a node's children when what they show has changed, so
  // that lists that did not change keep their nodes (and the reader's
  // selection, and the place a pointer is about to click).
  function draw(node, children) {
    const sig = children.map((c) => (c.nodeType === Node.ELEMENT_NODE ? c.outerHTML : c.textContent)).join('\u0000');
    if (drawn.get(node) === sig) return;
    drawn.set(node, sig);
    node.replaceChildren(...children);
  }

  const dirty = new Set();
  let summaryDirty = false;
  let flushTimer = null;

  function markDirty(id) {
    if (id) dirty.add(id);
    summaryDirty = true;
    if (!flushTimer) flushTimer = setTimeout(flush, 60);
  }

  function flush() {
    flushTimer = null;
    const ids = [...dirty];
    dirty.clear();
    let added = false;
    for (const id of ids) {
      const m = models.get(id);
      if (!m) continue;
      let card = cards.get(id);
      if (!card) {
        card = newCard(id);
        cards.set(id, card);
        added = true;
      }
      fillCard(card, m);
      if (id === panelId) renderPanel();
    }
    if (summaryDirty) {
      summaryDirty = false;
      order(added);
      renderSummary();
    }
  }

  // order keeps the grid sorted (on air first) without moving cards that
  // are already in place: moving a card would pause the preview in it.
  function order(force) {
    const want = [...models.values()].sort((a, b) => rank(a) - rank(b) ||
      (a.session.title || a.id).localeCompare(b.session.title || b.id)).map((m) => cards.get(m.id)).filter(Boolean);
    const have = [...el.grid.children];
    if (!force && want.length === have.length && want.every((c, i) => c === have[i])) return;
    const playing = previewId && !el.video.paused;
    want.forEach((card, i) => {
      if (el.grid.children[i] !== card) el.grid.insertBefore(card, el.grid.children[i] || null);
    });
    if (playing) el.video.play().catch(() => {});
  }

  function rank(m) {
    const r = STATE_ORDER[m.state || m.session.state];
    return r === undefined ? 9 : r;
  }

  function renderSummary() {
    let onAir = 0;
    let dry = 0;
    let alerts = 0;
    for (const m of models.values()) {
      if (ON_AIR.has(m.state)) {
        onAir++;
        if (m.state === 'live' && m.bufferAhead < 5) dry++;
      }
      alerts += activeAlerts(m).length;
    }
    const parts = [stat(models.size, 'sessions'), stat(onAir, 'on air'), stat(dry, 'buffer under 5 s', dry ? 'warn' : ''),
      stat(alerts, 'alerts', alerts ? 'bad' : '')];
    if (queues) {
      let pending = 0;
      let active = 0;
      let retry = 0;
      for (const q of Object.values(queues)) {
        pending += q.pending || 0;
        active += q.active || 0;
        retry += q.retry || 0;
      }
      const s = stat(pending, 'queued');
      s.title = Object.entries(queues).map(([name, q]) =>
        name + ': ' + (q.pending || 0) + ' pending, ' + (q.active || 0) + ' active, ' + (q.retry || 0) + ' retrying').join('\n');
      parts.push(s, stat(active, 'running'), stat(retry, 'retrying', retry ? 'warn' : ''));
    }
    if (workers.size) {
      const down = [...workers.values()].filter((w) => w.state !== 'up').length;
      parts.push(stat(workers.size - down, 'workers up'), stat(down, 'workers degraded/down', down ? 'bad' : ''));
    }
    draw(el.summary, parts);
    el.empty.hidden = models.size > 0;
  }

  function stat(n, label, tone) {
    const span = document.createElement('span');
    span.className = 'stat' + (tone ? ' ' + tone : '');
    const b = document.createElement('b');
    b.textContent = String(n);
    span.append(b, ' ' + label);
    return span;
  }

  function newCard(id) {
    const card = el.template.content.firstElementChild.cloneNode(true);
    card.dataset.session = id;
    const open = () => openPanel(id);
    card.querySelector('.open').addEventListener('click', open);
    card.querySelector('.open-title').addEventListener('click', open);
    card.querySelector('.start').addEventListener('click', () => lifecycle(id, 'start', card));
    card.querySelector('.stop').addEventListener('click', async () => {
      const m = models.get(id);
      if (await confirmAction('Stop ' + title(m) + '?',
        'The closing scene airs next, then the session ends.', 'Stop')) lifecycle(id, 'stop', card);
    });
    card.querySelector('.preview').addEventListener('click', () => startPreview(id));
    return card;
  }

  const title = (m) => (m && (m.session.title || m.id)) || '';

  function fillCard(card, m) {
    const q = (sel) => card.querySelector(sel);
    const s = m.session;
    const state = m.state || s.state || 'scheduled';
    card.dataset.state = state;
    card.dataset.title = title(m);
    q('.open-title').textContent = title(m);
    const owner = merchants.get(s.merchant_id);
    q('.ids').textContent = m.id + (owner ? ' · ' + owner : '');
    setBadge(q('.state'), state);

    const slot = q('.preview-slot');
    slot.hidden = !(state === 'live' || state === 'paused');

    const ahead = m.bufferAhead || 0;
    const target = m.target || 60;
    const fill = q('.gauge-fill');
    fill.style.width = Math.min(100, (ahead / target) * 100).toFixed(1) + '%';
    fill.className = 'gauge-fill' + (state === 'live' && ahead < 5 ? ' dry' : ahead < target / 2 ? ' low' : '');
    q('.gauge-value').textContent = ahead.toFixed(1) + ' s / ' + target + ' s';
    const meter = q('.gauge');
    meter.setAttribute('aria-valuenow', ahead.toFixed(1));
    meter.setAttribute('aria-valuemax', String(target));
    meter.setAttribute('aria-valuetext', ahead.toFixed(1) + ' seconds ready of ' + target);
    meter.hidden = !ON_AIR.has(state);

    draw(q('.on-air'), [m.onAir ? clipLine(m, m.onAir, 160) : dash()]);
    const next = q('.next');
    const items = m.next.slice(0, 3).map((c) => {
      const li = document.createElement('li');
      li.append(clipLine(m, c, 120));
      li.title = textOf(m, c);
      return li;
    });
    draw(next, items.length ? items : [dash()]);
    q('.aired').textContent = duration(m.aired || 0);
    q('.pipeline').textContent = m.statusError ? 'status unavailable: ' + m.statusError
      : m.inFlight + ' in flight · ' + m.failed + ' failed';
    q('.pipeline').classList.toggle('bad-text', m.failed > 0 && !m.statusError);
    q('.owner').textContent = m.owner || '—';
    draw(q('.outputs'), outputs(m, state));

    const alerts = activeAlerts(m);
    const ul = q('.card-alerts');
    const lis = alerts.slice(0, 3).map(alertItem);
    if (alerts.length > 3) {
      const li = document.createElement('li');
      li.className = 'more';
      li.textContent = '+' + (alerts.length - 3) + ' more in the panel';
      lis.push(li);
    }
    draw(ul, lis);
    ul.hidden = !alerts.length;
    card.classList.toggle('alerting', alerts.some((a) => a.severity === 'critical'));

    q('.start').hidden = ON_AIR.has(state);
    q('.stop').hidden = !ON_AIR.has(state);
  }

  function setBadge(node, state) {
    node.textContent = state;
    node.className = 'state ' + state;
  }

  function clipLine(m, c, max) {
    const span = document.createElement('span');
    span.className = 'clip';
    const kind = document.createElement('span');
    kind.className = 'kind kind-' + c.kind;
    kind.textContent = c.kind || 'clip';
    const text = textOf(m, c);
    const body = document.createElement('span');
    body.className = text ? 'clip-text' : 'clip-text muted';
    body.textContent = text ? truncate(text, max || 140) : (c.state === 'planned' ? 'script being written…' : '—');
    if (text && text.length > (max || 140)) body.title = text;
    span.append(kind, body);
    if (c.state && c.state !== 'on_air') {
      const st = document.createElement('span');
      st.className = 'clip-state';
      st.textContent = c.state === 'aired' ? 'just aired' : c.state;
      span.append(st);
    }
    return span;
  }

  function outputs(m, state) {
    // The orchestrator's and playout's view when there is one, else the
    // configured targets.
    let list = [...m.outputs.values()];
    if (!list.length) {
      list = (m.session.outputs || []).map((o) => ({ name: o.name, url: '', state: ON_AIR.has(state) ? 'unknown' : 'idle' }));
    }
    if (!list.length) return [document.createTextNode('HLS preview only')];
    return list.map((o, i) => {
      const span = document.createElement('span');
      span.textContent = (i ? ', ' : '') + (o.name || o.url || 'rtmp') + ': ' + o.state +
        (o.reconnects ? ' (' + o.reconnects + ' reconnects)' : '');
      if (o.state === 'retrying' || o.state === 'stopped') span.className = 'bad-text';
      else if (o.state === 'pushing') span.className = 'good-text';
      if (o.last_error) span.title = o.last_error;
      return span;
    });
  }

  function alertItem(a) {
    const li = document.createElement('li');
    li.className = 'alert ' + a.severity;
    li.textContent = a.text;
    return li;
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

  const clock = (t) => new Date(t).toLocaleTimeString();

  // Start and stop over REST (for scheduled and ended sessions, and a
  // graceful stop from the card).

  async function lifecycle(id, verb, card) {
    const err = card ? card.querySelector('.card-error') : null;
    if (err) err.hidden = true;
    const buttons = card ? [...card.querySelectorAll('.start, .stop')] : [];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const s = await api('POST', sessionPath(id, '/' + verb));
      const m = models.get(id);
      if (m && s) {
        applySession(m, s);
        if (s.status) applyStatus(m, s.status);
        markDirty(id);
      }
      if (verb === 'stop' && previewId === id) stopPreview();
      if (id === panelId) feedback(el.cmdFeedback, (verb === 'start' ? 'Started' : 'Stopping') + ' over REST.', 'ok');
    } catch (e) {
      if (e instanceof AuthError) return;
      if (err) {
        err.textContent = verb + ' failed: ' + e.message;
        err.hidden = false;
      }
      if (id === panelId) feedback(el.cmdFeedback, verb + ' failed: ' + e.message, 'bad');
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
    await refreshAll();
  }

  // The session panel.

  function openPanel(id) {
    if (panelId !== id) {
      panelId = id;
      el.sayText.value = '';
      el.commentText.value = '';
      feedback(el.cmdFeedback, '');
      feedback(el.commentFeedback, '');
      el.focusProduct.replaceChildren(option('', 'Loading products…'));
    }
    el.panel.hidden = false;
    document.body.classList.add('panel-open');
    cards.forEach((c, cid) => c.classList.toggle('selected', cid === id));
    renderPanel();
    placePlayer();
    el.panel.focus();
    loadPanelData(id);
  }

  function closePanel() {
    const id = panelId;
    panelId = null;
    el.panel.hidden = true;
    document.body.classList.remove('panel-open');
    cards.forEach((c) => c.classList.remove('selected'));
    placePlayer();
    const card = id && cards.get(id);
    if (card) card.querySelector('.open').focus();
  }

  async function loadPanelData(id) {
    const m = models.get(id);
    if (!m) return;
    const gen = generation;
    const jobs = [];
    if (!m.products) {
      jobs.push(Promise.all((m.session.product_ids || []).map((pid) =>
        api('GET', '/v1/products/' + encodeURIComponent(pid)).catch((e) => {
          if (e instanceof AuthError) throw e;
          return { id: pid, sku: '', title: { en: pid + ' (' + e.message + ')' } };
        }))).then((ps) => { m.products = ps; }));
    }
    jobs.push(api('GET', sessionPath(id, '/rundown')).then((rd) => {
      const aired = [];
      for (const c of rd.clips || []) {
        const e = remember(m, entryOf(c));
        if (c.state === 'aired') aired.push(Object.assign({}, e, { state: 'aired' }));
      }
      const fromRest = aired.slice(-30).reverse();
      const seen = new Set(fromRest.map((c) => c.id));
      m.recent = m.recent.filter((c) => !seen.has(c.id)).concat(fromRest)
        .sort((a, b) => (b.seq || 0) - (a.seq || 0)).slice(0, 30);
    }).catch((e) => {
      if (e instanceof AuthError) throw e;
    }));
    jobs.push(api('GET', sessionPath(id, '/comments?limit=100')).then((list) => {
      for (const r of list.items || []) {
        addComment(m, {
          id: r.id, user: r.user || '', text: r.text || '', action: r.action || '',
          reason: r.action === 'answer' ? '' : (r.reason || ''), intent: r.intent || (r.action === 'answer' ? r.reason || '' : ''),
          product: r.sku || '', at: Date.parse(r.received_at) || Date.now(),
        });
        if (r.reply_clip_id && !m.replies.has(r.id)) m.replies.set(r.id, { state: 'planned', clipId: r.reply_clip_id, text: '' });
      }
    }).catch((e) => {
      if (e instanceof AuthError) throw e;
    }));
    try {
      await Promise.all(jobs);
    } catch (e) {
      return; // signed out
    }
    if (gen === generation && panelId === id) {
      renderProducts(m);
      renderPanel();
    }
  }

  function option(value, text) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    return o;
  }

  function textIn(t) {
    if (!t) return '';
    if (typeof t === 'string') return t;
    return t.zh && t.en ? t.zh + ' / ' + t.en : t.zh || t.en || Object.values(t)[0] || '';
  }

  function renderProducts(m) {
    const ps = m.products || [];
    const opts = [option('', ps.length ? 'Choose a product…' : 'No products')];
    for (const p of ps) opts.push(option(p.id, textIn(p.title) + (p.sku ? ' · ' + p.sku : '')));
    const keep = el.focusProduct.value;
    el.focusProduct.replaceChildren(...opts);
    if (keep) el.focusProduct.value = keep;
  }

  function renderPanel() {
    const m = panelId && models.get(panelId);
    if (!m) return;
    const state = m.state || m.session.state || 'scheduled';
    el.panel.dataset.state = state;
    el.panel.dataset.session = m.id;
    el.panelTitle.textContent = title(m);
    const owner = merchants.get(m.session.merchant_id);
    el.panelIds.textContent = m.id + (owner ? ' · ' + owner : '') + (m.owner ? ' · on ' + m.owner : '');
    setBadge(el.panelState, state);

    const live = state === 'live';
    const onAir = ON_AIR.has(state);
    const enable = {
      pause: live, resume: state === 'paused', skip: live || state === 'paused', standby: live,
      stop: onAir, cut: onAir,
    };
    for (const b of el.commands.querySelectorAll('button[data-command]')) {
      const name = b.dataset.command;
      b.disabled = !enable[name] || m.pending.has(name);
      b.setAttribute('aria-busy', m.pending.has(name) ? 'true' : 'false');
    }
    el.panelStart.hidden = onAir;
    el.panelStart.disabled = m.pending.has('start');
    const steerable = live || state === 'paused';
    $('say-send').disabled = !steerable || m.pending.has('say');
    $('focus-send').disabled = !onAir || m.pending.has('focus');
    $('comment-send').disabled = !onAir;
    el.panelPreview.hidden = !(live || state === 'paused');
    el.panelPreviewStart.hidden = previewId === m.id;

    // On air and next.
    const next = [];
    if (m.onAir) next.push(clipItem(m, m.onAir, m.onAir.state === 'aired' ? 'just aired' : 'on air'));
    for (const c of m.next.slice(0, 6)) next.push(clipItem(m, c));
    draw(el.panelNext, next.length ? next : [emptyItem(onAir ? 'Nothing planned yet.' : 'Not on air.')]);
    draw(el.panelAired, (m.recent.length ? m.recent.slice(0, 20).map((c) => clipItem(m, c))
      : [emptyItem('Nothing aired yet.')]));

    // Alerts: active ones, then the recent history.
    const active = activeAlerts(m);
    const items = active.map(alertItem);
    for (const inc of m.incidents.slice(0, 12)) {
      if (active.some((a) => a.text === inc.text && a.at === inc.at)) continue;
      const li = document.createElement('li');
      li.className = 'alert past ' + inc.severity;
      li.textContent = clock(inc.at) + ' · ' + inc.text;
      items.push(li);
    }
    draw(el.panelAlerts, items.length ? items : [emptyItem('No alerts.')]);

    draw(el.cmdLog, m.log.length ? m.log.slice(0, 30).map(logItem) : [emptyItem('No commands yet.')]);

    const comments = [...m.comments.values()].sort((a, b) => b.at - a.at).slice(0, 100).map((c) => commentItem(m, c));
    draw(el.commentFeed, comments.length ? comments : [emptyItem('No comments yet.')]);
  }

  function clipItem(m, c, label) {
    const li = document.createElement('li');
    li.className = 'clip-item';
    li.dataset.clipId = c.id;
    li.dataset.kind = c.kind;
    li.dataset.state = c.state || '';
    if (c.seq) li.dataset.seq = String(c.seq);
    const head = document.createElement('div');
    head.className = 'clip-head';
    const kind = document.createElement('span');
    kind.className = 'kind kind-' + c.kind;
    kind.textContent = c.kind;
    head.append(kind);
    if (c.seq) head.append(small('#' + c.seq));
    if (label) {
      const b = document.createElement('span');
      b.className = 'on-air-tag';
      b.textContent = label;
      head.append(b);
    } else if (c.state) {
      head.append(small(c.state.replace('_', ' ')));
    }
    if (c.duration) head.append(small(c.duration.toFixed(1) + ' s'));
    if (c.commentId) head.append(small('reply to ' + c.commentId));
    const text = document.createElement('p');
    text.className = 'clip-body';
    const t = textOf(m, c);
    text.textContent = t || (c.state === 'planned' ? 'script being written…' : '—');
    if (!t) text.classList.add('muted');
    li.append(head, text);
    return li;
  }

  function small(t) {
    const s = document.createElement('span');
    s.className = 'meta';
    s.textContent = t;
    return s;
  }

  function emptyItem(t) {
    const li = document.createElement('li');
    li.className = 'empty muted';
    li.textContent = t;
    return li;
  }

  function logItem(x) {
    const li = document.createElement('li');
    li.className = 'log-item ' + x.state;
    li.dataset.command = x.command;
    li.dataset.state = x.state;
    const what = (COMMANDS[x.command] || x.command) + (x.args && x.args.text ? ' “' + truncate(x.args.text, 40) + '”'
      : x.args && x.args.product_id ? ' ' + x.args.product_id : '');
    const outcome = x.state === 'pending' ? 'sending…' : x.state === 'ok' ? 'ok' + describe(x.result) : x.error;
    li.textContent = clock(x.at) + ' · ' + (x.mine ? 'you' : x.by) + ' · ' + what + ' → ' + outcome;
    return li;
  }

  function describe(res) {
    if (!res || typeof res !== 'object') return '';
    const parts = Object.entries(res).map(([k, v]) => k.replace(/_/g, ' ') + ' ' + (typeof v === 'object' ? JSON.stringify(v) : v));
    return parts.length ? ': ' + parts.join(', ') : '';
  }

  function commentItem(m, c) {
    const li = document.createElement('li');
    li.className = 'comment';
    li.dataset.commentId = c.id;
    li.dataset.action = c.action;
    const head = document.createElement('div');
    head.className = 'c-head';
    const user = document.createElement('b');
    user.textContent = c.user || 'viewer';
    const action = document.createElement('span');
    action.className = 'badge action-' + (c.action || 'none');
    action.textContent = c.action || 'received';
    head.append(user, action);
    const why = [...new Set([c.intent, c.reason, c.product].filter(Boolean))].join(' · ');
    if (why) head.append(small(why));
    head.append(small(clock(c.at)));
    const text = document.createElement('p');
    text.className = 'c-text';
    text.textContent = c.text;
    li.append(head, text);
    const r = m.replies.get(c.id);
    if (r) {
      const p = document.createElement('p');
      p.className = 'c-reply ' + (r.state || '');
      const lat = r.state !== 'planned' && typeof r.latency === 'number' && r.latency > 0
        ? ' ' + (r.latency / 1000).toFixed(1) + ' s after the comment' : '';
      p.textContent = '↳ reply ' + (r.state || 'planned') + lat + (r.text ? ': ' + r.text : '');
      li.append(p);
    }
    return li;
  }

  function feedback(node, text, tone) {
    node.textContent = text;
    node.className = 'feedback' + (tone ? ' ' + tone : '');
  }

  // runCommand sends a command over the websocket and shows its ack or error.
  async function runCommand(name, args) {
    const id = panelId;
    const m = id && models.get(id);
    if (!m) return false;
    const label = COMMANDS[name] || name;
    if (!feed || !feed.live) {
      feedback(el.cmdFeedback, label + ' failed: the live feed is not connected (' + el.conn.textContent + ')', 'bad');
      return false;
    }
    const entry = { at: Date.now(), command: name, args, mine: true, state: 'pending' };
    m.log.unshift(entry);
    if (m.log.length > 40) m.log.length = 40;
    m.pending.set(name, true);
    feedback(el.cmdFeedback, label + ': sending…');
    markDirty(id);
    let ok = false;
    try {
      const res = await feed.command(id, name, args);
      entry.state = 'ok';
      entry.result = res;
      ok = true;
      if (res.state) m.state = res.state;
      if (name === 'say' && res.clip_id) {
        m.says.set(res.clip_id, args.text);
        if (m.says.size > 100) m.says.delete(m.says.keys().next().value);
        const c = remember(m, { id: res.clip_id, kind: 'say', text: '', state: 'planned', priority: true });
        if (!c.text) c.text = args.text;
      }
      if (panelId === id) feedback(el.cmdFeedback, label + ' done' + describe(res), 'ok');
      if (res.state) refreshSoon();
    } catch (e) {
      entry.state = 'error';
      entry.error = (e.code ? e.code + ': ' : '') + e.message +
        (e.retryAfter ? ' (retry in ' + Math.ceil(e.retryAfter / 1000) + ' s)' : '');
      if (panelId === id) feedback(el.cmdFeedback, label + ' failed: ' + entry.error, 'bad');
    } finally {
      m.pending.delete(name);
      markDirty(id);
    }
    return ok;
  }

  el.commands.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-command]');
    if (!b || b.disabled) return;
    const name = b.dataset.command;
    const m = models.get(panelId);
    if (name === 'cut' && !await confirmAction('Take ' + title(m) + ' off air?',
      'The stream ends at once, without a closing scene. Viewers see it stop now.', 'Take off air')) return;
    if (name === 'stop' && !await confirmAction('Stop ' + title(m) + '?',
      'The closing scene airs next, then the session ends.', 'Stop')) return;
    runCommand(name);
  });

  el.panelStart.addEventListener('click', async () => {
    const id = panelId;
    const m = models.get(id);
    if (!m) return;
    m.pending.set('start', true);
    renderPanel();
    await lifecycle(id, 'start', cards.get(id));
    m.pending.delete('start');
    markDirty(id);
  });

  el.sayForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = el.sayText.value.trim();
    if (!text) return;
    if (await runCommand('say', { text })) el.sayText.value = '';
  });

  el.focusForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const pid = el.focusProduct.value;
    if (!pid) {
      feedback(el.cmdFeedback, 'Choose a product to focus on.', 'bad');
      return;
    }
    runCommand('focus', { product_id: pid });
  });

  el.commentForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = panelId;
    const text = el.commentText.value.trim();
    if (!id || !text) return;
    const c = {
      id: 'console-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 8),
      user: el.commentUser.value.trim() || 'console-test', text, at: new Date().toISOString(),
    };
    const send = $('comment-send');
    send.disabled = true;
    feedback(el.commentFeedback, 'Pushing…');
    try {
      const res = await api('POST', sessionPath(id, '/comments'), { comments: [c] });
      const acts = Object.entries(res.actions || {}).map(([k, v]) => k + ' ' + v).join(', ');
      feedback(el.commentFeedback, 'Pushed: ' + res.new + ' new, ' + res.replies + ' repl' + (res.replies === 1 ? 'y' : 'ies') +
        ' planned' + (acts ? ' (' + acts + ')' : '') + '.', 'ok');
      el.commentText.value = '';
      if (!feed || !feed.live) loadPanelData(id);
    } catch (e) {
      if (e instanceof AuthError) return;
      feedback(el.commentFeedback, 'Push failed: ' + e.message, 'bad');
    } finally {
      send.disabled = false;
      markDirty(id);
    }
  });

  el.panelClose.addEventListener('click', closePanel);
  el.panelPreviewStart.addEventListener('click', () => { if (panelId) startPreview(panelId); });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && panelId && !el.confirm.open) closePanel();
  });

  // confirmAction asks in a modal dialog; resolves true on confirm.
  function confirmAction(heading, text, ok) {
    el.confirmTitle.textContent = heading;
    el.confirmText.textContent = text;
    el.confirmOk.textContent = ok;
    el.confirm.returnValue = '';
    return new Promise((resolve) => {
      el.confirm.addEventListener('close', () => resolve(el.confirm.returnValue === 'ok'), { once: true });
      el.confirm.showModal();
    });
  }

  // The live preview: one player, moved into the card (or the panel) of the
  // session it plays. hls.js sends the token on every request (xhrSetup).

  function startPreview(id) {
    stopPreview();
    previewId = id;
    el.player.hidden = false;
    el.video.muted = true;
    placePlayer();
    const m = models.get(id);
    el.player.setAttribute('aria-label', 'Live preview of ' + title(m));
    el.playerNote.textContent = 'Connecting…';
    if (!window.Hls || !window.Hls.isSupported()) {
      el.playerNote.textContent = 'This browser lacks Media Source Extensions, which the preview needs to send the token.';
      return;
    }
    const bearer = token;
    const h = new window.Hls({
      xhrSetup: (xhr) => xhr.setRequestHeader('Authorization', 'Bearer ' + bearer),
      liveSyncDurationCount: 3,
      manifestLoadingMaxRetry: 6,
      levelLoadingMaxRetry: 6,
      fragLoadingMaxRetry: 6,
    });
    hls = h;
    h.on(window.Hls.Events.MANIFEST_PARSED, () => {
      if (hls !== h) return;
      el.playerNote.textContent = 'Live · muted until you unmute it';
      el.video.play().catch(() => {});
    });
    h.on(window.Hls.Events.ERROR, (_, data) => {
      if (hls !== h || !data.fatal) return;
      const code = data.response && data.response.code;
      el.playerNote.textContent = 'Preview interrupted: ' + data.details + (code ? ' (HTTP ' + code + ')' : '') + '; retrying';
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
        h.recoverMediaError();
      } else {
        setTimeout(() => { if (hls === h) h.startLoad(); }, 3000);
      }
    });
    h.loadSource(sessionPath(id, '/hls/index.m3u8'));
    h.attachMedia(el.video);
  }

  function stopPreview() {
    if (hls) {
      hls.destroy();
      hls = null;
    }
    previewId = null;
    el.video.removeAttribute('src');
    el.video.load();
    el.player.hidden = true;
    placePlayer();
  }

  // placePlayer puts the player where its session is shown: the panel when
  // it is open on that session, else the session's card.
  function placePlayer() {
    document.querySelectorAll('.preview-slot.playing').forEach((s) => s.classList.remove('playing'));
    let slot = null;
    if (previewId) {
      if (panelId === previewId) slot = el.panelPreview;
      else if (cards.get(previewId)) slot = cards.get(previewId).querySelector('.preview-slot');
    }
    if (!slot) {
      if (el.player.parentElement !== document.body) document.body.append(el.player);
      if (previewId && hls) stopPreview();
      el.panelPreviewStart.hidden = false;
      return;
    }
    slot.classList.add('playing');
    if (el.player.parentElement !== slot) {
      slot.append(el.player);
      if (hls) el.video.play().catch(() => {});
    }
    el.panelPreviewStart.hidden = previewId === panelId;
  }

  el.playerClose.addEventListener('click', stopPreview);

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
    role = '';
    localStorage.removeItem(TOKEN_KEY);
    if (feed) feed.close();
    feed = null;
    clearTimeout(refreshTimer);
    clearTimeout(listTimer);
    refreshTimer = null;
    listTimer = null;
    stopPreview();
    if (panelId) closePanel();
    for (const m of models.values()) clearTimeout(m.statusTimer);
    models.clear();
    cards.clear();
    workers.clear();
    queues = null;
    el.grid.replaceChildren();
    draw(el.summary, []);
    el.who.hidden = true;
    el.board.hidden = true;
    el.signIn.hidden = false;
    el.signInError.textContent = message;
    el.signInError.hidden = !message;
    el.token.focus();
  }

  function setBanner(text) {
    el.banner.textContent = text;
    el.banner.hidden = !text;
  }

  // loadMerchants reads the merchants' names, for an operator's cards.
  async function loadMerchants() {
    try {
      const list = await api('GET', '/v1/merchants');
      merchants = new Map(list.items.map((m) => [m.id, m.name]));
    } catch (e) {
      // Names are a nicety; the ids still show.
    }
  }

  let probed = false;
  // probeRole tells an operator from a merchant over REST, for when the
  // websocket (whose hello says who we are) cannot be reached.
  async function probeRole() {
    if (probed || role) return;
    probed = true;
    try {
      const list = await api('GET', '/v1/merchants');
      setWho('operator', '');
      merchants = new Map(list.items.map((m) => [m.id, m.name]));
    } catch (e) {
      if (e.status === 403) setWho('merchant', '');
    }
    markDirty(null);
  }

  async function start() {
    const gen = generation;
    el.signIn.hidden = true;
    el.board.hidden = false;
    el.who.hidden = false;
    setWho('', '');
    setConn('connecting', 'connecting…');
    merchants = new Map();
    probed = false;
    feed = new Feed();
    feed.open();
    // Who we are (and, for an operator, the merchants' names) before the
    // first drawing, but not at any cost.
    await Promise.race([feed.roleReady, new Promise((resolve) => setTimeout(resolve, 4000))]);
    if (gen !== generation) return;
    await refreshAll();
    if (gen !== generation) return;
    scheduleRefresh();
  }

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && token && feed) refreshAll();
  });

  // One-off alerts expire; redraw the cards that hold some.
  setInterval(() => {
    for (const m of models.values()) {
      for (const a of m.alerts.values()) {
        if (a.expires && a.expires < Date.now()) {
          markDirty(m.id);
          break;
        }
      }
    }
  }, 10000);

  if (token) {
    start();
  } else {
    el.signIn.hidden = false;
    el.token.focus();
  }
})();
