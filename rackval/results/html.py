"""A self-contained HTML report of a stored run, for a technician to open or print.

PASS/FAIL banner, failures first, then pictures (plotly, with plotly.js inlined
once so the file works offline): per-phase current of each PDU against its
limit, an outlet map coloured by outcome, a cabling matrix showing missing,
swapped and unexpected links; then one table per suite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from rackval.results.junit import measurement_value
from rackval.results.store import MeasurementRecord, RunReport, TestRecord, dumps_limit

# worst first: a cell shows the worst outcome of the tests about it
SEVERITY = {"error": 4, "failed": 3, "skipped": 1, "passed": 2}
OUTCOME_COLOURS = {
    "no load": "#f4f4f4",
    "not tested": "#cfd8dc",
    "passed": "#2e7d32",
    "skipped": "#9e9e9e",
    "failed": "#c62828",
    "error": "#ef6c00",
}
CABLE_COLOURS = {
    "not planned": "#ffffff",
    "not tested": "#cfd8dc",
    "ok": "#2e7d32",
    "skipped": "#9e9e9e",
    "failed": "#c62828",
    "missing": "#b71c1c",
    "swapped": "#6a1b9a",
    "seen here (swap)": "#ce93d8",
    "unexpected": "#ef6c00",
}
_PLOT_CONFIG = {"displaylogo": False, "responsive": True, "staticPlot": False}


def _worst(outcomes: Iterable[str]) -> str | None:
    found = list(outcomes)
    return max(found, key=lambda o: SEVERITY.get(o, 0)) if found else None


def _figure_html(fig: go.Figure, div_id: str) -> Markup:
    # a fixed div id: the same run always exports to the same file
    html = fig.to_html(full_html=False, include_plotlyjs=False, config=_PLOT_CONFIG, div_id=div_id)
    return Markup(html)


def _discrete_heatmap(
    z: list[list[int]],
    x: list[str],
    y: list[str],
    text: list[list[str]],
    hover: list[list[str]],
    palette: dict[str, str],
) -> go.Heatmap:
    names = list(palette)
    n = len(names)
    scale = []
    for i, name in enumerate(names):
        scale += [[i / n, palette[name]], [(i + 1) / n, palette[name]]]
    return go.Heatmap(
        z=z,
        x=x,
        y=y,
        text=text,
        customdata=hover,
        texttemplate="%{text}",
        hovertemplate="%{customdata}<extra></extra>",
        colorscale=scale,
        zmin=-0.5,
        zmax=n - 0.5,
        xgap=2,
        ygap=2,
        colorbar={"tickvals": list(range(n)), "ticktext": names, "title": {"text": ""}},
    )


# -- per-phase current --------------------------------------------------------


def phase_currents(report: RunReport) -> list[tuple[str, str, float, float | None, str]]:
    """(pdu, phase, amps, limit, outcome) per PDU phase.

    From ``phase_current`` measurements (item ``pdu-a/L1``); failing that, the sum
    of ``outlet_current`` measurements per phase of the power map, against the
    PDU's derated rating.
    """
    rows = []
    for m in report.measurements:
        if m.name == "phase_current" and "/" in m.item and isinstance(m.value, int | float):
            pdu, phase = m.item.split("/", 1)
            high = (m.limit or {}).get("high")
            rows.append((pdu, phase, float(m.value), high, m.outcome))
    if rows:
        return rows
    plan = report.run.rack_plan or {}
    phase_of = {f["outlet"]: f["phase"] for f in plan.get("power", [])}
    sums: dict[tuple[str, str], float] = {}
    for m in report.measurements:
        if m.name == "outlet_current" and m.item in phase_of and isinstance(m.value, int | float):
            key = (m.item.split("/", 1)[0], phase_of[m.item])
            sums[key] = sums.get(key, 0.0) + float(m.value)
    for (pdu, phase), amps in sorted(sums.items()):
        spec = plan.get("pdus", {}).get(pdu, {})
        limit = (
            spec["rated_current_a"] * spec["derating_percent"] / 100 if "rated_current_a" in spec else None
        )
        outcome = "fail" if limit is not None and amps > limit else "pass"
        rows.append((pdu, phase, amps, limit, outcome))
    return rows


def phase_figure(report: RunReport) -> go.Figure | None:
    rows = phase_currents(report)
    if not rows:
        return None
    rows.sort(key=lambda r: (r[0], r[1]))
    x = [f"{pdu} {phase}" for pdu, phase, *_ in rows]
    fig = go.Figure()
    fig.add_bar(
        x=x,
        y=[r[2] for r in rows],
        name="measured",
        marker_color=[OUTCOME_COLOURS["failed" if r[4] == "fail" else "passed"] for r in rows],
        text=[f"{r[2]:.1f} A" for r in rows],
        textposition="outside",
    )
    fig.add_scatter(
        x=x,
        y=[r[3] for r in rows],
        name="limit (derated rating)",
        mode="markers",
        marker={
            "symbol": "line-ew-open",
            "size": 46,
            "color": "#212121",
            "line": {"width": 3, "color": "#212121"},
        },
    )
    fig.update_layout(
        title="Phase current per PDU against its limit",
        yaxis_title="A",
        height=380,
        margin={"t": 50, "b": 40, "l": 50, "r": 20},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


# -- outlet map --------------------------------------------------------------


def outlet_states(report: RunReport) -> dict[str, tuple[str, list[str]]]:
    """outlet id -> (worst outcome, messages) from outlet tests and measurements."""
    outcomes: dict[str, list[str]] = {}
    messages: dict[str, list[str]] = {}
    for t in report.tests:
        if t.item_kind == "outlet" and t.item_id:
            outcomes.setdefault(t.item_id, []).append(t.outcome)
            if t.message and t.outcome != "passed":
                messages.setdefault(t.item_id, []).append(t.message)
    for m in report.measurements:
        if m.outcome == "fail" and m.item in outcomes:
            outcomes[m.item].append("failed")
    return {k: (_worst(v) or "not tested", messages.get(k, [])) for k, v in outcomes.items()}


def outlet_figure(report: RunReport) -> go.Figure | None:
    plan = report.run.rack_plan or {}
    pdus = plan.get("pdus", {})
    if not pdus or not any(t.item_kind == "outlet" for t in report.tests):
        return None
    feeds = {f["outlet"]: f for f in plan.get("power", [])}
    states = outlet_states(report)
    names = list(OUTCOME_COLOURS)
    width = max(spec["outlets"] for spec in pdus.values())
    z, text, hover = [], [], []
    for pdu, spec in sorted(pdus.items()):
        zr, tr, hr = [], [], []
        for n in range(1, width + 1):
            oid = f"{pdu}/{n}"
            if n > spec["outlets"]:
                zr.append(None)
                tr.append("")
                hr.append("")
                continue
            feed = feeds.get(oid)
            state, msgs = states.get(oid, ("not tested" if feed else "no load", []))
            zr.append(names.index(state))
            tr.append(str(n))
            detail = f"{oid} ({feed['name']}, {feed['phase']})" if feed else f"{oid} (no load)"
            hr.append("<br>".join([f"{detail}: {state}", *msgs]))
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    y = sorted(pdus)
    x = [str(n) for n in range(1, width + 1)]
    fig = go.Figure(_discrete_heatmap(z, x, y, text, hover, OUTCOME_COLOURS))
    fig.update_layout(
        title="Outlet map (outlet number; colour = outcome)",
        height=140 + 60 * len(y),
        margin={"t": 50, "b": 30, "l": 70, "r": 20},
        xaxis={"title": "outlet", "type": "category"},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return fig


# -- cabling matrix ------------------------------------------------------------


def _cable_status(test: TestRecord) -> str:
    if test.outcome == "passed":
        return "ok"
    if test.outcome == "skipped":
        return "skipped"
    text = (test.message or "").lower()
    for word in ("missing", "swapped", "unexpected"):
        if word in text:
            return word
    return "failed"


def cabling_cells(report: RunReport) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """(switch end, far device) -> (status, messages) for the planned links and observed swaps."""
    plan = report.run.rack_plan or {}
    switches = set(plan.get("switches", {}))
    rank = list(CABLE_COLOURS)
    by_end: dict[str, list[TestRecord]] = {}
    for t in report.tests:
        if t.item_kind in ("link", "port") and t.item_id:
            by_end.setdefault(t.item_id, []).append(t)
    far_of: dict[str, str] = {}
    for link in plan.get("cabling", []):
        a_dev, b_dev = link["a"].split("/", 1)[0], link["b"].split("/", 1)[0]
        end, far = (link["a"], link["b"]) if a_dev in switches else (link["b"], link["a"])
        far_of[end] = far.split("/", 1)[0]
        if a_dev in switches and b_dev in switches:
            far_of[link["b"]] = a_dev
    cells: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for end, far in far_of.items():
        tests = by_end.get(end, [])
        statuses = [_cable_status(t) for t in tests] or ["not tested"]
        status = max(statuses, key=rank.index)
        msgs = [t.message for t in tests if t.message and t.outcome != "passed"]
        cells[(end, far)] = (status, msgs)
        for msg in msgs:
            match = re.search(r"swapped with (\S+)", msg)
            partner = match.group(1).rstrip(".,;)") if match else None
            if partner in far_of and (end, far_of[partner]) not in cells:
                cells[(end, far_of[partner])] = ("seen here (swap)", [msg])
    return cells


def cabling_figure(report: RunReport) -> go.Figure | None:
    if not any(t.item_kind in ("link", "port") for t in report.tests):
        return None  # this run did not check cabling
    cells = cabling_cells(report)
    if not cells:
        return None
    ends = sorted({e for e, _ in cells}, key=_natural)
    fars = sorted({f for _, f in cells}, key=_natural)
    names = list(CABLE_COLOURS)
    z, text, hover = [], [], []
    for end in ends:
        zr, tr, hr = [], [], []
        for far in fars:
            status, msgs = cells.get((end, far), ("not planned", []))
            zr.append(names.index(status))
            tr.append({"ok": "✓", "not planned": "", "not tested": "·"}.get(status, "✗"))
            hr.append("<br>".join([f"{end} → {far}: {status}", *msgs]))
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    fig = go.Figure(_discrete_heatmap(z, fars, ends, text, hover, CABLE_COLOURS))
    fig.update_layout(
        title="Cabling matrix (switch port → far end, planned links)",
        height=160 + 22 * len(ends),
        margin={"t": 50, "b": 40, "l": 140, "r": 20},
        xaxis={"type": "category", "side": "top"},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return fig


def _natural(text: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


# -- the page ------------------------------------------------------------------


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("rackval.results", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["limit"] = dumps_limit
    env.filters["mvalue"] = lambda m: measurement_value(m)
    env.filters["ts"] = lambda dt: dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else "—"
    return env


def render_html(report: RunReport) -> str:
    figures = [
        (title, fig)
        for title, fig in (
            ("Phase current", phase_figure(report)),
            ("Outlets", outlet_figure(report)),
            ("Cabling", cabling_figure(report)),
        )
        if fig is not None
    ]
    by_node: dict[str, list[MeasurementRecord]] = report.by_node
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            run=report.run,
            counts=report.counts(),
            failures=report.failures,
            unfinished=report.unfinished_nodes(),
            suites=sorted(report.suites().items()),
            by_node=by_node,
            figures=[(title, _figure_html(fig, f"figure-{n}")) for n, (title, fig) in enumerate(figures)],
            plotly_js=Markup(get_plotlyjs()) if figures else "",
        )
    )


def write_html(report: RunReport, path: Path) -> Path:
    path.write_text(render_html(report), encoding="utf-8")
    return path
