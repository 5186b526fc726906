"""A new device kind arrives as an installed package alone: no file of rackval changes.

The package below (written to a temporary folder and put on ``PYTHONPATH``)
declares, through entry points only, a ``fan`` kind (rack-file schema, target,
identity, undo), its driver, its simulator (a line protocol over TCP on
127.0.0.1) and a suite. ``rackval validate``, ``schema``, ``doctor``, ``run``
(pre-flight, item parametrization, limits, safe state, results store, JUnit),
scenario faults and ``latency_ms`` then work for it as for the built-in kinds.
docs/architecture.md lists what a kind consists of.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import ROOT

ENTRY_POINTS = """\
[rackval.kinds]
fan = toyfan.kind:KIND

[rackval.drivers]
toy-fan = toyfan.driver:FanDriver

[rackval.simulators]
toy-fan = toyfan.simulator:start

[rackval.suites]
fans = toyfan.suite
"""

KIND = '''
"""The fan kind: fan trays with a duty setting, over a line protocol."""
from typing import Annotated, Literal

from pydantic import Field

from drivers.base import Target
from rackval.kinds import DeviceKind, TargetContext, Undo
from rackval.model import ExpectedIdentity, Name, StrictModel


class FanDevice(StrictModel):
    kind: Literal["fan"]
    driver: Name
    address: str
    port: Annotated[int, Field(gt=0, lt=65536)] = 7000
    fans: Annotated[int, Field(gt=0)]
    expected: ExpectedIdentity = ExpectedIdentity()


def target(device: FanDevice, ctx: TargetContext) -> Target:
    host, port = ctx.host_port(device)
    return Target(ctx.name, host, port, settings={"fans": device.fans}, timeout_s=1.0)


KIND = DeviceKind(
    name="fan",
    model=FanDevice,
    target=target,
    protocol="fanline",
    undo={"duty": Undo(read=lambda drv, _: drv.duty(), apply=lambda drv, _, duty: drv.set_duty(duty))},
    plan_key="fans",
    plan=lambda d: {"fans": d.fans},
)
'''

DRIVER = """
import socket
from types import SimpleNamespace

from drivers.errors import DeviceTimeout, DeviceUnreachable, DeviceProtocolError


class FanDriver:
    kind = "fan"

    def __init__(self, target, loop):
        self.target = target
        self._sock = None

    def _ask(self, line):
        try:
            if self._sock is None:
                self._sock = socket.create_connection((self.target.host, self.target.port), timeout=1.0)
                self._file = self._sock.makefile("rw", newline="\\n")
            self._file.write(line + "\\n")
            self._file.flush()
            answer = self._file.readline().strip()
        except socket.timeout:
            raise DeviceTimeout(self.target.name, line, "no answer within 1 s") from None
        except OSError as exc:
            raise DeviceUnreachable(self.target.name, line, str(exc)) from None
        if answer.startswith("ERR"):
            raise DeviceProtocolError(self.target.name, line, answer)
        return answer

    def identity(self):
        model, serial, firmware = self._ask("IDN?").split(",")
        return SimpleNamespace(model=model, serial=serial, firmware=firmware)

    def duty(self):
        return int(self._ask("DUTY?"))

    def set_duty(self, duty):
        self._ask(f"DUTY {int(duty)}")

    def rpm(self, fan):
        return int(self._ask(f"RPM? {fan}"))

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
"""

SIMULATOR = """
import asyncio

from simulators.base import RequestGate, SimHandle


def start(ctx, name):
    device = ctx.rack.devices[name]
    stalled = {f.model_extra.get("fan") for f in ctx.faults if f.kind == "stalled"}
    state = {"duty": 50}
    gate = RequestGate(ctx.latency_s)

    def answer(line):
        words = line.split()
        if words == ["IDN?"]:
            e = device.expected
            return f"{e.model or 'FX-1'},{e.serial or 'SN0'},{e.firmware or '1.0'}"
        if words == ["DUTY?"]:
            return str(state["duty"])
        if len(words) == 2 and words[0] == "DUTY":
            state["duty"] = int(words[1])
            return "OK"
        if len(words) == 2 and words[0] == "RPM?" and 1 <= int(words[1]) <= device.fans:
            return "0" if int(words[1]) in stalled else str(state["duty"] * 60)
        return "ERR unknown command"

    async def serve(reader, writer):
        while line := await reader.readline():
            await gate.serve_async()
            writer.write((answer(line.decode().strip()) + "\\n").encode())
            await writer.drain()
        writer.close()

    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(serve, ctx.host, 0), ctx.loop).result(5)
    port = server.sockets[0].getsockname()[1]

    def stop():
        ctx.loop.call_soon_threadsafe(server.close)

    return SimHandle(
        name,
        {"host": ctx.host, "port": port, "protocol": "fanline"},
        stop,
        stats=lambda: {"requests": gate.requests},
        state=lambda: dict(state),
    )
"""

SUITE = """
from rackval.limits import Limit


