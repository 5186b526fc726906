// The factory overview: one EventSource (reconnecting), a snapshot per change, rendered whole.
// Text only through textContent: nothing from the database is parsed as HTML. No build step.
"use strict";

const initial = JSON.parse(document.getElementById("initial").textContent);
const serial = initial.serial;
const $ = (id) => document.getElementById(id);
let lastRunsKey = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

function fmtAge(s) {
  if (s === null || s === undefined) return "–";
  s = Math.round(s);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function rackLink(value) {
  const a = el("a", "rack", value);
  a.href = `/?serial=${encodeURIComponent(value)}`;
  return a;
}

function outcomeCell(outcome) {
  const label = outcome === "pass" || outcome === "fail" ? outcome.toUpperCase() : outcome || "–";
  return el("td", `outcome ${outcome || ""}`, label);
}

// -- stations ------------------------------------------------------------------------
function stationCard(st) {
  const card = el("div", `st ${st.state}`);
  card.dataset.station = st.station_id;
  card.dataset.state = st.state;
  const state = el("div", `state st-${st.state}`, st.state);
  if (st.state === "offline") state.appendChild(el("small", "age", `last heartbeat ${fmtAge(st.beat_age_s)} ago`));
  card.appendChild(state);
  const body = el("div", "body");
  body.appendChild(el("div", "sid", st.station_id));
  if (st.rack_serial) {
    const row = el("div", "row");
    row.appendChild(el("span", "label", "Rack"));
    const b = el("b", "serial");
    b.appendChild(rackLink(st.rack_serial));
    row.appendChild(b);
    body.appendChild(row);
  }
  if (st.state === "running" || st.state === "recovering") {
    const total = st.item_total;
    const done = st.item_done || 0;
    const items = el("div", "row items");
    items.appendChild(el("span", "label", "Items"));
    items.appendChild(el("span", "count", total ? `item ${done} of ${total}` : "starting…"));
    body.appendChild(items);
    const progress = el("div", "progress");
    const bar = el("div", "bar");
    bar.style.width = total ? `${Math.min(100, (100 * done) / total)}%` : "0";
    progress.appendChild(bar);
    body.appendChild(progress);
  }
  if (st.run_id) {
    const row = el("div", "row");
    row.appendChild(el("span", "label", "Run"));
    row.appendChild(el("span", "run-id", st.run_id));
    body.appendChild(row);
  }
  const host = el("div", "row");
  host.appendChild(el("span", "label", "Host"));
  host.appendChild(el("span", "host", st.host || "–"));
  body.appendChild(host);
  card.appendChild(body);
  return card;
}

function renderStations(stations) {
  const box = $("stations");
  box.replaceChildren(...stations.map(stationCard));
  $("no-stations").hidden = stations.length > 0;
}

// -- runs ----------------------------------------------------------------------------
function runRow(run, withRack) {
  const tr = el("tr");
  tr.dataset.run = run.run_id;
  tr.appendChild(el("td", "started", fmtTime(run.started_at)));
  tr.appendChild(el("td", "ended", fmtTime(run.ended_at)));
  if (withRack) {
    const td = el("td", "rack");
    td.appendChild(rackLink(run.rack_serial));
    tr.appendChild(td);
  }
  tr.appendChild(el("td", "station", run.station_id || "–"));
  tr.appendChild(el("td", "run-id", run.run_id));
  tr.appendChild(outcomeCell(run.outcome));
  if (!withRack) tr.appendChild(el("td", "operator", run.operator || "–"));
  return tr;
}

function renderRuns(runs) {
  $("runs").querySelector("tbody").replaceChildren(...runs.map((r) => runRow(r, true)));
  $("no-runs").hidden = runs.length > 0;
}

async function loadHistory() {
  if (!serial) return;
  try {
    const response = await fetch(`/api/runs?serial=${encodeURIComponent(serial)}`, { cache: "no-store" });
    const payload = await response.json();
    if (!response.ok) throw new Error(payload.error || `HTTP ${response.status}`);
    $("history").querySelector("tbody").replaceChildren(...payload.runs.map((r) => runRow(r, false)));
    $("history-empty").hidden = payload.runs.length > 0;
  } catch (e) {
    // the banner (from the stream) says the database is away; the table keeps its last view
  }
}

// -- the snapshot ----------------------------------------------------------------------
function render(snap) {
  if (!snap) return;
  const db = snap.db || {};
  const banner = $("db-banner");
  if (db.ok === false) {
    const since = db.since ? ` (since ${fmtTime(db.since)})` : "";
    banner.textContent = `${db.error || `central database ${db.name} unreachable`}${since}. Showing the last view read.`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
  document.body.classList.toggle("stale", db.ok === false);
  for (const state of ["idle", "running", "recovering", "offline"]) {
    $(`n-${state}`).textContent = String((snap.counts || {})[state] || 0);
  }
  renderStations(snap.stations || []);
  renderRuns(snap.runs || []);
  const key = JSON.stringify((snap.runs || []).map((r) => [r.run_id, r.outcome]));
  if (serial && db.ok !== false && key !== lastRunsKey) loadHistory();
  if (db.ok !== false) lastRunsKey = key;
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("snapshot", (e) => {
    $("link-banner").hidden = true;
    render(JSON.parse(e.data));
  });
  source.onerror = () => {
    $("link-banner").hidden = false;
    // EventSource retries by itself (the server asks for 1 s); a closed one is started again
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
  };
}

render(initial.snapshot);
loadHistory();
connect();
