"""The sequential baseline: what a straightforward validation script does.

The same per-item checks as the non-destructive power and network suites, done
the way a plain script does them: each check asks the device for what it needs
when it needs it — one request at a time, one SNMP GET per OID, a new SSH
connection per switch command — with no snapshot shared between checks, no
caching and no concurrency. It talks
to protocol libraries directly (pysnmp, paramiko) and shares only the rack-file,
limits and CLI-parsing code with rackval, so it measures the I/O pattern.

It only talks to a simulated rack on 127.0.0.1 (``--endpoints``, the file
``python -m simulators.rack --ready-file`` writes)::

    python benchmarks/baseline.py --rack fixtures/racks/hall.yaml --endpoints ep.json

Prints one line per failing item and a summary; ``--json FILE`` writes counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from pysnmp.hlapi.v3arch.asyncio import (
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as snmp_auth

from drivers import eos_parse, sonic_parse
from rackval.errors import ConfigError
from rackval.items import Item, items_of
from rackval.limits import Limit, load_limits
from rackval.model import Rack, load_rack, resolve_include
from rackval.secrets import resolve_secret

LOOPBACK = "127.0.0.1"
RPDU2 = "1.3.6.1.4.1.318.1.1.26"  # APC PowerNet-MIB rPDU2
PDU2 = "1.3.6.1.4.1.13742.6"  # Raritan PDU2-MIB
PX_OUTLET_STATES = {7: "on", 8: "off"}  # outletSwitchingState
AUTH = {"SHA": snmp_auth.USM_AUTH_HMAC96_SHA, "MD5": snmp_auth.USM_AUTH_HMAC96_MD5}
PRIV = {"AES": snmp_auth.USM_PRIV_CFB128_AES, "DES": snmp_auth.USM_PRIV_CBC56_DES}
OUTLET_STATES = {1: "off", 2: "on"}
PHASES = ("L1", "L2", "L3")

# per driver: command -> parser (the vendor's CLI, one command per reading)
COMMANDS: dict[str, dict[str, Callable[[str], Any]]] = {
    "arista-eos": {
        "show version | json": eos_parse.parse_version,
        "show interfaces | json": eos_parse.parse_interfaces,
        "show lldp neighbors | json": eos_parse.parse_lldp_neighbors,
        "show interfaces transceiver dom | json": eos_parse.parse_transceivers,
        "counters": eos_parse.parse_error_counters,
    },
    "sonic": {
        "show version": sonic_parse.parse_version,
        "show interfaces status": sonic_parse.parse_interfaces_status,
        "show lldp table": sonic_parse.parse_lldp_table,
        "show interfaces transceiver eeprom --dom": sonic_parse.parse_transceiver_dom,
        "counters": sonic_parse.parse_interfaces_counters,
    },
}
COUNTERS_COMMAND = {"arista-eos": "show interfaces | json", "sonic": "show interfaces counters"}


@dataclass
class Tally:
    """Per-item outcomes, as a test report would count them."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)

    def item(self, test: str, item: str, problems: list[str]) -> None:
        if problems:
            self.failed += 1
            self.failures.append(f"{test}[{item}]: " + "; ".join(problems))
        else:
            self.passed += 1

    def check(self, problems: list[str], what: str, value: Any, limit: Limit | None) -> None:
        if limit is None or not limit.check(value):
            want = "no limit" if limit is None else limit.describe()
            problems.append(f"{what} = {value}, expected {want}")


class Checks:
    def __init__(self, rack: Rack, limits_path: Path) -> None:
        self.rack = rack
        self.limits = load_limits(limits_path)
        self.tally = Tally()

    def limit(self, name: str) -> Limit | None:
        try:
            return self.limits.get(name)
        except ConfigError:
            return None


# -- PDUs: one GET per OID ---------------------------------------------------------------


async def snmp_get(engine: SnmpEngine, auth: Any, transport: Any, oid: str) -> Any:
    indication, status, _index, binds = await get_cmd(
        engine, auth, transport, ContextData(), ObjectType(ObjectIdentity(oid)), lookupMib=False
    )
    if indication or int(status or 0):
        raise RuntimeError(f"GET {oid}: {indication or status}")
    return binds[0][1]


def _snmp_auth(rack: Rack, name: str) -> UsmUserData:
    snmp = rack.devices[name].snmp
    if snmp.version != "3":
        raise SystemExit(f"baseline: {name}: only SNMPv3 is implemented")
    key = lambda ref: resolve_secret(ref, rack.base_dir).reveal()  # noqa: E731
    return UsmUserData(
        snmp.user,
        authKey=key(snmp.auth_key),
        privKey=key(snmp.priv_key),
        authProtocol=AUTH[snmp.auth_protocol],
        privProtocol=PRIV[snmp.priv_protocol],
    )


