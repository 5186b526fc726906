"""What every simulated SNMP PDU shares, whatever its vendor's MIB.

A vendor module (``apc_pdu``, ``raritan_pdu``) builds a model: its MIB tree
over the shared physical state. The rest is the same for every vendor and
lives here once: the scenario faults a PDU understands (spelled the same for
every vendor, so one scenario file fails an APC and a Raritan alike), the
agent's credentials from the rack file, and starting and stopping the agent
on the simulated rack's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import numbers
from collections.abc import Callable
from typing import Any, Protocol

from rackval.errors import ConfigError
from simulators.base import RequestGate, SimContext, SimHandle
from simulators.scenario import check_fault_params
from simulators.snmp_agent import MibTree, SnmpAgent, UsmUser

FAULT_PARAMS: dict[str, dict[str, type]] = {
    "dead_outlet": {"outlet": int},
    "overcurrent": {"outlet": int, "factor": numbers.Real},
    "no_answer": {},
    "wrong_credentials": {},
    "firmware": {"firmware": str},
    "phase_imbalance": {"phase": str, "factor": numbers.Real},
    "garbled": {},
}
PHASES = ("L1", "L2", "L3")
OVERCURRENT_FACTOR = 2.5  # an overcurrent fault's default: well past any outlet's limit


class PduModel(Protocol):
    """What :func:`start_pdu` needs of a vendor's model."""

    tree: MibTree
    outlet_count: int
    firmware: str
    garbled: bool

    def stop(self) -> None:
        """Cancel pending timers (delayed switching, reboots)."""


def apply_faults(ctx: SimContext, name: str, driver: str, model: PduModel) -> dict[str, bool]:
    """Validate and apply ``name``'s faults to the physical state and ``model``.

    Returns the agent-level switches: ``silent`` (never answers) and
    ``wrong_credentials`` (serves other keys than the rack file's).
    """
    switches = {"silent": False, "wrong_credentials": False}
    state = ctx.state
    for fault in ctx.faults:
        allowed = FAULT_PARAMS.get(fault.kind)
        where = f"scenario: fault {fault.kind} on {name}"
        if allowed is None:
            raise ConfigError(
                f"scenario: fault {fault.kind!r} on {name}: unknown for a {driver} PDU "
                f"(known: {', '.join(sorted(FAULT_PARAMS))})"
            )
        params = check_fault_params(fault, allowed)
        for key in allowed:
            if key not in params and not (fault.kind == "overcurrent" and key == "factor"):
                raise ConfigError(f"{where}: {key} is required")
        if "outlet" in params and not 1 <= params["outlet"] <= model.outlet_count:
            raise ConfigError(
                f"{where}: outlet {params['outlet']} does not exist ({name} has {model.outlet_count})"
            )
        factor = float(params.get("factor", OVERCURRENT_FACTOR))
        if "factor" in allowed and factor <= 0:
            raise ConfigError(f"{where}: factor must be > 0")
        if fault.kind == "dead_outlet":
            with state.lock:
                state.dead_outlets.add((name, params["outlet"]))
        elif fault.kind == "overcurrent":
            with state.lock:
                state.current_scale[(name, params["outlet"])] = factor
        elif fault.kind == "phase_imbalance":
            phase = params["phase"]
            if phase not in PHASES:
                raise ConfigError(f"{where}: phase must be L1, L2 or L3")
            with state.lock:
                for index in range(1, model.outlet_count + 1):
                    if state.outlet_phase(name, index) == phase:
                        key = (name, index)
                        state.current_scale[key] = state.current_scale.get(key, 1.0) * factor
        elif fault.kind == "firmware":
            model.firmware = params["firmware"]
        elif fault.kind == "garbled":
            model.garbled = True
        elif fault.kind == "no_answer":
            switches["silent"] = True
        elif fault.kind == "wrong_credentials":
            switches["wrong_credentials"] = True
    return switches


def agent_credentials(ctx: SimContext, name: str, wrong: bool) -> tuple[list[str], list[UsmUser]]:
    """The communities and v3 users the agent accepts: the rack file's, or spoilt ones if ``wrong``."""
    snmp = ctx.rack.devices[name].snmp
    spoil = (lambda s: s + "-not-the-racks") if wrong else (lambda s: s)
    communities: list[str] = []
    users: list[UsmUser] = []
    if snmp.community:
        communities.append(spoil(ctx.resolve_secret(snmp.community)))
    if snmp.user and snmp.auth_key and snmp.priv_key:
        users.append(
            UsmUser(
                snmp.user,
                snmp.auth_protocol,
                spoil(ctx.resolve_secret(snmp.auth_key)),
                snmp.priv_protocol,
                spoil(ctx.resolve_secret(snmp.priv_key)),
            )
        )
    return communities, users


def on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Run ``fn`` on ``loop``'s thread (directly if we are already there)."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        return fn()

    async def call() -> Any:
        return fn()

    return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout)


def start_pdu(
    ctx: SimContext, name: str, driver: str, make_model: Callable[[SimContext, str], PduModel]
) -> SimHandle:
    """Start the simulated PDU ``name``: the vendor's model behind an SNMP agent on 127.0.0.1."""
    device = ctx.rack.devices.get(name)
    if device is None or device.kind != "pdu":
        raise ConfigError(f"simulator {driver}: {name!r} is not a PDU of this rack")
    loop = ctx.loop
    model = make_model(ctx, name)
    switches = apply_faults(ctx, name, driver, model)
    communities, users = agent_credentials(ctx, name, switches["wrong_credentials"])
    gate = RequestGate(latency_s=ctx.latency_s)
    agent = SnmpAgent(model.tree, gate=gate, communities=communities, users=users, host=ctx.host)
    agent.silent = switches["silent"]
    on_loop(loop, lambda: agent.start(loop))

    def stop() -> None:
        def shutdown() -> None:
            model.stop()
            agent.close()

        if loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            on_loop(loop, shutdown)

    def sim_state() -> dict[str, Any]:
        return {
            "outlets": {
                str(i): ("on" if ctx.state.outlet_on(name, i) else "off")
                for i in range(1, model.outlet_count + 1)
            }
        }

    return SimHandle(
        name=name,
        endpoint={"host": ctx.host, "port": agent.port, "protocol": "snmp"},
        stop=stop,
        stats=lambda: {"requests": gate.requests},
        state=sim_state,
    )
