// The station page: one EventSource, updates applied at most once per animation frame,
// a bounded failure list. No framework, no build step.
"use strict";

const MAX_FAILURE_ROWS = 200;
const station = JSON.parse(document.getElementById("initial").textContent);
const isOperator = document.body.dataset.operator === "yes";
const $ = (id) => document.getElementById(id);

let runNumber = null;
let pending = null; // merged updates waiting for the next frame
let promptShown = null;

async function post(url, data) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Rackval": "1" },
    body: JSON.stringify(data || {}),
  });
  let payload = {};
  try { payload = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) throw new Error(payload.error || `HTTP ${response.status}`);
  return payload;
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

function fmtDuration(s) {
  if (s === null || s === undefined) return "–";
  s = Math.round(s);
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

function text(id, value) {
  const el = $(id);
  const v = value === null || value === undefined ? "" : String(value);
  if (el && el.textContent !== v) el.textContent = v;
}

// -- the run view ------------------------------------------------------------------
function failureRow(f) {
  const li = document.createElement("li");
  li.className = `failure ${f.outcome}`;
  const head = document.createElement("div");
  head.className = "what";
  head.textContent = `${f.item || f.device || ""} — ${f.test}`;
  li.appendChild(head);
  const lines = f.message ? [f.message.replace(/^Failed: /, "")] : f.measurements.length ? f.measurements : [f.outcome];
  for (const line of lines) {
    const d = document.createElement("div");
    d.className = "why";
    d.textContent = line;
    li.appendChild(d);
  }
  return li;
}

function appendFailures(list) {
  const ol = $("failures");
  for (const f of list) ol.appendChild(failureRow(f));
  while (ol.children.length > MAX_FAILURE_ROWS) ol.removeChild(ol.firstChild);
}

function renderSuites(suites) {
  const ul = $("suites");
  const names = Object.keys(suites || {});
  if (ul.dataset.names !== names.join(",")) {
    ul.textContent = "";
    for (const name of names) {
      const li = document.createElement("li");
      li.dataset.suite = name;
      ul.appendChild(li);
    }
    ul.dataset.names = names.join(",");
  }
  for (const li of ul.children) {
    const s = suites[li.dataset.suite];
    const v = `${li.dataset.suite}: ${s.done}/${s.total}${s.failed ? `, ${s.failed} failed` : ""}`;
    if (li.textContent !== v) li.textContent = v;
    li.className = s.failed ? "failed" : s.done === s.total ? "passed" : "";
  }
}

function renderProgress(r) {
  $("idle").hidden = true;
  $("run").hidden = false;
  text("rack-serial", r.serial);
  text("rack-model", r.model ? `(${r.model})` : "");
  text("run-id", r.run_id || (r.exit_code === null || r.exit_code === undefined ? "starting…" : "–"));
  text("done", r.done);
  text("total", r.total === null ? "?" : r.total);
  for (const k of ["passed", "failed", "error", "skipped"]) text(`n-${k}`, r.counts[k] || 0);
  text("eta", r.outcome ? "–" : fmtDuration(r.eta_s));
  text("running", r.running && r.running.length ? r.running.map((n) => n.split("::").pop()).join(", ") : "–");
  text("failures-count", r.failures_total ? `(${r.failures_total})` : "");
  $("bar").style.width = r.total ? `${(100 * r.done) / r.total}%` : "0%";
  renderSuites(r.suites);
  const verdict = $("verdict");
  if (r.outcome) {
    const word = { pass: "PASS", fail: "FAIL", aborted: "STOPPED", error: "ERROR" }[r.outcome] || r.outcome;
    text("verdict", word);
    verdict.className = `verdict ${r.outcome}`;
    verdict.hidden = false;
  } else {
    verdict.hidden = true;
  }
  // the verdict comes with the run's last event; the process still writes reports and
  // stops the simulated rack: a new run can start once it has exited
  const active = r.exit_code === null || r.exit_code === undefined;
  $("run").dataset.ended = active ? "" : "yes";
  if ($("start")) $("start").disabled = active;
  const stop = $("stop");
  if (stop) {
    stop.hidden = Boolean(r.outcome);
    stop.disabled = Boolean(r.stopping);
    stop.textContent = r.stopping ? "Stopping…" : "Stop";
  }
  if (r.log_tail && r.log_tail.length) {
    $("log-tail").textContent = r.log_tail.join("\n");
    $("log-tail").hidden = false;
  }
  renderPrompt(r.prompt);
}

function snapshot(r) {
  pending = null;
  if (!r) return;
  runNumber = r.number;
  $("failures").textContent = "";
  $("log-tail").hidden = true;
  appendFailures(r.failures || []);
  renderProgress(r);
}

function update(u) {
  if (u.number !== runNumber) return; // a snapshot of the new run comes first
  if (pending) {
    u.new_failures = pending.new_failures.concat(u.new_failures || []);
  }
  pending = u;
  requestAnimationFrame(flush);
}

function flush() {
  if (!pending) return;
  const u = pending;
  pending = null;
  appendFailures(u.new_failures || []);
  renderProgress(u);
  if (u.outcome && !$("view-history").hidden) loadHistory();
}

// -- prompts ---------------------------------------------------------------------------
function renderPrompt(p) {
  const dialog = $("prompt-dialog");
  if (!p) {
    if (dialog.open) dialog.close();
    promptShown = null;
    return;
  }
  if (promptShown === p.id && dialog.open) return;
  promptShown = p.id;
  text("prompt-text", p.text);
  const input = $("prompt-input");
  if (input) {
    input.value = "";
    input.hidden = p.kind === "confirm";
    text("prompt-ok", p.kind === "confirm" ? "Done" : "OK");
  }
  if (!dialog.open) dialog.showModal();
  if (input && !input.hidden) input.focus();
}

if (isOperator) {
  $("prompt-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const abort = event.submitter && event.submitter.value === "abort";
    const input = $("prompt-input");
    const answer = abort ? "n" : input.hidden ? "" : input.value;
    try {
      if (abort && !input.hidden) {
        await post("/api/runs/current/stop"); // no value to give: stop the run, as Ctrl-C would
      } else {
        await post(`/api/prompts/${promptShown}`, { answer }); // a declined confirmation fails its test
      }
      $("prompt-dialog").close();
    } catch (e) {
      showError(e.message);
    }
  });
}
$("prompt-dialog").addEventListener("cancel", (e) => e.preventDefault()); // Esc does not dismiss

