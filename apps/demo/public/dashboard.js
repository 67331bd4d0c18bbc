// The dashboard of one demo node: it talks only to the node that served it, which forwards to the leader.

const POLL_MS = 500;
const REQUEST_TIMEOUT_MS = 2_000;
/** The leader hears from each follower every heartbeat (100 ms by default): a second of silence is a lost member. */
const UNREACHABLE_MS = 1_000;
const CHART_SECONDS = 60;
const FEED_MAX = 200;

const $ = (id) => document.getElementById(id);

// ---- cluster status ----

let polling = false;
/** appliedIndex samples of this node, for the writes/s chart. */
const samples = [];

async function getJson(path, init = {}) {
  const response = await fetch(path, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = response.headers.get('content-type')?.includes('json') ? await response.json() : null;
  if (!response.ok) {
    const message = Array.isArray(body?.message) ? body.message.join('; ') : (body?.message ?? '');
    throw new Error(`${response.status} ${message || response.statusText}`);
  }
  return body;
}

async function poll() {
  // A slow answer (an election under way) must not pile requests up behind it.
  if (polling) return;
  polling = true;
  const panels = document.querySelectorAll('#cluster-panel, #node-panel');
  try {
    const [cluster, local, locks] = await Promise.all([
      getJson('cluster'),
      getJson('cluster/local'),
      getJson('locks'),
    ]);
    renderCluster(cluster, local);
    renderLocal(local);
    renderLocks(locks);
    setBadge($('connection'), 'ok', 'connected');
    for (const panel of panels) panel.classList.remove('stale');
  } catch (error) {
    setBadge($('connection'), 'bad', `this node is unreachable (${error.message})`);
    for (const panel of panels) panel.classList.add('stale');
  } finally {
    polling = false;
  }
}

function renderCluster(cluster, local) {
  $('served-by').textContent = `served by ${local.nodeId}`;
  $('leader').textContent = cluster.leader ?? 'none (election under way)';
  $('term').textContent = cluster.term;
  $('commit').textContent = cluster.commitIndex;
  const leaderView = cluster.nodeId === cluster.leader;
  $('view-of').textContent = leaderView ? 'the leader' : `${cluster.nodeId} (no leader answers)`;

  const rows = cluster.members.map((member) => {
    const state = memberState(member, cluster, leaderView, local.nodeId);
    const row = document.createElement('tr');
    row.dataset.member = member.id;
    row.className = [
      member.id === cluster.leader ? 'leader' : '',
      state === 'unreachable' ? 'unreachable' : '',
    ]
      .filter(Boolean)
      .join(' ');
    const cells = [
      member.id,
      member.voter === false ? `${member.role} (learner)` : member.role,
      member.matchIndex ?? '—',
      member.lag ?? '—',
      member.lastContactMs === null ? 'never' : `${member.lastContactMs} ms`,
      state,
    ];
    for (const value of cells) {
      const cell = document.createElement('td');
      cell.textContent = String(value);
      row.append(cell);
    }
    if (member.id === local.nodeId) {
      const mark = document.createElement('span');
      mark.className = 'self-mark';
      mark.textContent = 'this node';
      row.firstChild.append(mark);
    }
    return row;
  });
  $('members').tBodies[0].replaceChildren(...rows);
}

function renderLocks({ holders, lastReport }) {
  $('last-report').textContent = lastReport
    ? `demo-report (one node at a time, every 2 s): run ${lastReport.runs} on ${lastReport.node} at ${lastReport.at}`
    : 'demo-report has not run yet';
  const rows = holders.map((held) => {
    const row = document.createElement('tr');
    for (const value of [held.kind, held.name, held.node, held.token]) {
      const cell = document.createElement('td');
      cell.textContent = String(value);
      row.append(cell);
    }
    return row;
  });
  $('locks').tBodies[0].replaceChildren(...rows);
}

/** Only the leader hears from every member; from another node's view, silence proves nothing. */
function memberState(member, cluster, leaderView, self) {
  if (member.id === self || (leaderView && member.id === cluster.nodeId)) return 'up';
  if (!leaderView && member.id !== cluster.leader) return 'unknown';
  return member.lastContactMs !== null && member.lastContactMs < UNREACHABLE_MS ? 'up' : 'unreachable';
}

function renderLocal(local) {
  $('local-role').textContent = local.role;
  $('local-term').textContent = local.term;
  $('local-commit').textContent = local.commitIndex;
  $('local-applied').textContent = local.appliedIndex;
  samples.push({ at: performance.now(), applied: local.appliedIndex });
  while (samples.length > 1 && samples[0].at < performance.now() - (CHART_SECONDS + 1) * 1000)
    samples.shift();
  drawChart();
}

// ---- writes/s chart ----

/** Rates between consecutive samples, per second. */
function rates() {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const seconds = (samples[i].at - samples[i - 1].at) / 1000;
    out.push({ at: samples[i].at, rate: Math.max(0, samples[i].applied - samples[i - 1].applied) / seconds });
  }
  return out;
}

