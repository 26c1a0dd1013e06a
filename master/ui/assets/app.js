// headroom's web UI: every figure comes from the master's HTTP API (the one
// the CLI uses), called with the bearer token kept in sessionStorage.
'use strict';

(function () {
  const TOKEN_KEY = 'headroom.token';
  const REFRESH_MS = 3000;
  const TAIL_MS = 1000;
  const GiB = 1 << 30;
  const MiB = 1 << 20;

  // page is the view being shown: its timers stop when another is.
  let page = { timers: [], charts: [], gen: 0 };

  // ---- DOM helpers: text goes in as text, never as markup. ----
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  const $ = (sel, el) => (el || document).querySelector(sel);
  function main(...kids) {
    const m = $('#main');
    m.replaceChildren(...kids);
    return m;
  }

  // ---- formatting ----
  const cpus = (v) => (v === undefined || v === null ? '-' : Number(v).toFixed(2));
  function bytes(v) {
    if (v === undefined || v === null) return '-';
    if (Math.abs(v) >= GiB) return (v / GiB).toFixed(2) + ' GiB';
    return (v / MiB).toFixed(0) + ' MiB';
  }
  function when(ts) {
    if (!ts) return '-';
    const d = new Date(ts);
    if (isNaN(d)) return String(ts);
    const ago = (Date.now() - d.getTime()) / 1000;
    const rel = Math.abs(ago) < 90 ? Math.round(ago) + ' s' : Math.abs(ago) < 5400 ? Math.round(ago / 60) + ' min' : Math.round(ago / 3600) + ' h';
    return ago >= 0 ? rel + ' ago' : 'in ' + rel.replace('-', '');
  }
  // ENDED are the terminal task states (api.TaskState.IsTerminal): an
  // ended task holds nothing.
  const ENDED = /^TASK_(FINISHED|FAILED|KILLED|PREEMPTED|LOST|GONE|ERROR|DROPPED)$/;
  const stateSpan = (s) => h('span', { class: 'state-' + String(s || '').toLowerCase().replace(/^task_/, '') }, s || '-');
  const res = (r) => (r ? cpus(r.cpus) + ' CPU, ' + bytes(r.mem_bytes) : '-');
  const attrs = (m) => Object.entries(m || {}).map(([k, v]) => k + '=' + v).join(', ');

  // ---- the API ----
  const token = () => sessionStorage.getItem(TOKEN_KEY) || '';

  class APIError extends Error {
    constructor(status, body) {
      let msg = typeof body === 'string' ? body : (body && body.message) || 'request failed';
      if (body && typeof body.details === 'string') msg += ': ' + body.details;
      super(status + ' ' + msg);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const opt = { method, headers: {} };
    if (token()) opt.headers.Authorization = 'Bearer ' + token();
    if (body !== undefined) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const r = await fetch(path, opt);
    const text = await r.text();
    let data = text;
    try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON: keep the text */ }
    if (!r.ok) throw new APIError(r.status, data);
    return data;
  }
  const get = (path) => api('GET', path);
  const enc = encodeURIComponent;
  const appPath = (id) => '/v2/apps/' + String(id).replace(/^\//, '').split('/').map(enc).join('/');

  function flash(msg, info) {
    const f = $('#flash');
    f.replaceChildren(msg ? h('div', { class: 'msg' + (info ? ' info' : '') }, msg) : '');
  }
  function showError(err) {
    if (err && err.status === 401) flash('The master wants a bearer token: enter one above (an operator or reader credential, docs/security.md).');
    else if (err && err.status === 403) flash('This token may not do that: ' + err.message);
    else flash(err ? err.message : 'request failed');
  }

  // act runs an action from a button and refreshes the page after it.
  async function act(what, f) {
    try {
      await f();
      flash(what + ': done', true);
      render();
    } catch (err) {
      showError(err);
    }
  }

  // confirmButton asks for a second click instead of a blocking dialog.
  function confirmButton(label, f) {
    const b = h('button', { class: 'danger', type: 'button' }, label);
    let armed = false;
    b.addEventListener('click', () => {
      if (!armed) {
        armed = true;
        b.classList.add('armed');
        b.textContent = 'Confirm ' + label.toLowerCase();
        page.timers.push(setTimeout(() => { armed = false; b.classList.remove('armed'); b.textContent = label; }, 4000));
        return;
      }
      f();
    });
    return b;
  }

  // every runs f now and every ms while the page is shown.
  function every(ms, f) {
    const gen = page.gen;
    const tick = async () => {
      if (gen !== page.gen) return;
      try {
        await f();
        $('#updated').textContent = 'Updated ' + new Date().toLocaleTimeString() + '.';
      } catch (err) {
        showError(err);
      }
      if (gen === page.gen) page.timers.push(setTimeout(tick, ms));
    };
    tick();
  }

  // ---- tables: sortable, filterable ----
  // cols: [{label, key(row) -> sortable value, cell(row) -> node/text, num}]
  function table(cols, rows, opts) {
    opts = opts || {};
    const st = opts.state || { col: opts.sort || 0, dir: 1, filter: '' };
    const tbody = h('tbody');
    const ths = cols.map((c, i) => h('th', {
      class: 'sortable' + (c.num ? ' num' : ''),
      onclick: () => { st.dir = st.col === i ? -st.dir : 1; st.col = i; draw(); },
    }, c.label));
    function draw() {
      ths.forEach((th, i) => { th.classList.toggle('sorted-asc', i === st.col && st.dir > 0); th.classList.toggle('sorted-desc', i === st.col && st.dir < 0); });
      const f = st.filter.toLowerCase();
      const shown = rows.filter((r) => !f || cols.some((c) => String(c.key(r)).toLowerCase().includes(f)));
      const key = cols[st.col].key;
      shown.sort((a, b) => { const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * st.dir; });
      tbody.replaceChildren(...shown.map((r) => h('tr', { 'data-id': opts.id ? opts.id(r) : null },
        ...cols.map((c) => h('td', { class: [c.num ? 'num' : '', c.cls || ''].join(' ').trim() }, c.cell ? c.cell(r) : c.key(r))))));
      if (!shown.length) tbody.append(h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, opts.empty || 'Nothing here.')));
    }
    draw();
    const t = h('table', { id: opts.tableId }, h('thead', {}, h('tr', {}, ...ths)), tbody);
    if (!opts.filter) return t;
    const input = h('input', { type: 'search', placeholder: 'filter', value: st.filter, 'aria-label': 'filter',
      oninput: (e) => { st.filter = e.target.value; draw(); } });
    return h('div', {}, h('div', { class: 'toolbar' }, input), t);
  }

  // tableState keeps sort and filter across refreshes of one page.
  function tableState(sort) { return { col: sort || 0, dir: 1, filter: '' }; }

  // ---- charts (uPlot) ----
  const SERIES = [
    { key: 'business', label: 'business (predicted peak)', color: '#8250df' },
    { key: 'batch', label: 'batch use', color: '#1f6feb' },
    { key: 'harvest', label: 'harvest estimate', color: '#1a7f37' },
    { key: 'reserved', label: 'reservation applied', color: '#b35900' },
  ];

  // merge joins the coarse series (older) and the fine one: coarse
  // buckets are stamped with their start.
  function merge(view) {
    const fine = view.fine, coarse = view.coarse;
    const start = fine.t.length ? fine.t[0] : Infinity;
    const out = {};
    for (const k of Object.keys(fine)) if (Array.isArray(fine[k])) out[k] = [];
    // A coarse bucket that reaches into the fine series is in it already.
    coarse.t.forEach((t, i) => { if (t + coarse.step_seconds <= start) for (const k of Object.keys(out)) out[k].push(coarse[k] ? coarse[k][i] : null); });
    fine.t.forEach((t, i) => { for (const k of Object.keys(out)) out[k].push(fine[k][i]); });
    return out;
  }

  // chart draws one resource of a series: unit "cpus" or "mem_bytes".
  function chart(el, title, s, unit, changes) {
    const data = [s.t].concat(SERIES.map((x) => (s[x.key + '_' + unit] || []).map((v) => (unit === 'mem_bytes' ? v / GiB : v))));
    const points = s.t.length;
    el.replaceChildren(h('div', { class: 'title' }, title));
    el.setAttribute('data-points', String(points));
    if (!points) {
      el.append(h('div', { class: 'muted small' }, 'No heartbeats recorded yet.'));
      return null;
    }
    if (typeof uPlot === 'undefined') {
      el.append(h('div', { class: 'muted small' }, 'The chart library did not load.'));
      return null;
    }
    const width = Math.max(320, el.clientWidth - 16);
    const marks = (changes || []).filter((c) => unit.startsWith(c.resource));
    const opts = {
      width, height: 220,
      series: [{}].concat(SERIES.map((x) => ({ label: x.label, stroke: x.color, width: 1.5, value: (u, v) => (v === null || v === undefined ? '-' : v.toFixed(2)) }))),
      axes: [{}, { label: unit === 'mem_bytes' ? 'GiB' : 'cores', size: 60 }],
      scales: {
        // At least the last ten minutes, so that a few points do not
        // stretch the axis over years.
        x: { time: true, range: () => [Math.min(s.t[0], s.t[points - 1] - 600), s.t[points - 1] + 15] },
        y: { range: (u, min, max) => [0, Math.max(max * 1.1, 0.1)] },
      },
      hooks: {
        draw: [(u) => {
          // The reservation's changes, as dashed lines at their times.
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = '#b35900';
          ctx.setLineDash([4, 4]);
          for (const c of marks) {
            const x = u.valToPos(c.t, 'x', true);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        }],
      },
    };
    const holder = h('div');
    el.append(holder);
    const u = new uPlot(opts, data, holder);
    page.charts.push(u);
    return u;
  }

  // ---- pages ----
  async function overview() {
    const cards = h('div', { class: 'cards' });
    const badges = h('div', { class: 'badges' });
    const cpuChart = h('div', { class: 'chart', id: 'cluster-cpu' });
    const memChart = h('div', { class: 'chart', id: 'cluster-mem' });
    const counts = h('div', { class: 'grid2' });
    main(h('h1', {}, 'Cluster'), badges, cards, h('div', { class: 'grid2' }, cpuChart, memChart), counts);
    every(REFRESH_MS * 2, async () => {
      const [sum, agents, tasks, leader, hist] = await Promise.all([
        get('/api/v1/state'), get('/api/v1/agents'), get('/api/v1/tasks'), get('/api/v1/leader'), get('/api/v1/history')]);
      const pool = (n) => (sum.pools && sum.pools[n]) || { total: {}, used: {}, offered: {} };
      const rev = pool('revocable'), ded = pool('dedicated');
      const last = (a) => (a && a.length ? a[a.length - 1] : 0);
      const f = hist.fine;
      const card = (label, value, sub) => h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), h('div', { class: 'sub' }, sub || ''));
      cards.replaceChildren(
        card('Harvest (revocable pool)', cpus(rev.total.cpus) + ' CPU', bytes(rev.total.mem_bytes)),
        card('Batch use', cpus(rev.used.cpus) + ' CPU', bytes(rev.used.mem_bytes) + ' of the harvest'),
        card('Business (predicted peak)', cpus(last(f.business_cpus)) + ' CPU', bytes(last(f.business_mem_bytes))),
        card('Dedicated pool', cpus(ded.total.cpus) + ' CPU', bytes(ded.total.mem_bytes) + ', ' + cpus(ded.used.cpus) + ' CPU used'),
        card('Outstanding offers', String(sum.outstanding_offers), (sum.counters && sum.counters.launches) + ' launches'),
        card('Leader', leader.leading ? 'this master' : 'another master', leader.leader || '-'));
      const unreachable = (sum.agents && sum.agents.unreachable) || 0;
      const degraded = agents.filter((a) => a.estimate && a.estimate.degraded).length;
      const hour = Date.now() - 3600e3;
      const evictions = tasks.filter((t) => /^preempted_/.test(t.reason || '') && new Date(t.updated).getTime() > hour).length;
      const badge = (n, label, cls) => h('span', { class: 'badge ' + (n ? cls : 'ok') }, n + ' ' + label);
      badges.replaceChildren(badge(unreachable, 'agents unreachable', 'bad'), badge(degraded, 'degraded monitors', 'warn'), badge(evictions, 'evictions in the last hour', 'warn'));
      const merged = merge(hist);
      chart(cpuChart, 'CPU over the cluster', merged, 'cpus');
      chart(memChart, 'Memory over the cluster', merged, 'mem_bytes');
      const countTable = (title, m) => h('div', {}, h('h2', {}, title), table(
        [{ label: 'state', key: (r) => r[0], cell: (r) => stateSpan(r[0]) }, { label: 'count', key: (r) => r[1], num: true }],
        Object.entries(m || {})));
      counts.replaceChildren(
        countTable('Agents', sum.agents), countTable('Tasks', sum.tasks),
        h('div', {}, h('h2', {}, 'Frameworks'), h('p', {}, sum.frameworks + ' external (' + sum.frameworks_connected + ' connected), ' + sum.apps + ' apps.')),
        h('div', {}, h('h2', {}, 'Masters'), h('p', {}, 'Leader: ', leader.leader || '-', h('br'), 'This one: ', leader.self || '-')));
    });
  }

  async function agentsPage() {
    const st = tableState(0);
    const box = h('div');
    main(h('h1', {}, 'Agents'), box);
    every(REFRESH_MS, async () => {
      const agents = await get('/api/v1/agents');
      const filter = $('input[type=search]', box);
      if (filter) st.filter = filter.value;
      const had = document.activeElement && document.activeElement.type === 'search';
      box.replaceChildren(table([
        { label: 'host', key: (a) => a.hostname, cell: (a) => h('a', { href: '#/agents/' + enc(a.id) }, a.hostname) },
        { label: 'state', key: (a) => a.state, cell: (a) => stateSpan(a.state) },
        { label: 'harvest CPU', key: (a) => a.estimate.harvestable_cpus, cell: (a) => cpus(a.estimate.harvestable_cpus), num: true },
        { label: 'harvest memory', key: (a) => a.estimate.harvestable_mem_bytes, cell: (a) => bytes(a.estimate.harvestable_mem_bytes), num: true },
        { label: 'bound by', key: (a) => (a.estimate.cpu_reason || '') + ' ' + (a.estimate.mem_reason || ''), cell: (a) => 'cpu: ' + (a.estimate.cpu_reason || '-') + ', mem: ' + (a.estimate.mem_reason || '-') + (a.estimate.degraded ? ' (degraded)' : '') },
        { label: 'tasks', key: (a) => a.tasks, num: true },
        { label: 'attributes', key: (a) => attrs(a.attributes) },
        { label: 'last heartbeat', key: (a) => a.last_seen || '', cell: (a) => when(a.last_seen) },
      ], agents, { filter: true, state: st, id: (a) => a.id, tableId: 'agents-table', empty: 'No agent registered.' }));
      if (had) { const f = $('input[type=search]', box); f.focus(); }
    });
  }

  async function hostPage(id) {
    const head = h('div');
    const cpuChart = h('div', { class: 'chart', id: 'host-cpu' });
    const memChart = h('div', { class: 'chart', id: 'host-mem' });
    const changes = h('div');
    const override = h('div');
    const attrBox = h('div');
    const tasksBox = h('div');
    main(h('p', {}, h('a', { href: '#/agents' }, 'Agents'), ' / ', id), head,
      h('div', { class: 'grid2' }, cpuChart, memChart), changes,
      h('div', { class: 'grid2' }, override, attrBox), h('h2', {}, 'Tasks'), tasksBox);

    // The forms are drawn once, so typing is not lost to a refresh.
    const mode = h('select', { id: 'override-mode' }, h('option', { value: 'cap' }, 'cap (at most)'), h('option', { value: 'fixed' }, 'fixed'));
    const ocpus = h('input', { id: 'override-cpus', class: 'narrow', type: 'number', step: '0.1', min: '0', placeholder: 'CPUs' });
    const omem = h('input', { id: 'override-mem', class: 'narrow', type: 'number', step: '64', min: '0', placeholder: 'MiB' });
    const current = h('dl', { class: 'kv', id: 'override-current' });
    override.append(h('fieldset', {}, h('legend', {}, 'Reservation'), current,
      h('form', { class: 'toolbar', id: 'override-form', onsubmit: (e) => {
        e.preventDefault();
        const body = { mode: mode.value, cpus: Number(ocpus.value || 0), mem_bytes: Math.round(Number(omem.value || 0) * MiB) };
        act('override set', () => api('PUT', '/api/v1/agents/' + enc(id) + '/reservation', body));
      } }, mode, ocpus, 'CPUs', omem, 'MiB', h('button', { class: 'primary', type: 'submit', id: 'override-set' }, 'Set override'),
      h('button', { type: 'button', id: 'override-clear', onclick: () => act('override cleared', () => api('DELETE', '/api/v1/agents/' + enc(id) + '/reservation')) }, 'Clear'))));
    const attrText = h('textarea', { id: 'attributes-text', class: 'json', rows: 4, placeholder: 'key=value, one a line' });
    let attrLoaded = false;
    attrBox.append(h('fieldset', {}, h('legend', {}, 'Dynamic attributes'), attrText,
      h('div', { class: 'toolbar' }, h('button', { type: 'button', id: 'attributes-save', onclick: () => {
        const m = {};
        for (const line of attrText.value.split('\n')) {
          const l = line.trim();
          if (!l) continue;
          const i = l.indexOf('=');
          if (i < 0) { flash('attribute line "' + l + '" is not key=value'); return; }
          m[l.slice(0, i).trim()] = l.slice(i + 1).trim();
        }
        act('attributes saved', () => api('PUT', '/api/v1/agents/' + enc(id) + '/attributes', m));
      } }, 'Save attributes'))));

    every(REFRESH_MS, async () => {
      const [agents, hist, tasks] = await Promise.all([get('/api/v1/agents'), get('/api/v1/history?agent=' + enc(id)).catch((e) => {
        if (e.status === 404) return null;
        throw e;
      }), get('/api/v1/tasks')]);
      const a = agents.find((x) => x.id === id);
      if (!a) { head.replaceChildren(h('p', { class: 'errors' }, 'No agent ' + id + ' in the registry.')); return; }
      head.replaceChildren(h('h1', {}, a.hostname), h('dl', { class: 'kv' },
        h('dt', {}, 'state'), h('dd', {}, stateSpan(a.state)),
        h('dt', {}, 'id / URL'), h('dd', {}, a.id + ' at ' + a.url),
        h('dt', {}, 'harvest'), h('dd', {}, cpus(a.estimate.harvestable_cpus) + ' CPU (' + (a.estimate.cpu_reason || '-') + '), ' + bytes(a.estimate.harvestable_mem_bytes) + ' (' + (a.estimate.mem_reason || '-') + ')'),
        h('dt', {}, 'offered / used'), h('dd', {}, res(a.revocable) + ' / ' + res(a.used)),
        h('dt', {}, 'attributes'), h('dd', {}, attrs(a.attributes) || '-'),
        h('dt', {}, 'last heartbeat'), h('dd', {}, when(a.last_seen))));
      if (!attrLoaded) { attrText.value = Object.entries(a.dynamic_attributes || {}).map(([k, v]) => k + '=' + v).join('\n'); attrLoaded = true; }
      const s = hist ? hist.fine : { t: [] };
      chart(cpuChart, 'CPU (last hour)', s, 'cpus', hist && hist.changes);
      chart(memChart, 'Memory (last hour)', s, 'mem_bytes', hist && hist.changes);
      const ch = ((hist && hist.changes) || []).slice().reverse();
      changes.replaceChildren(h('h2', {}, 'Reservation changes'), table([
        { label: 'when', key: (c) => c.t, cell: (c) => new Date(c.t * 1000).toLocaleTimeString() },
        { label: 'resource', key: (c) => c.resource },
        { label: 'from', key: (c) => c.from, cell: (c) => (c.resource === 'mem' ? bytes(c.from) : cpus(c.from)), num: true },
        { label: 'to', key: (c) => c.to, cell: (c) => (c.resource === 'mem' ? bytes(c.to) : cpus(c.to)), num: true },
        { label: 'reason', key: (c) => c.reason },
      ], ch, { empty: 'No change in the last hour.', tableId: 'changes-table' }));
      try {
        const state = await get('/api/v1/agents/' + enc(id) + '/state');
        const o = state.override;
        current.replaceChildren(
          h('dt', {}, 'override'), h('dd', { id: 'override-now' }, o ? o.mode + ': ' + cpus(o.cpus) + ' CPU, ' + bytes(o.mem_bytes) : 'none (the estimate applies)'),
          h('dt', {}, 'applied'), h('dd', { id: 'applied-now' }, cpus(state.applied.cpus) + ' CPU, ' + bytes(state.applied.mem_bytes)),
          h('dt', {}, 'evictions'), h('dd', {}, Object.entries(state.evictions || {}).map(([k, v]) => k + ': ' + v).join(', ') || 'none'));
      } catch (err) {
        current.replaceChildren(h('dt', {}, 'agent'), h('dd', { class: 'errors' }, err.message));
      }
      tasksBox.replaceChildren(taskTable(tasks.filter((t) => t.agent_id === id), tableState(0)));
    });
  }

  function taskTable(tasks, st) {
    return table([
      { label: 'task', key: (t) => t.id, cell: (t) => h('a', { href: '#/tasks/' + enc(t.id) }, t.id) },
      { label: 'state', key: (t) => t.state, cell: (t) => stateSpan(t.state) },
      { label: 'host', key: (t) => t.hostname, cell: (t) => h('a', { href: '#/agents/' + enc(t.agent_id) }, t.hostname) },
      { label: 'resources', key: (t) => t.resources.cpus, cell: (t) => res(t.resources) + (t.revocable ? ' (revocable)' : '') },
      { label: 'framework', key: (t) => t.framework_id },
      { label: 'why', key: (t) => t.reason || '', cell: (t) => [t.reason || '', t.message ? h('div', { class: 'muted small' }, t.message) : ''] },
      { label: 'updated', key: (t) => t.updated || '', cell: (t) => when(t.updated) },
    ], tasks, { filter: true, state: st, id: (t) => t.id, tableId: 'tasks-table', empty: 'No task.' });
  }

  const EXAMPLE_APP = '{\n  "id": "/demo/sleeper",\n  "cmd": "while true; do echo working; sleep 5; done",\n  "cpus": 0.1,\n  "mem": 32,\n  "instances": 1\n}';

  async function appsPage() {
    const text = h('textarea', { id: 'app-json', class: 'json', spellcheck: 'false' });
    text.value = EXAMPLE_APP;
    const errs = h('ul', { class: 'errors', id: 'app-errors' });
    const list = h('div');
    const deps = h('div');
    const deploy = async () => {
      errs.replaceChildren();
      try {
        await api('POST', '/v2/apps', text.value);
        flash('app deployed', true);
        render();
      } catch (err) {
        if (err.body && Array.isArray(err.body.details)) {
          // Marathon's 422: the field errors, each by its path.
          errs.replaceChildren(...err.body.details.flatMap((d) => d.errors.map((e) => h('li', { class: 'field-error', 'data-path': d.path }, d.path + ': ' + e))));
        } else if (err.body && err.body.message) {
          errs.replaceChildren(h('li', { class: 'field-error' }, err.body.message + (err.body.details ? ': ' + (typeof err.body.details === 'string' ? err.body.details : JSON.stringify(err.body.details)) : '')));
        } else {
          showError(err);
        }
      }
    };
    const st = tableState(0);
    main(h('h1', {}, 'Apps'), list, h('h2', {}, 'Deployments'), deps,
      h('fieldset', {}, h('legend', {}, 'Deploy an app (Marathon JSON)'), text, errs,
        h('div', { class: 'toolbar' }, h('button', { class: 'primary', type: 'button', id: 'app-deploy', onclick: deploy }, 'Deploy'))));
    // The scale inputs keep what is typed in them across refreshes.
    const scaleInputs = {};
    every(REFRESH_MS, async () => {
      const [apps, dl] = await Promise.all([get('/v2/apps'), get('/v2/deployments')]);
      const filter = $('input[type=search]', list);
      if (filter) st.filter = filter.value;
      list.replaceChildren(table([
        { label: 'app', key: (a) => a.id },
        { label: 'instances', key: (a) => a.instances, num: true },
        { label: 'running', key: (a) => a.tasksRunning, cell: (a) => h('span', { class: 'running' }, String(a.tasksRunning)), num: true },
        { label: 'waiting', key: (a) => a.tasksWaiting, num: true },
        { label: 'why waiting', key: (a) => a.reason || '', cell: (a) => [a.reason || '', a.lastTaskFailure ? h('div', { class: 'muted small' }, 'last failure: ' + a.lastTaskFailure) : ''] },
        { label: 'resources', key: (a) => a.cpus, cell: (a) => cpus(a.cpus) + ' CPU, ' + a.mem + ' MiB' },
        { label: 'actions', key: (a) => a.id, cell: (a) => {
          const inp = scaleInputs[a.id] || (scaleInputs[a.id] = h('input', { class: 'narrow scale', type: 'number', min: '0', value: a.instances, 'aria-label': 'instances' }));
          return h('span', { class: 'toolbar' }, inp,
            h('button', { type: 'button', class: 'scale-btn', onclick: () => act('scaled', () => api('PUT', appPath(a.id), { instances: Number(inp.value) })) }, 'Scale'),
            h('button', { type: 'button', class: 'restart-btn', onclick: () => act('restarted', () => api('POST', appPath(a.id) + '/restart')) }, 'Restart'),
            confirmButton('Delete', () => act('deleted', () => api('DELETE', appPath(a.id)))));
        } },
      ], apps.apps || [], { filter: true, state: st, id: (a) => String(a.id).replace(/^\//, ''), tableId: 'apps-table', empty: 'No app.' }));
      const rows = Array.isArray(dl) ? dl : [];
      const keys = rows.length ? Object.keys(rows[0]) : ['id'];
      deps.replaceChildren(table(keys.map((k) => ({ label: k, key: (d) => (typeof d[k] === 'object' ? JSON.stringify(d[k]) : d[k]) })), rows, { empty: 'No deployment in progress.', tableId: 'deployments-table' }));
    });
  }

  async function jobsPage() {
    const box = h('div');
    main(h('h1', {}, 'Jobs'), box);
    every(REFRESH_MS * 2, async () => {
      const jobs = await get('/v1/jobs');
      const runs = await Promise.all(jobs.map((j) => get('/v1/jobs/' + enc(j.id) + '/runs').catch(() => ({ active: [], history: [] }))));
      box.replaceChildren(...(jobs.length ? [] : [h('p', { class: 'muted' }, 'No job.')]), ...jobs.map((j, i) => {
        const r = runs[i];
        const run = (x) => h('tr', { 'data-run': x.id },
          h('td', {}, x.id), h('td', {}, stateSpan(x.status)), h('td', {}, when(x.createdAt)), h('td', {}, when(x.finishedAt)),
          h('td', {}, r.active.some((a) => a.id === x.id) ? h('button', { type: 'button', onclick: () => act('run stopped', () => api('POST', '/v1/jobs/' + enc(j.id) + '/runs/' + enc(x.id) + '/actions/stop')) }, 'Stop') : ''));
        return h('fieldset', { class: 'job' }, h('legend', {}, j.id),
          h('dl', { class: 'kv' },
            h('dt', {}, 'command'), h('dd', {}, (j.run && (j.run.cmd || (j.run.args || []).join(' '))) || '-'),
            h('dt', {}, 'schedules'), h('dd', {}, (j.schedules || []).map((s) => s.id + ': ' + s.cron + ' (' + (s.timezone || 'UTC') + ')' + (s.enabled ? '' : ' disabled') + ', next ' + when(j.nextRuns && j.nextRuns[s.id])).join('; ') || 'none (runs on demand)'),
            h('dt', {}, 'outcomes'), h('dd', {}, j.summary.successCount + ' succeeded, ' + j.summary.failureCount + ' failed; ' + j.activeRuns + ' active')),
          h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'primary', onclick: () => act('run started', () => api('POST', '/v1/jobs/' + enc(j.id) + '/runs')) }, 'Run now')),
          h('table', { class: 'runs' }, h('thead', {}, h('tr', {}, h('th', {}, 'run'), h('th', {}, 'status'), h('th', {}, 'created'), h('th', {}, 'finished'), h('th', {}, ''))),
            h('tbody', {}, ...(r.active.length + r.history.length ? r.active.concat(r.history.slice().reverse()).slice(0, 20).map(run)
              : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No run yet.'))]))));
      }));
    });
  }

  async function frameworksPage() {
    const box = h('div');
    main(h('h1', {}, 'Frameworks'), box);
    every(REFRESH_MS, async () => {
      // builtin=true: the master's own apps and jobs frameworks too, so
      // that every offer outstanding is on some row.
      const [fws, tasks] = await Promise.all([get('/api/v1/frameworks?builtin=true'), get('/api/v1/tasks')]);
      const held = {};
      for (const t of tasks) {
        if (ENDED.test(t.state)) continue;
        const x = held[t.framework_id] || (held[t.framework_id] = { cpus: 0, mem_bytes: 0 });
        x.cpus += t.resources.cpus || 0;
        x.mem_bytes += t.resources.mem_bytes || 0;
      }
      const outstanding = fws.reduce((n, f) => n + (f.offers_outstanding || 0), 0);
      const external = fws.filter((f) => !f.builtin).length;
      box.replaceChildren(h('p', { class: 'muted' }, outstanding + (outstanding === 1 ? ' offer' : ' offers') + ' outstanding over the cluster; the master\'s own frameworks and ' + external + ' external one' + (external === 1 ? '' : 's') + '.'), table([
        { label: 'framework', key: (f) => f.name, cell: (f) => [f.name, h('div', { class: 'muted small' }, f.id)] },
        { label: 'connected', key: (f) => (f.builtin ? 'built-in' : f.connected ? 'connected' : 'disconnected'), cell: (f) => (f.builtin ? h('span', { class: 'state-connected' }, 'built-in') : stateSpan(f.connected ? 'connected' : 'disconnected')) },
        { label: 'role', key: (f) => f.role },
        { label: 'tasks', key: (f) => f.active_tasks, num: true },
        { label: 'resources held', key: (f) => (held[f.id] || {}).cpus || 0, cell: (f) => res(held[f.id] || { cpus: 0, mem_bytes: 0 }) },
        { label: 'offers outstanding', key: (f) => f.offers_outstanding || 0, num: true, cls: 'offers-outstanding' },
        { label: 'offers sent', key: (f) => f.offers_sent, cell: (f) => (f.builtin ? '-' : String(f.offers_sent)), num: true },
        { label: 'why no offer', key: (f) => f.reason || '' },
        { label: '', key: (f) => f.id, cell: (f) => (f.builtin ? '' : confirmButton('Teardown', () => act('torn down', () => api('POST', '/api/v1/frameworks/' + enc(f.id) + '/teardown')))) },
      ], fws, { empty: 'No framework.', tableId: 'frameworks-table', id: (f) => f.id }));
    });
  }

  async function tasksPage() {
    const st = tableState(6);
    st.dir = -1;
    const box = h('div');
    main(h('h1', {}, 'Tasks'), box);
    every(REFRESH_MS, async () => {
      const tasks = await get('/api/v1/tasks');
      const filter = $('input[type=search]', box);
      if (filter) st.filter = filter.value;
      const had = document.activeElement && document.activeElement.type === 'search';
      box.replaceChildren(taskTable(tasks, st));
      if (had) $('input[type=search]', box).focus();
    });
  }

  async function taskPage(id) {
    const head = h('div');
    const panes = {};
    const logs = h('div', { class: 'grid2' });
    for (const name of ['stdout', 'stderr']) {
      panes[name] = { pre: h('pre', { class: 'log', id: 'log-' + name }), offset: null };
      logs.append(h('div', {}, h('h2', {}, name), panes[name].pre));
    }
    main(h('p', {}, h('a', { href: '#/tasks' }, 'Tasks'), ' / ', id), head, logs);
    every(REFRESH_MS, async () => {
      const t = (await get('/api/v1/tasks')).find((x) => x.id === id);
      if (!t) { head.replaceChildren(h('p', { class: 'errors' }, 'No task ' + id + '.')); return; }
      head.replaceChildren(h('h1', {}, t.id), h('dl', { class: 'kv' },
        h('dt', {}, 'state'), h('dd', {}, stateSpan(t.state), t.reason ? ' (' + t.reason + ')' : ''),
        h('dt', {}, 'host'), h('dd', {}, h('a', { href: '#/agents/' + enc(t.agent_id) }, t.hostname)),
        h('dt', {}, 'resources'), h('dd', {}, res(t.resources) + (t.revocable ? ', revocable' : '')),
        h('dt', {}, 'framework'), h('dd', {}, t.framework_id),
        h('dt', {}, 'message'), h('dd', {}, t.message || '-')),
        /running|staging|starting|killing/.test(t.state) ? h('div', { class: 'toolbar' }, confirmButton('Kill', () => act('kill sent', () => api('POST', '/api/v1/tasks/' + enc(id) + '/kill')))) : '');
    });
    // The tail: from the last 64 KiB, then whatever is appended; a size
    // below the offset means the log was rotated.
    const base = '/api/v1/tasks/' + enc(id) + '/files/read?path=';
    every(TAIL_MS, async () => {
      for (const name of Object.keys(panes)) {
        const p = panes[name];
        let c;
        try {
          if (p.offset === null) {
            c = await get(base + name + '&offset=-1');
            p.offset = Math.max(0, c.size - 65536);
          }
          c = await get(base + name + '&offset=' + p.offset);
        } catch (err) {
          if (err.status === 404) { p.pre.textContent = 'No ' + name + ' yet (' + err.message + ').'; p.offset = null; continue; }
          if (err.status === 403) { p.pre.textContent = "Reading a task's files needs an operator's token: they may hold what the task was given in confidence."; p.offset = null; continue; }
          throw err;
        }
        if (c.size < p.offset) { p.offset = 0; p.pre.textContent = ''; continue; }
        if (!c.data) continue;
        if (p.pre.textContent.startsWith('No ')) p.pre.textContent = '';
        const stick = p.pre.scrollTop + p.pre.clientHeight >= p.pre.scrollHeight - 4;
        p.pre.append(c.data);
        p.offset = c.offset + c.length;
        if (stick) p.pre.scrollTop = p.pre.scrollHeight;
      }
    });
  }

  // ---- routing ----
  const routes = [
    [/^#?\/?$/, overview, '#/'],
    [/^#\/agents$/, agentsPage, '#/agents'],
    [/^#\/agents\/(.+)$/, hostPage, '#/agents'],
    [/^#\/apps$/, appsPage, '#/apps'],
    [/^#\/jobs$/, jobsPage, '#/jobs'],
    [/^#\/frameworks$/, frameworksPage, '#/frameworks'],
    [/^#\/tasks$/, tasksPage, '#/tasks'],
    [/^#\/tasks\/(.+)$/, taskPage, '#/tasks'],
  ];

  function render() {
    for (const t of page.timers) clearTimeout(t);
    for (const c of page.charts) c.destroy();
    page = { timers: [], charts: [], gen: page.gen + 1 };
    const hash = location.hash || '#/';
    for (const [re, f, nav] of routes) {
      const m = hash.match(re);
      if (!m) continue;
      for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === nav);
      f(...m.slice(1).map(decodeURIComponent));
      return;
    }
    main(h('h1', {}, 'Not found'), h('p', {}, 'No page ' + hash + '.'));
  }

  function loginForm() {
    const input = $('#token');
    const who = () => { $('#whoami').textContent = token() ? 'token set for this session' : 'no token'; };
    $('#login').addEventListener('submit', (e) => {
      e.preventDefault();
      if (input.value) sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      input.value = '';
      who();
      flash('');
      render();
    });
    $('#login-clear').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); who(); render(); });
    who();
  }

  window.addEventListener('hashchange', () => { flash(''); render(); });
  window.addEventListener('DOMContentLoaded', () => { loginForm(); render(); });
})();