Get = Callable[[str], Awaitable[Any]]


@dataclass(frozen=True)
class PduReads:
    """How the naive script reads one vendor's PDU: one GET per OID, nothing cached."""

    identity: Callable[[Get], Awaitable[dict[str, Any]]]
    outlet: Callable[[Get, int], Awaitable[dict[str, Any]]]
    phase_current: Callable[[Get, int], Awaitable[float]]  # also reads voltage and power, as the suite does


async def _apc_identity(get: Get) -> dict[str, Any]:
    return {
        "model": str(await get(f"{RPDU2}.2.1.8.1")),
        "serial": str(await get(f"{RPDU2}.2.1.9.1")),
        "firmware": str(await get(f"{RPDU2}.2.1.6.1")),
        "outlets": int(await get(f"{RPDU2}.4.2.1.4.1")),
        "phases": int(await get(f"{RPDU2}.4.2.1.7.1")),
    }


async def _apc_outlet(get: Get, n: int) -> dict[str, Any]:
    return {
        "name": str(await get(f"{RPDU2}.9.2.3.1.3.{n}")),
        "state": OUTLET_STATES.get(int(await get(f"{RPDU2}.9.2.3.1.5.{n}")), "?"),
        "current": int(await get(f"{RPDU2}.9.4.3.1.6.{n}")) / 10,
    }


async def _apc_phase_current(get: Get, p: int) -> float:
    current = int(await get(f"{RPDU2}.6.3.1.5.{p}")) / 10
    await get(f"{RPDU2}.6.3.1.6.{p}")
    await get(f"{RPDU2}.6.3.1.7.{p}")
    return current


async def _px_scaled(get: Get, value_oid: str, digits_oid: str) -> float:
    return int(await get(value_oid)) / 10 ** int(await get(digits_oid))


async def _px_identity(get: Get) -> dict[str, Any]:
    poles = int(await get(f"{PDU2}.3.3.3.1.5.1.1"))
    return {
        "model": str(await get(f"{PDU2}.3.2.1.1.3.1")),
        "serial": str(await get(f"{PDU2}.3.2.1.1.4.1")),
        "firmware": str(await get(f"{PDU2}.3.2.3.1.6.1.1.1")),
        "outlets": int(await get(f"{PDU2}.3.2.2.1.4.1")),
        "phases": 3 if poles >= 3 else 1,
    }


async def _px_outlet(get: Get, n: int) -> dict[str, Any]:
    return {
        "name": str(await get(f"{PDU2}.3.5.3.1.3.1.{n}")),
        "state": PX_OUTLET_STATES.get(int(await get(f"{PDU2}.4.1.2.1.3.1.{n}")), "?"),
        "current": await _px_scaled(get, f"{PDU2}.5.4.3.1.4.1.{n}.1", f"{PDU2}.3.5.4.1.7.1.{n}.1"),
    }


async def _px_phase_current(get: Get, p: int) -> float:
    current = await _px_scaled(get, f"{PDU2}.5.2.4.1.4.1.1.{p}.1", f"{PDU2}.3.3.6.1.7.1.1.{p}.1")
    await _px_scaled(get, f"{PDU2}.5.2.4.1.4.1.1.{p}.4", f"{PDU2}.3.3.6.1.7.1.1.{p}.4")
    await _px_scaled(get, f"{PDU2}.5.2.4.1.4.1.1.{p}.5", f"{PDU2}.3.3.6.1.7.1.1.{p}.5")
    return current


PDU_READS = {
    "apc-rpdu2": PduReads(_apc_identity, _apc_outlet, _apc_phase_current),
    "raritan-px": PduReads(_px_identity, _px_outlet, _px_phase_current),
}


