"""Errors rackval itself raises about its inputs (rack, station, limits, scenario files)."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration file is wrong. The message names file, line and field.

    ``problems`` holds one line per problem, each ``file:line: field: message``.
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))
