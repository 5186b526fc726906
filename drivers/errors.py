"""Typed driver errors. Every error names the device and the operation."""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error a driver raises.

    ``device`` is the rack's name for the device, ``operation`` what was being
    done (an OID, a CLI command, a SCPI command...). The message is built so a
    technician can act on it without a traceback.
    """

    kind = "device error"

    def __init__(self, device: str, operation: str, detail: str = "") -> None:
        self.device = device
        self.operation = operation
        self.detail = detail
        text = f"{device}: {self.kind} during {operation}"
        if detail:
            text += f": {detail}"
        super().__init__(text)


class DeviceTimeout(DeviceError):
    kind = "timeout"


class DeviceAuthError(DeviceError):
    kind = "authentication failed"


class DeviceProtocolError(DeviceError):
    """The device answered something that is not valid for the protocol or command."""

    kind = "protocol error"


class DeviceReportedError(DeviceError):
    """The device understood the request and refused it (SNMP error-status, SCPI error...)."""

    kind = "device reported an error"


class DeviceUnreachable(DeviceError):
    kind = "unreachable"


class SessionDropped(DeviceError):
    kind = "session dropped"


class CommandRejected(DeviceError):
    kind = "command rejected"


class ParseError(DeviceError):
    """Output could not be parsed. Parsers raise this rather than guess a value."""

    kind = "unparsable output"
