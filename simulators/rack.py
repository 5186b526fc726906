"""The simulated rack: every device's simulator, started from one rack file.

Runs in its own process (``python -m simulators.rack`` or ``rackval sim``) so
drivers cross a real socket to another process, as they would to a device,
and a hung simulator cannot hang the tests. When ready it writes a JSON
*endpoint overlay* (device name -> host/port...) to ``--ready-file`` and
serves a small control port (JSON lines on 127.0.0.1) that tests use to read
the simulators' own view of the rack (``state``) and request counts (``stats``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socketserver
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rackval import kinds, registry
from rackval.errors import ConfigError
from rackval.model import Rack, load_rack
from rackval.secrets import secret_resolver
from simulators.base import SimContext, SimHandle
from simulators.scenario import Scenario, load_scenarios
from simulators.state import RackState


class SimulatedRack:
    """Start and stop all simulators of a rack in this process."""

    def __init__(
        self,
        rack: Rack,
        scenario: Scenario | None = None,
        workdir: Path | None = None,
        station_file: Path | None = None,
    ):
        from rackval.station import station_for_rack

        self.rack = rack
        self.station = station_for_rack(rack, station_file)
        self.scenario = scenario or Scenario()
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="rackval-sim-"))
        self.state = RackState(rack)
        self.handles: dict[str, SimHandle] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-loop", daemon=True)

    def _check_fault_devices(self) -> None:
        known = set(self.rack.devices) | set(self.rack.test_points) | set(self._station_instruments())
        unknown = [f.device for f in self.scenario.faults if f.device not in known]
        if unknown:
            raise ConfigError(f"scenario {self.scenario.name}: no device named {', '.join(unknown)}")

    def start(self) -> dict[str, dict[str, Any]]:
        self._check_fault_devices()
        self._thread.start()
        resolve = secret_resolver(self.rack.base_dir)
        try:
            for name, device in self.rack.devices.items():
                self.handles[name] = self._start_one(name, device.driver, device.kind, resolve)
            for name, spec in self._station_instruments().items():
                self.handles[name] = self._start_one(name, spec.driver, spec.kind, resolve)
        except BaseException:
            self.stop()
            raise
        return self.endpoints()

    def _station_instruments(self) -> dict[str, Any]:
        return dict(self.station.instruments) if self.station is not None else {}

    def _start_one(self, name: str, driver: str, kind: str, resolve) -> SimHandle:
        start = registry.load(registry.SIMULATORS, driver)
        ctx = SimContext(
            rack=self.rack,
            state=self.state,
            faults=self.scenario.faults_for(name),
            latency_s=self.scenario.latency_ms.get(kinds.get(kind).protocol, 0.0) / 1000.0,
            loop=self._loop,
            workdir=self.workdir / name,
            resolve_secret=resolve,
            station=self.station,
        )
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        return start(ctx, name)

    def endpoints(self) -> dict[str, dict[str, Any]]:
        return {name: h.endpoint for name, h in self.handles.items()}

    def control(self, op: str) -> dict[str, Any]:
        if op == "state":
            return {name: h.state() for name, h in self.handles.items()}
        if op == "stats":
            return {name: h.stats() for name, h in self.handles.items()}
        if op == "ping":
            return {"ok": True}
        raise ValueError(f"unknown control op {op!r}")

    def stop(self) -> None:
        """Stop every device's simulator, all at once.

        A server's stop waits for its serving loop to notice (up to its poll
        interval); one device after another, that was 0.7 s for the demo rack's
        twenty-odd servers, paid at the end of every simulated run.
        """
        handles = list(self.handles.items())
        if handles:
            with ThreadPoolExecutor(max_workers=len(handles), thread_name_prefix="sim-stop") as pool:
                stopping = [(name, pool.submit(handle.stop)) for name, handle in handles]
                for name, future in stopping:
                    try:
                        future.result()
                    except Exception as exc:  # the others are stopped all the same
                        print(f"simulator {name}: error while stopping: {exc}", file=sys.stderr)
        self.handles.clear()
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class _ControlHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for line in self.rfile:
            try:
                request = json.loads(line)
                reply = {"ok": True, "result": self.server.sim.control(request.get("op", ""))}  # type: ignore[attr-defined]
            except Exception as exc:
                reply = {"ok": False, "error": str(exc)}
            self.wfile.write((json.dumps(reply) + "\n").encode())


class _ControlServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_control(sim: SimulatedRack) -> _ControlServer:
    server = _ControlServer(("127.0.0.1", 0), _ControlHandler)
    server.sim = sim  # type: ignore[attr-defined]
    # a short poll: shutdown() at exit waits for the serving loop's next poll (0.5 s by default)
    threading.Thread(target=server.serve_forever, args=(0.05,), name="sim-control", daemon=True).start()
    return server


def write_ready_file(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def run(
    rack_path: Path,
    scenario_paths: list[Path],
    ready_file: Path | None,
    quiet: bool = False,
    station_file: Path | None = None,
    parent_pid: int | None = None,
) -> int:
    """Serve the simulated rack until SIGTERM/SIGINT, or until ``parent_pid`` is gone
    (a rackval run killed with SIGKILL must not leave its simulators running)."""
    rack = load_rack(rack_path)
    scenario = load_scenarios(list(scenario_paths))
    sim = SimulatedRack(rack, scenario, station_file=station_file)
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    endpoints = sim.start()
    control = serve_control(sim)
    payload = {
        "rack": rack.rack.serial,
        "scenario": scenario.name,
        "devices": endpoints,
        "control": {"host": "127.0.0.1", "port": control.server_address[1]},
        "pid": os.getpid(),
    }
    if ready_file:
        write_ready_file(ready_file, payload)
    if not quiet:
        print(f"Simulated rack {rack.rack.serial} (scenario: {scenario.name}) is up:")
        for name, ep in endpoints.items():
            extra = ", ".join(f"{k}={v}" for k, v in ep.items() if k not in ("host", "port"))
            print(f"  {name:<12} {ep.get('host')}:{ep.get('port')}" + (f"  ({extra})" if extra else ""))
        print(f"  control      127.0.0.1:{control.server_address[1]}")
        print("Press Ctrl-C to stop.", flush=True)
    try:
        while not stop.wait(0.5):
            if parent_pid is not None and os.getppid() != parent_pid:
                break  # orphaned: whoever started us is gone
    finally:
        control.shutdown()
        sim.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.rack", description=__doc__)
    parser.add_argument("rack", type=Path)
    parser.add_argument("--scenario", type=Path, action="append", default=[])
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--station", type=Path, help="station file (default: the rack file's station:)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--parent-pid", type=int, help="stop when this process is gone")
    args = parser.parse_args(argv)
    try:
        return run(args.rack, args.scenario, args.ready_file, args.quiet, args.station, args.parent_pid)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
