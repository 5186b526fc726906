"""Arista EOS switches over SSH, reading ``| json`` output."""

from __future__ import annotations

import re
from typing import Any

from drivers import eos_parse
from drivers.base import Target
from drivers.ssh import ShellSettings, SshSession, read_parsed
from drivers.switch import (
    ErrorCounters,
    Interface,
    LldpNeighbor,
    SwitchIdentity,
    SwitchSnapshot,
    Transceiver,
)

SHOW_VERSION = "show version | json"
SHOW_INTERFACES = "show interfaces | json"
SHOW_LLDP = "show lldp neighbors | json"
SHOW_DOM = "show interfaces transceiver dom | json"

SHELL = ShellSettings(
    prompt=re.compile(r"^[A-Za-z0-9][\w.-]*(\(config[^)]*\))?[>#]\s?$"),
    setup=("terminal length 0", "terminal width 32767"),
)


def _rejected(output: str) -> bool:
    # EOS answers a bad command with "% Invalid input", "% Incomplete command"...
    return output.lstrip().startswith("% ")


class AristaEos:
    def __init__(self, target: Target, loop: Any = None, *, mode: str = "exec") -> None:
        self.name = target.name
        self.target = target
        self._ssh = SshSession(target, mode=mode, shell=SHELL, rejected=_rejected)

    def identity(self) -> SwitchIdentity:
        return read_parsed(self._ssh, SHOW_VERSION, eos_parse.parse_version)

    def interfaces(self) -> list[Interface]:
        return read_parsed(self._ssh, SHOW_INTERFACES, eos_parse.parse_interfaces)

    def neighbors(self) -> list[LldpNeighbor]:
        return read_parsed(self._ssh, SHOW_LLDP, eos_parse.parse_lldp_neighbors)

    def counters(self) -> list[ErrorCounters]:
        return read_parsed(self._ssh, SHOW_INTERFACES, eos_parse.parse_error_counters)

    def transceivers(self) -> list[Transceiver]:
        return read_parsed(self._ssh, SHOW_DOM, eos_parse.parse_transceivers)

    def snapshot(self) -> SwitchSnapshot:
        identity = self.identity()
        # one "show interfaces" gives both states and error counters
        both = read_parsed(
            self._ssh,
            SHOW_INTERFACES,
            lambda text: (eos_parse.parse_interfaces(text), eos_parse.parse_error_counters(text)),
        )
        return SwitchSnapshot(
            identity=identity,
            interfaces=tuple(both[0]),
            neighbors=tuple(self.neighbors()),
            counters=tuple(both[1]),
            transceivers=tuple(self.transceivers()),
        )

    def close(self) -> None:
        self._ssh.close()
