"""The station agent: a Celery worker bound to its own station's queue, one run at a time.

Each run is a ``rackval run`` child process (a crash or hang in a run cannot
take the worker down; the run is exactly the technician's CLI run), writing to
the station's local store; :mod:`rackval.factory.sync` copies it centrally as
it goes. The child dies with the worker (``PR_SET_PDEATHSIG``): a SIGKILLed
worker leaves no run going on unsupervised.

Idempotent by run id, which the task carries: before it runs anything, the
agent looks the run up in its local store. A run that already ended is not run
again (a redelivery after a broker restart); one that has no end and whose
process is gone (its worker died) is recorded as ``aborted``, keeping every
record it committed, after the rack is put back in its safe state from the
run's journal (``rackval restore``). That recovery also runs when the worker
starts, before it consumes anything.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from rackval.factory.app import TASK_NAME, make_app, redact_broker, station_queue
from rackval.factory.sync import CentralSync, SyncThread
from rackval.factory.tables import stations as stations_table
from rackval.results import schema as s
from rackval.results.store import ResultsStore, process_alive, redact

log = logging.getLogger("rackval.factory.worker")

HEARTBEAT_S = 2.0
PR_SET_PDEATHSIG = 1


try:
    _LIBC: Any = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: dlopen is not fork-safe
except OSError:  # pragma: no cover
    _LIBC = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """The run gets SIGKILL when the worker dies: no run goes on unsupervised."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def rack_serial_of(path: Path) -> str | None:
    """The serial in a rack file's ``rack:`` section (without loading the whole rack)."""
    import yaml

    try:
        head = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    rack = head.get("rack") if isinstance(head, dict) else None
    return str(rack["serial"]) if isinstance(rack, dict) and rack.get("serial") else None


@dataclass
class Progress:
    run_id: str | None = None
    rack_serial: str | None = None
    events: Path | None = None

    def counts(self) -> tuple[int | None, int | None]:
        """Items done and total, from the run's event file."""
        if self.events is None or not self.events.exists():
            return None, None
        done, total = 0, None
        for line in self.events.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("type") == "collected":
                total = event.get("total")
            elif event.get("type") == "test":
                done += 1
        return done, total


