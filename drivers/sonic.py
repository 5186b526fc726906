"""SONiC switches over SSH, parsing sonic-utilities' text tables."""

from __future__ import annotations

import re
from typing import Any

from drivers import sonic_parse
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

SHOW_VERSION = "show version"
SHOW_STATUS = "show interfaces status"
SHOW_LLDP = "show lldp table"
SHOW_COUNTERS = "show interfaces counters"
SHOW_DOM = "show interfaces transceiver eeprom --dom"

# SONiC logs in to bash: "admin@leaf-2:~$ "; show commands page through a pager on a
# terminal unless PAGER is cat (click's echo_via_pager honours it)
SHELL = ShellSettings(
    prompt=re.compile(r"^[\w.-]+@[\w.-]+:[^$#]*[$#] ?$"),
    setup=("export PAGER=cat",),
)


def _rejected(output: str) -> bool:
    # in a shell there is no exit status: click's usage errors and bash's own say it
    head = output.lstrip()
    return head.startswith(("Usage:", "Error:", "-bash:")) or "command not found" in head[:200]


class Sonic:
    def __init__(self, target: Target, loop: Any = None, *, mode: str = "exec") -> None:
        self.name = target.name
        self.target = target
        self._ssh = SshSession(target, mode=mode, shell=SHELL, rejected=_rejected)

    def identity(self) -> SwitchIdentity:
        return read_parsed(self._ssh, SHOW_VERSION, sonic_parse.parse_version)

    def interfaces(self) -> list[Interface]:
        return read_parsed(self._ssh, SHOW_STATUS, sonic_parse.parse_interfaces_status)

    def neighbors(self) -> list[LldpNeighbor]:
        return read_parsed(self._ssh, SHOW_LLDP, sonic_parse.parse_lldp_table)

    def counters(self) -> list[ErrorCounters]:
        return read_parsed(self._ssh, SHOW_COUNTERS, sonic_parse.parse_interfaces_counters)

    def transceivers(self) -> list[Transceiver]:
        return read_parsed(self._ssh, SHOW_DOM, sonic_parse.parse_transceiver_dom)

    def snapshot(self) -> SwitchSnapshot:
        return SwitchSnapshot(
            identity=self.identity(),
            interfaces=tuple(self.interfaces()),
            neighbors=tuple(self.neighbors()),
            counters=tuple(self.counters()),
            transceivers=tuple(self.transceivers()),
        )

    def close(self) -> None:
        self._ssh.close()
