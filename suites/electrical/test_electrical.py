"""Electrical acceptance: the station's instruments on the rack's test points.

Run with the rack plugin and the station plugin::

    pytest suites/electrical --rack fixtures/racks/demo.yaml --sim

Order matters: the instruments' identity and calibration come first, so a
wrong or out-of-calibration instrument is reported before its readings are.
Every test that drives an instrument registers its safe state with
``restore`` (run in teardown, failed or not); the session also leaves every
instrument safe at its end.
"""

from __future__ import annotations

from datetime import date

import pytest

from rackval.limits import Limit

# -- the instruments themselves ---------------------------------------------------------


def test_instrument_identity(instrument, instruments, measure):
    """``*IDN?`` reports the model and serial the station file expects."""
    ident = instruments[instrument.name].identity()
    expected = instrument.spec.expected
    problems = []
    for field, want in (("model", expected.model), ("serial", expected.serial)):
        if want is None:
            continue
        got = getattr(ident, field)
        m = measure(f"instrument_{field}", got, item=instrument.name, limit=Limit(expected=want), fail=False)
        if m.outcome == "fail":
            problems.append(f"{field} {got!r}, expected {want!r} (station file)")
    if problems:
        pytest.fail(f"{instrument.label}: *IDN? reports " + "; ".join(problems), pytrace=False)


def test_instrument_calibration_due(instrument, measure):
    """The station file's calibration due date has not passed."""
    due = instrument.spec.calibration_due
    days = (due - date.today()).days
    m = measure("calibration_days_remaining", days, item=instrument.name, fail=False)
    if m.outcome == "fail":
        pytest.fail(
            f"{instrument.label}: calibration was due {due.isoformat()} ({-days} days ago); "
            "recalibrate it or use another instrument",
            pytrace=False,
        )


# -- the rack's test points -------------------------------------------------------------


@pytest.mark.wired(instrument="dmm", test_point="busbar")
def test_busbar_voltage(wired_test_point, instruments, measure):
    """The busbar's DC voltage, read by the DMM wired to it, is within limits."""
    point = wired_test_point
    dmm = instruments[point.instrument]
    volts = dmm.measure_dc_volts(range_v=point.spec.nominal_v * 1.2)
    measure("busbar_voltage", round(volts, 4), item=point.test_point, device=point.instrument)


@pytest.mark.wired(instrument="eload", test_point="shelf_output")
def test_load_regulation(wired_test_point, instruments, measure, restore):
    """A shelf output holds its voltage at each load step of the electronic load."""
    point = wired_test_point
    steps = point.wiring.load_steps_a
    if not steps:
        pytest.skip(f"station wiring.{point.instrument}.load_steps_a is not set")
    eload = instruments[point.instrument]
    restore.add(f"{point.instrument} input off", eload.safe_state)
    eload.safe_state()  # start unloaded, whatever an earlier run left
    no_load = eload.measure_voltage()
    measure("shelf_output_voltage", round(no_load, 4), item=point.test_point, device=point.instrument)
    failed = []
    for amps in steps:
        eload.set_constant_current(amps)
        eload.input(True)
        volts = eload.measure_voltage()
        drawn = eload.measure_current()
        step = f"{point.test_point}@{amps:g}A"
        regulation = measure(
            "load_regulation",
            round(100.0 * (no_load - volts) / no_load, 4),
            item=step,
            device=point.instrument,
            fail=False,
        )
        current = measure(
            "load_current_error",
            round(100.0 * abs(drawn - amps) / amps, 4),
            item=step,
            device=point.instrument,
            fail=False,
        )
        failed += [m.describe() for m in (regulation, current) if m.outcome == "fail"]
    eload.safe_state()
    if failed:
        pytest.fail(
            f"{point.label}: " + "; ".join(failed) + " (check the shelf's output cabling and "
            "connections for added resistance)",
            pytrace=False,
        )


# -- supply-driven checks ---------------------------------------------------------------


def _supply_check(station, instrument):
    check = station.supply_checks.get(instrument.name)
    if check is None:
        pytest.skip(f"station supply_checks has no entry for {instrument.name}")
    return check


@pytest.mark.wired(instrument="supply")
def test_supply_output(instrument, station, instruments, measure, restore):
    """The supply delivers its programmed voltage, and the load it feeds draws what it should."""
    check = _supply_check(station, instrument)
    supply = instruments[instrument.name]
    restore.add(f"{instrument.name} output off", supply.safe_state)
    supply.safe_state()
    supply.clear_protection()
    supply.set_ovp(check.ovp_v)
    supply.set_current_limit(check.current_limit_a)
    supply.set_voltage(check.set_v)
    supply.output(True)
    volts = supply.measure_voltage()
    amps = supply.measure_current()
    supply.safe_state()
    measure("supply_voltage_error", round(abs(volts - check.set_v), 4), item=instrument.name)
    wired = instrument.name in station.wiring
    measure(
        "supply_load_current" if wired else "supply_open_circuit_current",
        round(amps, 4),
        item=station.wiring[instrument.name].test_point if wired else instrument.name,
        device=instrument.name,
    )


@pytest.mark.wired(instrument="supply")
def test_supply_overvoltage_protection(instrument, station, instruments, measure, restore):
    """Programming the output above the OVP level trips the protection and drops the output."""
    check = _supply_check(station, instrument)
    supply = instruments[instrument.name]
    restore.add(f"{instrument.name} output off, protection cleared", supply.safe_state)
    restore.add(f"{instrument.name} protection cleared", supply.clear_protection)
    supply.safe_state()
    supply.clear_protection()
    supply.set_ovp(check.ovp_v)
    supply.set_current_limit(check.current_limit_a)
    supply.set_voltage(check.set_v)
    supply.output(True)
    assert not supply.ovp_tripped(), f"{instrument.name}: OVP tripped at {check.set_v} V"
    supply.set_voltage(check.ovp_v + 0.5)
    tripped = supply.ovp_tripped()
    still_on = supply.output_on()
    measure("supply_ovp_tripped", tripped, item=instrument.name)
    assert not still_on, f"{instrument.name}: output still on after an over-voltage trip"