async def check_pdus(checks: Checks, endpoints: dict[str, Any]) -> None:
    rack, tally = checks.rack, checks.tally
    engine = SnmpEngine()
    for pdu in items_of(rack, "pdu"):
        name, spec = pdu.device, pdu.spec
        ep = endpoints[name]
        auth = _snmp_auth(rack, name)
        transport = await UdpTransportTarget.create((ep["host"], ep["port"]), timeout=2, retries=1)

        async def get(oid: str, auth=auth, transport=transport) -> Any:
            return await snmp_get(engine, auth, transport, oid)

        reads = PDU_READS[rack.devices[name].driver]

        async def identity(get=get, reads=reads) -> dict[str, Any]:
            return await reads.identity(get)

        async def phase_currents(get=get, count=spec.phases, reads=reads) -> list[float]:
            return [await reads.phase_current(get, p) for p in range(1, count + 1)]

        ident = await identity()
        problems: list[str] = []
        for key in ("model", "serial"):
            want = getattr(spec.expected, key)
            if want is not None:
                tally.check(problems, key, ident[key], Limit(expected=want))
        tally.check(problems, "outlet count", ident["outlets"], Limit(expected=spec.outlets))
        tally.check(problems, "phase count", ident["phases"], Limit(expected=spec.phases))
        tally.item("test_pdu_identity", name, problems)
        if spec.expected.firmware is None:
            tally.skipped += 1
        else:
            problems = []
            firmware = (await identity())["firmware"]
            tally.check(problems, "firmware", firmware, Limit(expected=spec.expected.firmware))
            tally.item("test_pdu_firmware", name, problems)

        for outlet in items_of(rack, "outlet", {name}):
            n = outlet.index
            reading = await reads.outlet(get, n)
            for test, what, limit in (
                ("test_outlet_name", "name", Limit(expected=outlet.spec.outlet_name)),
                ("test_outlet_state", "state", checks.limit("outlet_state")),
                (
                    "test_outlet_current",
                    "current",
                    Limit(low=outlet.spec.current_a.min, high=outlet.spec.current_a.max),
                ),
            ):
                problems = []
                tally.check(problems, what, reading[what], limit)
                tally.item(test, outlet.id, problems)

        currents = await phase_currents()
        derated = spec.rated_current_a * spec.derating_percent / 100
        problems = []
        for phase, amps in zip(PHASES, currents, strict=False):
            tally.check(problems, f"{phase} current", amps, Limit(low=0, high=derated))
        tally.item("test_phase_load", name, problems)
        currents = await phase_currents()
        if len(currents) < 2:
            tally.skipped += 1
        else:
            mean = sum(currents) / len(currents)
            imbalance = 0.0 if mean == 0 else (max(currents) - min(currents)) / mean * 100
            problems = []
            tally.check(problems, "imbalance", round(imbalance, 1), checks.limit("phase_imbalance"))
            tally.item("test_phase_balance", name, problems)
        currents = await phase_currents()
        capacity = spec.rated_current_a * spec.phases * spec.derating_percent / 100
        problems = []
        total = round(sum(currents) / capacity * 100, 1)
        tally.check(problems, "total load", total, checks.limit("pdu_total_load"))
        tally.item("test_total_load", name, problems)
    engine.close_dispatcher()


# -- switches: a new SSH connection per command ------------------------------------------