function drawChart() {
  const canvas = $('chart');
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== width * ratio) canvas.width = width * ratio;
  if (canvas.height !== height * ratio) canvas.height = height * ratio;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const points = rates();
  const latest = points.at(-1)?.rate ?? 0;
  $('rate').textContent = `${latest.toFixed(latest < 10 ? 1 : 0)} now`;
  const max = Math.max(1, ...points.map((p) => p.rate));
  const now = performance.now();
  const x = (at) => width - ((now - at) / (CHART_SECONDS * 1000)) * width;
  const y = (rate) => height - 14 - (rate / max) * (height - 24);

  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#6b7385';
  ctx.fillText(`max ${max.toFixed(max < 10 ? 1 : 0)}/s`, 4, 11);
  ctx.fillText(`${CHART_SECONDS} s`, 4, height - 2);
  if (points.length < 2) return;
  ctx.beginPath();
  points.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.at), y(p.rate)) : ctx.lineTo(x(p.at), y(p.rate))));
  ctx.strokeStyle = '#2f6fde';
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.lineTo(x(points.at(-1).at), height - 14);
  ctx.lineTo(x(points[0].at), height - 14);
  ctx.closePath();
  ctx.fillStyle = 'rgba(47, 111, 222, 0.12)';
  ctx.fill();
}

// ---- live feed (Server-Sent Events) ----

let lastRevision = null;
/** With partitions, revisions are per partition: events carry a cursor to resume from instead. */
let lastCursor = null;

function openFeed(resume) {
  const url = !resume
    ? 'watch'
    : lastCursor !== null
      ? `watch?cursor=${encodeURIComponent(lastCursor)}`
      : lastRevision !== null
        ? `watch?fromRevision=${lastRevision + 1}`
        : 'watch';
  const source = new EventSource(url);
  let received = false;
  source.addEventListener('open', () => setBadge($('feed-state'), 'ok', 'live'));
  source.addEventListener('message', (message) => {
    received = true;
    const change = JSON.parse(message.data);
    lastRevision = change.revision;
    lastCursor = change.cursor ?? null;
    addFeedItem(change);
  });
  source.addEventListener('error', () => {
    // The browser reconnects by itself (sending Last-Event-ID) unless the node refused: then retry here,
    // resuming where the feed stopped unless that very resume was refused (history already discarded).
    if (source.readyState !== EventSource.CLOSED) {
      setBadge($('feed-state'), 'warn', 'reconnecting');
      return;
    }
    setBadge($('feed-state'), 'bad', 'disconnected');
    source.close();
    setTimeout(() => openFeed(received || !resume), 2_000);
  });
}

function addFeedItem(change) {
  const item = document.createElement('li');
  item.dataset.key = change.key;
  const cells = [
    [`#${change.revision}`, ''],
    [change.type, change.type],
    [change.key, 'key'],
    [change.type === 'set' ? JSON.stringify(change.value) : '', 'value'],
  ];
  for (const [text, className] of cells) {
    const span = document.createElement('span');
    span.textContent = text;
    if (className) span.className = className;
    item.append(span);
  }
  const feed = $('feed');
  feed.prepend(item);
  while (feed.children.length > FEED_MAX) feed.lastChild.remove();
}

// ---- key browser ----

function keyPath(key) {
  return `kv/${encodeURIComponent(key)}`;
}

function showResult(text, isError = false) {
  const result = $('kv-result');
  result.textContent = text;
  result.classList.toggle('error', isError);
  result.classList.remove('muted');
}

async function kvAction(action) {
  const key = $('key').value.trim();
  if (!key) return showResult('enter a key', true);
  try {
    if (action === 'get') {
      showResult(JSON.stringify(await getJson(keyPath(key)), null, 2));
    } else if (action === 'delete') {
      const result = await getJson(keyPath(key), { method: 'DELETE' });
      showResult(`deleted "${key}" at revision ${result.revision}`);
    } else {
      const body = { value: parseValue($('value').value) };
      if ($('ttl').value) body.ttl = Number($('ttl').value);
      const result = await getJson(keyPath(key), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      showResult(`set "${key}" at revision ${result.revision}`);
    }
  } catch (error) {
    showResult(error.message, true);
  }
}

/** JSON if it parses, else the text itself as a string: typing `Ada` should not need quotes. */
function parseValue(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function listKeys() {
  const prefix = $('prefix').value;
  try {
    const page = await getJson(`kv?limit=50${prefix ? `&prefix=${encodeURIComponent(prefix)}` : ''}`);
    const items = page.items.map((entry) => {
      const item = document.createElement('li');
      item.textContent = `${entry.key} = ${JSON.stringify(entry.value)}`;
      item.addEventListener('click', () => {
        $('key').value = entry.key;
        $('value').value = JSON.stringify(entry.value);
      });
      return item;
    });
    if (page.cursor) items.push(Object.assign(document.createElement('li'), { textContent: '… more' }));
    $('keys').replaceChildren(...items);
  } catch (error) {
    showResult(error.message, true);
  }
}

async function transferLeadership() {
  $('transfer-result').textContent = 'transferring…';
  try {
    const { leader } = await getJson('cluster/transfer-leadership', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    $('transfer-result').textContent = `new leader: ${leader}`;
  } catch (error) {
    $('transfer-result').textContent = error.message;
  }
}

function setBadge(element, kind, text) {
  element.className = `badge ${kind}`;
  element.textContent = text;
}

$('kv-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void kvAction('set');
});
$('get').addEventListener('click', () => void kvAction('get'));
$('delete').addEventListener('click', () => void kvAction('delete'));
$('list-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void listKeys();
});
$('transfer').addEventListener('click', () => void transferLeadership());

openFeed(false);
void poll();
setInterval(() => void poll(), POLL_MS);