@dataclass
class Agent:
    """One station's worker state: its store, its racks, the run in progress."""

    station_file: Path
    central_url: str
    results_dir: Path
    racks: dict[str, Path] = field(default_factory=dict)  # serial -> rack file
    endpoints: Path | None = None  # the station's simulated rack, when it has one
    station_id: str = ""
    state: str = "starting"
    progress: Progress = field(default_factory=Progress)

    def __post_init__(self) -> None:
        from rackval.station import load_station

        station = load_station(self.station_file)
        self.station_id = self.station_id or station.station.id
        if station.racks_dir:
            for path in sorted((self.station_file.parent / station.racks_dir).glob("*.y*ml")):
                serial = rack_serial_of(path)
                if serial:
                    self.racks.setdefault(serial, path.resolve())
        self.results_dir = self.results_dir.resolve()
        self.local_url = f"sqlite:///{self.results_dir / 'results.db'}"
        self.local = ResultsStore.open(self.local_url)
        self.sync = SyncThread(CentralSync(self.local, self.central_url), self.station_id)
        self.meta_dir = self.results_dir / "factory"
        self.meta_dir.mkdir(parents=True, exist_ok=True)
        self._beat_stop = threading.Event()

    # -- heartbeats ------------------------------------------------------------

    def beat(self) -> None:
        done, total = self.progress.counts()
        values = dict(
            queue=station_queue(self.station_id),
            host=socket.gethostname(),
            pid=os.getpid(),
            state=self.state,
            run_id=self.progress.run_id,
            rack_serial=self.progress.rack_serial,
            item_done=done,
            item_total=total,
            beat_at=func.now(),
        )
        engine = self.sync.sync._engine()
        from rackval.factory.sync import _insert

        stmt = _insert(engine, stations_table).values(station_id=self.station_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["station_id"], set_=values)
        with engine.begin() as conn:
            conn.execute(stmt)

    def _beat_loop(self) -> None:
        while not self._beat_stop.wait(HEARTBEAT_S):
            try:
                self.beat()
            except Exception as exc:  # the central database is away: status shows us offline
                log.debug("heartbeat failed: %s", type(exc).__name__)

    def start(self) -> None:
        self.sync.start()
        self.recover()
        self.state = "idle"
        with contextlib.suppress(Exception):
            self.beat()
        threading.Thread(target=self._beat_loop, name="rackval-heartbeat", daemon=True).start()

    def stop(self) -> None:
        self._beat_stop.set()
        self.state = "stopped"
        with contextlib.suppress(Exception):
            self.beat()
        self.sync.stop()
        (self.meta_dir / "sync-stats.json").write_text(json.dumps({"push_ms": self.sync.sync.push_ms}))

    # -- runs --------------------------------------------------------------------

    def _local_run(self, run_id: str) -> Any:
        with self.local.engine.connect() as conn:
            return conn.execute(select(s.runs).where(s.runs.c.run_id == run_id)).one_or_none()

    def recover(self) -> list[str]:
        """Close every run of this station left without an end by a dead process: aborted, rack restored."""
        with self.local.engine.connect() as conn:
            rows = conn.execute(
                select(s.runs).where(s.runs.c.station_id == self.station_id, s.runs.c.outcome.is_(None))
            ).all()
        aborted = []
        for row in rows:
            if row.pid is not None and process_alive(row.pid, row.proc_start):
                continue
            self.state = "recovering"
            self._abort(row.run_id, row.rack_file)
            aborted.append(row.run_id)
        return aborted

    def _abort(self, run_id: str, rack_file: str | None) -> None:
        meta = self._meta(run_id)
        if rack_file and meta.get("mode") != "own-sim":  # a run's own simulated rack died with it
            from rackval.restore import restore_from_files

            endpoints = Path(meta["endpoints"]) if meta.get("endpoints") else None
            try:
                for action in restore_from_files(Path(rack_file), self.results_dir, endpoints):
                    log.warning(
                        "run %s: %s %s", run_id, "restored" if action.ok else "FAILED", action.description
                    )
            except Exception as exc:
                log.error("run %s: restoring the rack failed: %s", run_id, exc)
        self.local.finish_run(run_id, "aborted")
        log.warning("run %s recorded as aborted (its worker or process died)", run_id)
        self.sync.mark(run_id)

    def _meta(self, run_id: str) -> dict[str, Any]:
        path = self.meta_dir / f"{run_id}.json"
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def rack_file(self, rack: str, given: str | None = None) -> Path:
        if rack in self.racks:
            return self.racks[rack]
        path = Path(given or rack)
        if path.is_file() and rack_serial_of(path) is not None:
            return path.resolve()
        raise ValueError(f"station {self.station_id} has no rack {rack!r}")

    def command(self, spec: dict[str, Any], rack_file: Path) -> tuple[list[str], str]:
        cmd = [sys.executable, "-m", "rackval", "run", str(rack_file), "--plain"]
        cmd += ["--run-id", spec["run_id"], "--station", str(self.station_file)]
        cmd += ["--results-dir", str(self.results_dir), "--results-db", self.local_url]
        mode = "real"
        if spec.get("scenarios"):
            mode = "own-sim"
            cmd += [a for sc in spec["scenarios"] for a in ("--scenario", sc)]
        elif spec.get("sim"):
            if self.endpoints is not None and rack_file in self.racks.values():  # the station's own rack
                mode = "station-sim"
                cmd += ["--endpoints", str(self.endpoints)]
            else:
                mode = "own-sim"
                cmd += ["--sim"]
        cmd += [a for su in spec.get("suites") or [] for a in ("--suite", su)]
        cmd += ["-m", spec["marker"]] if spec.get("marker") else []
        cmd += ["-k", spec["keyword"]] if spec.get("keyword") else []
        return cmd, mode

    def execute(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Run ``spec`` (a dispatched run) unless its run id was already run here."""
        run_id = spec["run_id"]
        row = self._local_run(run_id)
        if row is not None and row.outcome is not None:
            log.info("run %s already ended (%s): not run again", run_id, row.outcome)
            self.sync.mark(run_id)
            return {"run_id": run_id, "outcome": row.outcome, "repeated": True}
        if row is not None:
            if row.pid is not None and process_alive(row.pid, row.proc_start):
                return {"run_id": run_id, "outcome": "running", "repeated": True}
            self._abort(run_id, row.rack_file)
            return {"run_id": run_id, "outcome": "aborted", "repeated": True}
        rack_file = self.rack_file(spec["rack"], spec.get("rack_file"))
        cmd, mode = self.command(spec, rack_file)
        events = self.meta_dir / f"{run_id}.events.jsonl"
        (self.meta_dir / f"{run_id}.json").write_text(
            json.dumps(
                {"spec": spec, "mode": mode, "endpoints": str(self.endpoints) if self.endpoints else None}
            )
        )
        env = dict(os.environ, RACKVAL_EVENTS=str(events), RACKVAL_NON_INTERACTIVE="1")
        self.progress = Progress(run_id, rack_serial_of(rack_file), events)
        self.state = "running"
        self.sync.mark(run_id)
        with contextlib.suppress(Exception):
            self.beat()
        log.info("run %s: %s", run_id, " ".join(cmd[2:]))
        with open(self.meta_dir / f"{run_id}.log", "wb") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            code = proc.wait()
        row = self._local_run(run_id)
        if row is not None and row.outcome is None:
            self._abort(run_id, row.rack_file)  # the run crashed: same as a dead worker
        self.sync.flush(run_id, timeout_s=5.0)
        self.state = "idle"
        self.progress = Progress()
        with contextlib.suppress(Exception):
            self.beat()
        outcome = self._local_run(run_id)
        return {"run_id": run_id, "exit_code": code, "outcome": outcome.outcome if outcome else None}


AGENT: Agent | None = None


def register(app: Any) -> None:
    @app.task(name=TASK_NAME, bind=True, acks_late=True)
    def run_task(self: Any, spec: dict[str, Any]) -> dict[str, Any]:
        assert AGENT is not None, "the task runs only in `rackval station worker`"
        return AGENT.execute(spec)


def serve(agent: Agent, broker: str | None, loglevel: str = "INFO") -> None:
    """Recover, then consume this station's queue until SIGTERM/SIGINT (warm shutdown)."""
    global AGENT
    logging.basicConfig(level=loglevel, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    AGENT = agent
    app = make_app(broker)
    register(app)
    log.info(
        "station %s: queue %s, broker %s, results %s (buffer %s)",
        agent.station_id,
        station_queue(agent.station_id),
        redact_broker(app.conf.broker_url),
        redact(agent.central_url),
        agent.local_url,
    )
    agent.start()
    try:
        app.worker_main(
            [
                "worker",
                "-Q",
                station_queue(agent.station_id),
                "-n",
                f"{agent.station_id}@{socket.gethostname()}",
                "-P",
                "threads",
                "-c",
                "1",
                "--prefetch-multiplier",
                "1",
                "--without-gossip",
                "--without-mingle",
                "-l",
                loglevel,
            ]
        )
    finally:
        agent.stop()