def test_fan_speed(fan, rack, measure):
    drv = rack.driver(fan.device)
    for index in range(1, fan.spec.fans + 1):
        measure("fan_rpm", drv.rpm(index), item=f"{fan.id}/{index}", units="rpm",
                limit=Limit(low=1000), fail=False)
    measure.verdict()


def test_fan_follows_its_duty(fan, rack, restore, measure):
    drv = rack.driver(fan.device)
    restore.change(fan.device, "duty", None)
    drv.set_duty(90)
    measure("fan_rpm_full", drv.rpm(1), item=fan, units="rpm", limit=Limit(low=5000))


def test_duty_is_back_after_the_destructive_test(fan, rack):
    assert rack.driver(fan.device).duty() == 50
"""

RACK = """\
rack:
  serial: RK-FAN-0001
  model: FAN-ONLY
  plan_version: "1"
limits: limits.yaml
devices:
  fan-1:
    kind: fan
    driver: toy-fan
    address: 192.0.2.40
    fans: 3
    expected:
      model: FX-1
      serial: SN-0042
"""


@pytest.fixture(scope="module")
def fan_package(tmp_path_factory) -> Path:
    """An installed fan kind (a dist-info folder with entry points) and a rack using it."""
    site = tmp_path_factory.mktemp("site")
    dist = site / "rackval_toyfan-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rackval-toyfan\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    pkg = site / "toyfan"
    (pkg / "suite").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "suite" / "__init__.py").write_text("")
    for name, text in {"kind": KIND, "driver": DRIVER, "simulator": SIMULATOR}.items():
        (pkg / f"{name}.py").write_text(textwrap.dedent(text))
    (pkg / "suite" / "test_fans.py").write_text(textwrap.dedent(SUITE))
    racks = site / "racks"
    racks.mkdir()
    (racks / "fan-rack.yaml").write_text(RACK)
    (racks / "limits.yaml").write_text('version: "1"\nlimits: {}\n')
    (racks / "stalled.yaml").write_text(
        "name: stalled\nfaults:\n  - {device: fan-1, kind: stalled, fan: 2}\nlatency_ms: {fanline: 5}\n"
    )
    return site


def rackval(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-c", "from rackval.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_fan_kind_validates_and_is_in_the_schema(fan_package, tmp_path):
    rack = fan_package / "racks" / "fan-rack.yaml"
    proc = rackval(fan_package, "validate", str(rack), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 devices" in proc.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(RACK.replace("fans: 3", "fans: 0"))
    (tmp_path / "limits.yaml").write_text('version: "1"\nlimits: {}\n')
    proc = rackval(fan_package, "validate", str(bad), cwd=tmp_path)
    assert proc.returncode == 2
    assert "bad.yaml:11: devices.fan-1.fans: must be greater than 0" in proc.stderr
    schema = json.loads(rackval(fan_package, "schema", cwd=tmp_path).stdout)
    assert "fan" in json.dumps(schema)


def test_doctor_checks_the_fan_kind_identity(fan_package, tmp_path):
    proc = rackval(fan_package, "doctor", str(fan_package / "racks" / "fan-rack.yaml"), "--sim", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fan-1" in proc.stdout


def _outcomes(junit: Path) -> dict[str, str]:
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[case.get("name")] = "failed" if failed else "passed"
    return outcomes


def test_a_run_of_the_fan_suite_passes_and_is_recorded(fan_package, tmp_path):
    rack = fan_package / "racks" / "fan-rack.yaml"
    junit = tmp_path / "junit.xml"
    proc = rackval(
        fan_package, "run", str(rack), "--sim", "--suite", "fans", "--results-dir", str(tmp_path / "results"),
        "--plain", "--", f"--junitxml={junit}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _outcomes(junit) == {
        "test_fan_speed[fan-1]": "passed",
        "test_fan_follows_its_duty[fan-1]": "passed",
        "test_duty_is_back_after_the_destructive_test[fan-1]": "passed",
    }
    db = sqlite3.connect(tmp_path / "results" / "results.db")
    plan = json.loads(db.execute("select rack_plan from runs").fetchone()[0])
    assert plan["fans"] == {"fan-1": {"fans": 3}}
    rpm = db.execute("select item from measurements where name = 'fan_rpm' order by item").fetchall()
    assert [r[0] for r in rpm] == ["fan-1/1", "fan-1/2", "fan-1/3"]


def test_a_fan_fault_fails_exactly_its_test(fan_package, tmp_path):
    rack = fan_package / "racks" / "fan-rack.yaml"
    junit = tmp_path / "junit.xml"
    proc = rackval(
        fan_package, "run", str(rack), "--scenario", str(fan_package / "racks" / "stalled.yaml"),
        "--suite", "fans", "--results-dir", str(tmp_path / "results"), "--plain", "--",
        f"--junitxml={junit}", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    outcomes = _outcomes(junit)
    assert outcomes.pop("test_fan_speed[fan-1]") == "failed"
    assert set(outcomes.values()) == {"passed"}
    assert "fan-1/2: fan_rpm = 0 rpm" in proc.stdout