// -- history ---------------------------------------------------------------------------
async function loadHistory() {
  const serial = $("history-serial").value.trim();
  const response = await fetch(`/api/history?serial=${encodeURIComponent(serial)}`);
  const data = await response.json();
  const tbody = $("history").querySelector("tbody");
  tbody.textContent = "";
  for (const run of data.runs) {
    const tr = document.createElement("tr");
    tr.dataset.run = run.run_id;
    const cells = [
      new Date(run.started_at).toLocaleString(),
      run.rack_serial,
      run.run_id + (run.retest_of ? ` (retest of ${run.retest_of})` : ""),
      run.outcome.toUpperCase(),
      run.suites.join(", "),
      run.operator,
    ];
    cells.forEach((value, i) => {
      const td = document.createElement("td");
      td.textContent = value;
      if (i === 3) td.className = `outcome ${run.outcome}`;
      tr.appendChild(td);
    });
    const actions = document.createElement("td");
    const link = document.createElement("a");
    link.href = `/runs/${run.run_id}/report`;
    link.target = "_blank";
    link.className = "button report";
    link.textContent = "Report";
    actions.appendChild(link);
    if (isOperator && (run.outcome === "fail" || run.outcome === "error")) {
      const retest = document.createElement("button");
      retest.className = "retest";
      retest.textContent = "Retest";
      retest.addEventListener("click", async () => {
        try {
          await post("/api/runs", { serial: run.rack_serial, retest: run.run_id });
          selectTab("run");
        } catch (e) {
          selectTab("run");
          showError(e.message);
        }
      });
      actions.appendChild(retest);
    }
    tr.appendChild(actions);
    tbody.appendChild(tr);
  }
}

function selectTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  $("view-run").hidden = name !== "run";
  $("view-history").hidden = name !== "history";
  if (name === "history") loadHistory();
}

for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => selectTab(tab.dataset.tab));
$("history-form").addEventListener("submit", (e) => { e.preventDefault(); loadHistory(); });

// -- session and run controls --------------------------------------------------------------
const loginForm = $("login-form");
if (loginForm) {
  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post("/api/login", { code: $("login-code").value });
      location.reload();
    } catch (e) {
      $("login-code").value = "";
      showError(e.message);
    }
  });
}
if ($("logout")) $("logout").addEventListener("click", async () => { await post("/api/logout"); location.reload(); });

const startForm = $("start-form");
if (startForm) {
  startForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    const scenario = $("scenario") ? $("scenario").value : "";
    try {
      await post("/api/runs", { serial: $("serial").value, scenario });
      $("serial").value = "";
      $("history-serial").value = "";
    } catch (e) {
      showError(e.message);
    }
  });
}
if ($("stop")) {
  $("stop").addEventListener("click", async () => {
    try { await post("/api/runs/current/stop"); } catch (e) { showError(e.message); }
  });
}

// -- live updates ------------------------------------------------------------------------
const source = new EventSource("/api/events");
source.addEventListener("snapshot", (e) => snapshot(JSON.parse(e.data)));
source.addEventListener("update", (e) => update(JSON.parse(e.data)));
