"""Network acceptance: switch identity, cabling (LLDP), links, error counters, optics.

Every check runs per switch, per planned link or per cabled switch port, so a
failure names the exact cable to fix. Readings come from one snapshot per switch
(gathered concurrently across switches); error counters are judged on their
increase over a soak interval, never on their absolute value (a switch keeps
counts from before the rack was cabled).
"""

from __future__ import annotations

import pytest

from drivers.errors import DeviceError
from drivers.switch import SwitchSnapshot
from rackval.limits import Limit
from rackval.model import Rack


def _far_end(item) -> tuple[str, str]:
    (a_dev, a_port), (b_dev, b_port) = item.spec.ends
    return (b_dev, b_port) if (a_dev, a_port) == (item.device, item.port) else (a_dev, a_port)


def _speed_text(mbps: int | None) -> str:
    if mbps is None:
        return "unknown"
    return f"{mbps // 1000}G" if mbps % 1000 == 0 else f"{mbps}M"


def _is(system_name: str, device: str) -> bool:
    """LLDP system names are often FQDNs: srv-01.example.net is srv-01."""
    return system_name == device or system_name.startswith(device + ".")


def _planned_end_for(rack: Rack, device: str, port: str) -> str | None:
    """The other end of the planned link that ends at device/port, if any."""
    for link in rack.cabling:
        (a_dev, a_port), (b_dev, b_port) = link.ends
        if (a_dev, a_port) == (device, port):
            return link.b
        if (b_dev, b_port) == (device, port):
            return link.a
    return None


def lldp_diagnosis(rack: Rack, switch: str, port: str, far: tuple[str, str], seen: list) -> str | None:
    """None when ``port`` sees its planned neighbour, else what a technician should do."""
    want = f"{far[0]}/{far[1]}"
    if any(_is(n.system_name, far[0]) and n.port_id == far[1] for n in seen):
        return None
    if not seen:
        return (
            f"missing: no LLDP neighbour, expected {want}; "
            f"check the cable at both ends and that {far[0]} is up"
        )
    texts = []
    for n in seen:
        host = next((h for h in [*rack.hosts, *rack.devices] if _is(n.system_name, h)), n.system_name)
        planned_for = _planned_end_for(rack, host, n.port_id)
        if planned_for is None:
            texts.append(
                f"unexpected: sees {n.system_name}/{n.port_id}, "
                f"which is not in the cabling plan (expected {want})"
            )
            continue
        other_dev, other_port = planned_for.split("/", 1)
        if other_dev == switch:
            texts.append(
                f"swapped with {other_port}: sees {host}/{n.port_id}, planned for {planned_for}; "
                f"expected {want} — swap the cables on {switch} {port} and {other_port}"
            )
        else:
            texts.append(f"miscabled: sees {host}/{n.port_id}, planned for {planned_for} (expected {want})")
    return "; ".join(texts)


def _snapshot(rack, item) -> SwitchSnapshot:
    return rack.snapshot(item.device)


def test_switch_identity(switch, rack, measure):
    identity = _snapshot(rack, switch).identity
    expected = switch.spec.expected
    checked = False
    for field in ("model", "serial"):
        want = getattr(expected, field)
        if want is not None:
            checked = True
            measure(
                f"switch_{field}",
                getattr(identity, field),
                item=switch,
                limit=Limit(expected=want),
                fail=False,
            )
    if not checked:
        pytest.skip(f"{switch.id}: the rack file names no model or serial to check")
    measure.verdict()


def test_switch_firmware(switch, rack, measure):
    want = switch.spec.expected.firmware
    if want is None:
        pytest.skip(f"{switch.id}: the rack file names no firmware to check")
    measure(
        "switch_firmware", _snapshot(rack, switch).identity.firmware, item=switch, limit=Limit(expected=want)
    )


def test_lldp_neighbor(link, rack, measure):
    """The planned neighbour (system name and port) is seen on LLDP from the switch end."""
    far = _far_end(link)
    host = rack.rack.hosts.get(far[0])
    if host is not None and not host.lldp:
        pytest.skip(f"{link.label}: {far[0]} does not speak LLDP")
    seen = _snapshot(rack, link).neighbors_on(link.port)
    observed = ", ".join(f"{n.system_name}/{n.port_id}" for n in seen) or "none"
    measure("lldp_neighbor", observed, item=link, limit=Limit(expected=f"{far[0]}/{far[1]}"), fail=False)
    problem = lldp_diagnosis(rack.rack, link.device, link.port, far, seen)
    if problem:
        pytest.fail(f"{link.label}: {problem}", pytrace=False)


def test_port_link(port, rack, measure):
    """The port is up at the cabling plan's speed."""
    iface = _snapshot(rack, port).interface(port.port)
    if iface is None:
        pytest.fail(f"{port.label}: {port.device} has no interface {port.port}", pytrace=False)
    planned = port.spec.speed
    measure(
        "port_admin_state",
        "up" if iface.admin_up else "down",
        item=port,
        limit=Limit(expected="up"),
        fail=False,
    )
    measure(
        "port_oper_state",
        "up" if iface.oper_up else "down",
        item=port,
        limit=Limit(expected="up"),
        fail=False,
    )
    if iface.oper_up:
        speed = _speed_text(iface.speed_mbps)
        measure("port_speed", speed, item=port, limit=Limit(expected=planned), fail=False)
    measure.verdict()


def test_port_optics(port, rack, limits, measure):
    """Transceiver temperature, and tx/rx optical power of every lane, within limits."""
    xcvr = _snapshot(rack, port).transceiver(port.port)
    if xcvr is None:
        pytest.fail(f"{port.label}: no transceiver detected in {port.device} {port.port}", pytrace=False)
    if xcvr.temperature_c is not None:
        measure("optic_temperature", xcvr.temperature_c, item=port, units="C", fail=False)
    if not xcvr.lanes:
        pytest.fail(
            f"{port.label}: the transceiver ({xcvr.media_type}) reports no optical lanes", pytrace=False
        )
    for lane in xcvr.lanes:
        if lane.tx_power_dbm is not None:
            measure(
                f"optic_tx_power_lane{lane.lane}",
                lane.tx_power_dbm,
                item=port,
                units="dBm",
                limit=limits.get("optic_tx_power"),
                fail=False,
            )
        if lane.rx_power_dbm is not None:
            measure(
                f"optic_rx_power_lane{lane.lane}",
                lane.rx_power_dbm,
                item=port,
                units="dBm",
                limit=limits.get("optic_rx_power"),
                fail=False,
            )
    measure.verdict()


def test_port_errors(port, error_soak, limits, measure):
    """Error counters do not rise over the soak interval (a delta, not the absolute count)."""
    reading = error_soak.readings[port.device]
    if isinstance(reading, DeviceError):
        raise reading.with_traceback(None)
    delta = reading.get(port.port)
    if delta is None:
        pytest.fail(f"{port.label}: {port.device} reports no counters for {port.port}", pytrace=False)
    per = f"per {error_soak.interval_s:.1f} s"
    measure("port_crc_errors_soak", delta.fcs_errors, item=port, units=per, fail=False)
    if delta.symbol_errors is not None:
        measure("port_symbol_errors_soak", delta.symbol_errors, item=port, units=per, fail=False)
    discards = [d for d in (delta.in_discards, delta.out_discards) if d is not None]
    if discards:
        measure("port_discards_soak", sum(discards), item=port, units=per, fail=False)
    measure.verdict()
