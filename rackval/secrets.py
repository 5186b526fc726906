"""Credential references: ``env:NAME`` or ``file:PATH`` / ``file:PATH#key``.

A rack file names where a secret is, never the secret. ``file:`` paths are
relative to the referring file; ``#key`` picks a key from a YAML mapping
(a secrets file), otherwise the whole file (stripped) is the secret. A
``file:`` reference must stay inside the rack's own tree (the parent of the
rack file's folder) or inside ``$RACKVAL_SECRETS_DIR`` (where a station keeps
its secrets): a rack file cannot make rackval read, and send to a device,
an arbitrary file such as ``/etc/shadow``.
Resolved values are wrapped in :class:`drivers.base.Secret` so they never
print themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from drivers.base import Secret
from rackval.errors import ConfigError


def resolve_secret(ref: str, base_dir: Path, *, what: str = "credential") -> Secret:
    if ref.startswith("env:"):
        name = ref[4:]
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(f"{what}: environment variable {name} is not set")
        return Secret(value)
    if ref.startswith("file:"):
        spec = ref[5:]
        file_part, _, key = spec.partition("#")
        path = _allowed_secrets_path(base_dir, file_part, what)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read secrets file {path}: {exc.strerror}") from None
        if not key:
            return Secret(text.strip())
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"{what}: secrets file {path} is not valid YAML") from None
        if not isinstance(data, dict) or key not in data or data[key] is None:
            raise ConfigError(f"{what}: secrets file {path} has no key {key!r}")
        return Secret(str(data[key]))
    raise ConfigError(f"{what}: {ref[:5]!r}... is not a credential reference (env:NAME or file:PATH)")


def _allowed_secrets_path(base_dir: Path, ref: str, what: str) -> Path:
    path = (base_dir / Path(ref).expanduser()).resolve()
    roots = [base_dir.resolve().parent]
    if os.environ.get("RACKVAL_SECRETS_DIR"):
        roots.append(Path(os.environ["RACKVAL_SECRETS_DIR"]).expanduser().resolve())
    if not any(path.is_relative_to(root) for root in roots):
        raise ConfigError(
            f"{what}: secrets file {ref!r} is outside the rack's tree ({roots[0]}); "
            "put it there or in $RACKVAL_SECRETS_DIR"
        )
    return path


def secret_resolver(base_dir: Path):
    """A ``ref -> str`` function for simulators (which need the plain value)."""

    def resolve(ref: str) -> str:
        return resolve_secret(ref, base_dir).reveal()

    return resolve
