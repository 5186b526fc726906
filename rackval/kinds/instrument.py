"""The instrument kind: SCPI instruments over VISA, in the rack or on the station's bench."""

from __future__ import annotations

from typing import Any, Literal

from drivers.base import Target
from rackval.kinds import DeviceKind, TargetContext
from rackval.model import ExpectedIdentity, Name, StrictModel


class InstrumentDevice(StrictModel):
    """An instrument that is part of the rack itself (station instruments live in the station file)."""

    kind: Literal["instrument"]
    driver: Name
    resource: str
    expected: ExpectedIdentity = ExpectedIdentity()


def target(device: Any, ctx: TargetContext) -> Target:
    """From a rack-file entry or a station file's instrument (which also sets VISA options)."""
    # the driver (pyvisa: ~0.04 s to import) only for a rack or station that has instruments
    from drivers.scpi import VisaSettings

    timeout_ms = getattr(device, "timeout_ms", 2000)
    visa = VisaSettings(
        resource=ctx.endpoint.get("resource", device.resource),
        visa_library=getattr(device, "visa_library", "@py"),
        timeout_ms=timeout_ms,
        read_termination=getattr(device, "read_termination", "\n"),
        write_termination=getattr(device, "write_termination", "\n"),
    )
    host, port = str(ctx.endpoint.get("host", "")), int(ctx.endpoint.get("port", 0))
    return Target(ctx.name, host, port, visa, timeout_s=timeout_ms / 1000, retries=0)


KIND = DeviceKind(
    name="instrument",
    model=InstrumentDevice,
    target=target,
    protocol="scpi",
    make_safe=lambda driver: driver.safe_state(),
    safe_state_text="outputs and inputs off",
    station=True,
)
