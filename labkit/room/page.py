"""The instructor's board as a web page: one HTML document, its CSS and script inline.

Nothing is fetched from elsewhere (the room may be offline; the lab sends a Content-Security-
Policy that allows only this page's own script and style, by nonce, and requests to the lab
itself). Made for a projector: large type, black on white, a done step a solid green cell with
a check mark, a flagged learner's row framed in orange. The script is plain ES2017 (Chromium,
Firefox, Safari; no framework), draws only with textContent (a repository name a learner typed
is text, never markup), and polls the board's JSON every POLL_MS milliseconds: a short request
that, while nothing happened, answers with the flags alone.
"""

from __future__ import annotations

POLL_MS = 2000

_PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>labkit: the room's board</title>
<style nonce="{nonce}">
  :root { color-scheme: light; }
  body { margin: 0; padding: 1rem 1.5rem; background: #fff; color: #000;
         font: 22px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
  header { display: flex; align-items: baseline; gap: 1.5rem; flex-wrap: wrap; }
  h1 { font-size: 1.6rem; margin: 0 0 .5rem 0; }
  #status { font-size: 1rem; color: #333; }
  #status.problem { color: #fff; background: #b00020; padding: .1rem .5rem; }
  a.button { font-size: 1rem; color: #fff; background: #003a8c; padding: .3rem .8rem;
             text-decoration: none; border-radius: .3rem; }
  a.button:focus, a.button:hover { outline: 3px solid #000; }
  table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
  th, td { border: 2px solid #000; padding: .35rem .5rem; vertical-align: top; text-align: left; }
  th { background: #000; color: #fff; font-size: 1rem; }
  td.step { text-align: center; font-weight: 700; white-space: nowrap; min-width: 4.5rem; }
  td.step.done { background: #0b6b1f; color: #fff; }
  td.step.todo { background: #eee; color: #555; }
  td.who .name { font-weight: 700; }
  td.who .id { font: .85rem ui-monospace, "DejaVu Sans Mono", monospace; color: #222; }
  td.failure { font-size: .9rem; max-width: 34rem; }
  td.failure .summary { font-weight: 700; color: #b00020; }
  td.failure.resolved .summary { color: #333; text-decoration: line-through; }
  td.failure .answered { font: .8rem ui-monospace, "DejaVu Sans Mono", monospace; }
  td.failure code { display: block; font: .8rem ui-monospace, "DejaVu Sans Mono", monospace;
                    background: #f2f2f2; border: 1px solid #999; padding: .2rem .3rem;
                    white-space: pre-wrap; word-break: break-all; }
  td.flags { font-weight: 700; color: #8a3b00; }
  tr.flagged td { border-top: 5px solid #e65c00; border-bottom: 5px solid #e65c00; }
  tr.flagged td.who { background: #ffe3cc; }
</style>
</head>
<body>
<header>
  <h1>The room's board</h1>
  <span id="status">connecting…</span>
  <a class="button" id="csv" href="board/rows.csv" download="board.csv">Download CSV</a>
</header>
<table id="board" aria-live="polite">
  <thead><tr id="head"><th>learner</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<script nonce="{nonce}">
'use strict';
(() => {
  const POLL_MS = {poll_ms};
  const params = new URLSearchParams(location.search);
  const options = new URLSearchParams();
  for (const name of ['idle', 'repeats']) {
    if (params.get(name)) options.set(name, params.get(name));
  }
  const base = location.pathname.replace(/\/+$/, '') + '/';
  document.getElementById('csv').href = base + 'rows.csv?' + options;
  let last = null, accounts = null, steps = [], rows = [];

  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  const hhmm = t => new Date(t * 1000).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});
  const status = (text, problem) => {
    const s = document.getElementById('status');
    s.textContent = text;
    s.className = problem ? 'problem' : '';
  };

  function drawHead() {
    const head = document.getElementById('head');
    head.replaceChildren(el('th', null, 'learner'));
    for (const [, label] of steps) head.appendChild(el('th', null, label));
    head.appendChild(el('th', null, 'last failure'));
    head.appendChild(el('th', null, 'look at'));
  }

  function failureCell(f) {
    const td = el('td', 'failure');
    if (!f) return td;
    if (f.resolved) td.classList.add('resolved');
    td.appendChild(el('div', 'summary', (f.summary || 'a refusal') + ' (' + hhmm(f.time) + ', ' +
                      f.attempts + '×' + (f.resolved ? ', resolved since' : '') + ')'));
    if (f.answered) td.appendChild(el('div', 'answered', f.answered));
    if (f.why && f.why.length) td.appendChild(el('div', 'why', f.why[0]));
    if (f.fix) td.appendChild(el('code', 'fix', f.fix));
    return td;
  }

  function drawRow(row) {
    const tr = el('tr');
    tr.dataset.account = row.account;
    const who = el('td', 'who');
    who.appendChild(el('div', 'name', row.name || '(default learner)'));
    who.appendChild(el('div', 'id', row.account));
    tr.appendChild(who);
    for (const [key, label] of steps) {
      const when = row.steps[key];
      const td = el('td', 'step ' + (when ? 'done' : 'todo'), when ? '✓ ' + hhmm(when) : '–');
      td.dataset.step = key;
      td.dataset.done = when ? '1' : '0';
      td.title = label;
      tr.appendChild(td);
    }
    tr.appendChild(failureCell(row.failure));
    tr.appendChild(el('td', 'flags'));
    return tr;
  }

  function drawFlags() {
    for (const tr of document.querySelectorAll('#rows tr')) {
      const row = rows.find(r => r.account === tr.dataset.account);
      const flags = (row && row.flags) || [];
      tr.classList.toggle('flagged', flags.length > 0);
      tr.lastChild.textContent = flags.join('; ');
    }
  }

  function draw() {
    drawHead();
    document.getElementById('rows').replaceChildren(...rows.map(drawRow));
    drawFlags();
  }

  async function poll() {
    const q = new URLSearchParams(options);
    if (last !== null) { q.set('since', last); q.set('accounts', accounts); }
    try {
      const r = await fetch(base + 'rows?' + q, {credentials: 'same-origin', cache: 'no-store'});
      if (r.status === 403) {
        status('This board is closed (the lab restarted, or the session ended): run ' +
               '`labkit lab board` again and open its URL.', true);
        return;
      }
      const doc = await r.json();
      if (!r.ok) throw new Error(doc.error || ('HTTP ' + r.status));
      if (doc.unchanged) {
        for (const row of rows) row.flags = doc.flags[row.account] || [];
        drawFlags();
      } else {
        steps = doc.steps;
        rows = doc.rows;
        draw();
      }
      last = doc.last;
      accounts = doc.accounts;
      document.body.dataset.last = String(last);
      status('live · ' + rows.length + ' learners · updated ' + new Date().toLocaleTimeString());
    } catch (e) {
      status('cannot reach the lab (' + e.message + '): trying again', true);
    }
    setTimeout(poll, document.hidden ? POLL_MS * 5 : POLL_MS);
  }
  poll();
})();
</script>
</body>
</html>
"""


def render(nonce: str) -> str:
    """The page, its inline style and script carrying `nonce` (the response's CSP names it)."""
    return _PAGE.replace("{nonce}", nonce).replace("{poll_ms}", str(POLL_MS))
