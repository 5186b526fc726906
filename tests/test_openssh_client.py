"""OpenSSH's own ``ssh`` client against the switch simulator: exec, interactive shell, auth."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from rackval.model import load_rack
from simulators.switch_ssh import switches_alone

ROOT = Path(__file__).resolve().parent.parent
RACK = load_rack(ROOT / "fixtures" / "racks" / "demo.yaml")
PASSWORD = "demo-switch-password"  # the demo rack's published demo secret


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("RACKVAL_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{tool} not found (RACKVAL_REQUIRE_SERVICES=1)")
        pytest.skip(f"{tool} not installed")
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    ssh, keygen = _need("ssh"), _need("ssh-keygen")
    tmp = tmp_path_factory.mktemp("openssh")
    key = tmp / "id_ed25519"
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    with switches_alone(RACK, tmp / "sims") as handles:
        for name in handles:
            (tmp / "sims" / name / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
        yield {"ssh": ssh, "key": key, "handles": handles, "tmp": tmp}


def _ssh(env, name, *args, known_hosts=None, key=True, input=None, extra_env=None, tty=False):
    ep = env["handles"][name].endpoint
    cmd = [
        env["ssh"],
        "-F",
        "/dev/null",
        "-p",
        str(ep["port"]),
        "-o",
        f"UserKnownHostsFile={known_hosts or ep['known_hosts']}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "LogLevel=ERROR",
    ]
    if key:
        cmd += [
            "-i",
            str(env["key"]),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "PasswordAuthentication=no",
        ]
    else:
        cmd += [
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "NumberOfPasswordPrompts=1",
        ]
    if tty:
        cmd += ["-tt"]
    cmd += ["admin@127.0.0.1", *args]
    run_env = dict(os.environ, **(extra_env or {}))
    return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=60, env=run_env)


def test_exec_a_command(env):
    result = _ssh(env, "leaf-1", "show version")
    assert result.returncode == 0, result.stderr
    assert "Arista DCS-7050CX3-32S" in result.stdout
    assert "Software image version: 4.30.4M" in result.stdout


def test_exec_reports_a_bad_command(env):
    result = _ssh(env, "leaf-2", "show nothing")
    assert result.returncode == 2
    assert 'Error: No such command "nothing".' in result.stdout


def test_interactive_session(env):
    result = _ssh(env, "leaf-1", tty=True, input="terminal length 0\nshow lldp neighbors\nexit\n")
    assert "leaf-1#" in result.stdout
    assert "srv-03" in result.stdout and "Et3" in result.stdout


def test_interactive_sonic_session(env):
    result = _ssh(env, "leaf-2", tty=True, input="show interfaces status\nexit\n")
    assert "admin@leaf-2:~$" in result.stdout
    assert "Ethernet124" in result.stdout and "QSFP-DD" in result.stdout


def test_password_authentication(env):
    askpass = env["tmp"] / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\necho '{PASSWORD}'\n")
    askpass.chmod(stat.S_IRWXU)
    extra = {"SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    result = _ssh(env, "leaf-2", "show version", key=False, extra_env=extra, input="")
    assert result.returncode == 0, result.stderr
    assert "HwSKU: Mellanox-SN2700" in result.stdout


def test_unknown_host_key_is_refused(env):
    empty = env["tmp"] / "empty_known_hosts"
    empty.write_text("")
    result = _ssh(env, "leaf-1", "show version", known_hosts=empty)
    assert result.returncode == 255
    assert "Host key verification failed" in result.stderr


@pytest.mark.parametrize("name", ["leaf-1", "leaf-2"])  # EOS, SONiC
def test_interactive_exit_sends_exit_status_zero(env, name):
    """sshd sends the login shell's exit-status before closing: ``ssh -tt host`` + exit is 0."""
    result = _ssh(env, name, tty=True, input="show version\nexit\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "show version" in result.stdout  # the shell really ran and echoed


def test_sonic_shell_exit_reports_the_last_status_and_logout(env):
    """bash's exit without an argument exits with the last command's status."""
    result = _ssh(env, "leaf-2", tty=True, input="show nothing\nexit\n")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "logout" in result.stdout


def test_eos_terminal_settings_in_a_shell(env):
    result = _ssh(env, "leaf-1", tty=True, input="terminal width 511\nterminal length 0\nexit\n")
    assert result.returncode == 0, result.stderr
    assert "Width set to 511 columns." in result.stdout
    assert "Pagination disabled." in result.stdout