def ssh_command(rack: Rack, name: str, endpoint: dict[str, Any], command: str) -> str:
    ssh = rack.devices[name].ssh
    client = paramiko.SSHClient()
    client.load_host_keys(endpoint["known_hosts"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    password = resolve_secret(ssh.password, rack.base_dir).reveal()
    client.connect(
        endpoint["host"],
        port=endpoint["port"],
        username=ssh.username,
        password=password,
        timeout=10,
        look_for_keys=False,
        allow_agent=False,
    )
    try:
        _stdin, stdout, _stderr = client.exec_command(command, timeout=10)
        return stdout.read().decode()
    finally:
        client.close()


def _speed(mbps: int | None) -> str:
    if mbps is None:
        return "unknown"
    return f"{mbps // 1000}G" if mbps % 1000 == 0 else f"{mbps}M"


def _far(item: Item) -> tuple[str, str]:
    (a_dev, a_port), (b_dev, b_port) = item.spec.ends
    return (b_dev, b_port) if (a_dev, a_port) == (item.device, item.port) else (a_dev, a_port)


def read(rack: Rack, name: str, endpoint: dict[str, Any], what: str) -> Any:
    """One reading of one switch, through a new SSH connection (``what``: a COMMANDS key)."""
    driver = rack.devices[name].driver
    command = COUNTERS_COMMAND[driver] if what == "counters" else what
    parse = COMMANDS[driver][what]
    return parse(ssh_command(rack, name, endpoint, command))


def command_for(rack: Rack, name: str, index: int) -> str:
    """The vendor's command for reading ``index``: 0 version, 1 interfaces, 2 LLDP, 3 DOM."""
    return list(COMMANDS[rack.devices[name].driver])[index]


def check_switches(checks: Checks, endpoints: dict[str, Any], soak_s: float) -> None:
    rack, tally = checks.rack, checks.tally

    def get(name: str, index: int) -> Any:
        return read(rack, name, endpoints[name], command_for(rack, name, index))

    for sw in items_of(rack, "switch"):
        version = get(sw.device, 0)
        problems: list[str] = []
        for key in ("model", "serial"):
            want = getattr(sw.spec.expected, key)
            if want is not None:
                tally.check(problems, key, getattr(version, key), Limit(expected=want))
        tally.item("test_switch_identity", sw.id, problems)
        if sw.spec.expected.firmware is None:
            tally.skipped += 1
        else:
            problems = []
            version = get(sw.device, 0)
            tally.check(problems, "firmware", version.firmware, Limit(expected=sw.spec.expected.firmware))
            tally.item("test_switch_firmware", sw.id, problems)

    for link in items_of(rack, "link"):
        far = _far(link)
        host = rack.hosts.get(far[0])
        if host is not None and not host.lldp:
            tally.skipped += 1
            continue
        seen = [n for n in get(link.device, 2) if n.local_port == link.port]
        ok = any(
            (n.system_name == far[0] or n.system_name.startswith(far[0] + ".")) and n.port_id == far[1]
            for n in seen
        )
        problems = [] if ok else [f"LLDP sees {[(n.system_name, n.port_id) for n in seen]}, expected {far}"]
        tally.item("test_lldp_neighbor", link.id, problems)

    ports = items_of(rack, "port")
    for port in ports:
        iface = next((i for i in get(port.device, 1) if i.name == port.port), None)
        problems = []
        if iface is None:
            problems.append(f"no interface {port.port}")
        else:
            tally.check(problems, "admin", "up" if iface.admin_up else "down", Limit(expected="up"))
            tally.check(problems, "oper", "up" if iface.oper_up else "down", Limit(expected="up"))
            if iface.oper_up:
                tally.check(problems, "speed", _speed(iface.speed_mbps), Limit(expected=port.spec.speed))
        tally.item("test_port_link", port.id, problems)

        xcvr = next((t for t in get(port.device, 3) if t.port == port.port), None)
        problems = []
        if xcvr is None or not xcvr.lanes:
            problems.append("no transceiver or no lanes")
        else:
            if xcvr.temperature_c is not None:
                tally.check(problems, "temperature", xcvr.temperature_c, checks.limit("optic_temperature"))
            for lane in xcvr.lanes:
                if lane.tx_power_dbm is not None:
                    tally.check(problems, "tx", lane.tx_power_dbm, checks.limit("optic_tx_power"))
                if lane.rx_power_dbm is not None:
                    tally.check(problems, "rx", lane.rx_power_dbm, checks.limit("optic_rx_power"))
        tally.item("test_port_optics", port.id, problems)

    # the error soak: every port's counters before, one wait, every port's counters after
    def counters(port: Item) -> Any:
        return {c.port: c for c in read(rack, port.device, endpoints[port.device], "counters")}.get(port.port)

    before = {port.id: counters(port) for port in ports}
    time.sleep(soak_s)
    for port in ports:
        first, last = before[port.id], counters(port)
        problems = []
        if first is None or last is None:
            problems.append("no counters")
        else:
            delta = first.delta(last)
            tally.check(problems, "crc", delta.fcs_errors, checks.limit("port_crc_errors_soak"))
            if delta.symbol_errors is not None:
                tally.check(problems, "symbol", delta.symbol_errors, checks.limit("port_symbol_errors_soak"))
            discards = [d for d in (delta.in_discards, delta.out_discards) if d is not None]
            if discards:
                tally.check(problems, "discards", sum(discards), checks.limit("port_discards_soak"))
        tally.item("test_port_errors", port.id, problems)


# -- main ------------------------------------------------------------------------------


def load_endpoints(path: Path, rack: Rack) -> dict[str, Any]:
    devices = json.loads(path.read_text())["devices"]
    for name in rack.devices:
        ep = devices.get(name)
        if ep is None or ep.get("host") != LOOPBACK:
            raise SystemExit(f"baseline: {path}: {name} has no {LOOPBACK} endpoint (simulated racks only)")
    return devices


def run(rack_path: Path, endpoints_path: Path, soak_s: float) -> Tally:
    rack = load_rack(rack_path)
    endpoints = load_endpoints(endpoints_path, rack)
    limits = resolve_include(rack.base_dir, rack.limits, what=f"{rack_path.name}: limits")
    checks = Checks(rack, limits)
    asyncio.run(check_pdus(checks, endpoints))
    check_switches(checks, endpoints, soak_s)
    return checks.tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rack", type=Path, required=True)
    parser.add_argument("--endpoints", type=Path, required=True)
    parser.add_argument("--soak-seconds", type=float, default=0.0)
    parser.add_argument("--json", type=Path, help="write the counts here")
    parser.add_argument("--quiet", action="store_true", help="do not print each failing item")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tally = run(args.rack, args.endpoints, args.soak_seconds)
    wall = time.perf_counter() - started
    if not args.quiet:
        for line in tally.failures:
            print("FAIL", line)
    print(f"baseline: {tally.passed} passed, {tally.failed} failed, {tally.skipped} skipped in {wall:.2f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"passed": tally.passed, "failed": tally.failed, "skipped": tally.skipped, "wall_s": wall}
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
