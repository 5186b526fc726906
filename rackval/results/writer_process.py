"""The results writer's database work, in a process of its own.

Why: the writer thread (:mod:`rackval.results.writer`) used to convert, insert
and commit each batch itself. That is Python work under the GIL, and the
SQLite driver hands the GIL back and forth around every statement: each time,
the test thread waited or was woken. On the hall rack the records cost the
tests ~0.5-0.9 s of a ~4.5 s run that way (issue #14, benchmarks/README.md).
Now the writer thread only pickles a batch, writes it to this process's
stdin and waits (GIL released) for its answer; the inserts run on the other
core.

The protocol, both ways: frames of a 4-byte big-endian length and a pickle.
The parent's first frame is the store's URL (never on the command line: it
may hold a password) and whether the parent flushes the WAL itself; each
later frame is a batch of rows (``(table name, values)``). The child answers
each frame with ``("ok", rows)`` once the batch is committed, or
``("error", type name, first line)`` and stores nothing more.

What it changes for a crash: nothing the run reported can be lost. A
SIGKILL of the run leaves this process reading every batch already sent
(the pipe keeps them), committing each, flushing the WAL and exiting at the
end of its input. It runs in its own session, so a Ctrl-C at the terminal
(which interrupts the run, and the run then records that) does not stop it
before the run's last batch.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from rackval.results.writer import RemoteError, first_line

_LENGTH = struct.Struct(">I")
# how long close() waits for the process to commit its last batch and exit
CLOSE_TIMEOUT_S = 60.0


def write_frame(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any | None:
    """The next frame's object; None at the end of the input (or a frame cut short by it)."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


class WriterProcess:
    """Commits batches in a child process: :meth:`commit` returns when the child has committed.

    Started by :meth:`start` (when a run starts) or at the first batch. ``name`` (the store's
    URL without its password) names the store in errors.
    """

    def __init__(self, url: str, name: str, *, wal_flushed_elsewhere: bool) -> None:
        self.url = url
        self.name = name
        self.wal_flushed_elsewhere = wal_flushed_elsewhere
        self._proc: subprocess.Popen[bytes] | None = None
        self._opened = False  # its answer to the URL has been read

    def start(self) -> None:
        """Start the process and send it the store's URL; its answer is read at the first batch.

        Called when a run starts, so that the process has opened the store
        (~0.3 s: Python and SQLAlchemy) before the run's first records.
        """
        if self._proc is not None:
            return
        # the rackval this one is, wherever it was imported from
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "rackval.results.writer_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # everything it has to say comes back as a frame
            env=env,
            start_new_session=True,
        )
        self._send({"url": self.url, "wal_flushed_elsewhere": self.wal_flushed_elsewhere})
        self._opened = False

    def _send(self, obj: Any) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it exited: its answer says so
            write_frame(proc.stdin, obj)

    def _answer(self) -> Any:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        try:
            reply = read_frame(proc.stdout)
        except ConnectionResetError:
            reply = None
        if reply is None:
            status = proc.wait()
            raise RemoteError("WriterProcessExited", f"the results writer process exited (status {status})")
        if reply[0] != "ok":
            raise RemoteError(reply[1], reply[2])
        return reply

    def commit(self, rows: list[Any]) -> None:
        """Return once the process has committed ``rows``; raise :class:`RemoteError` if it could not."""
        self.start()
        if not self._opened:
            self._answer()  # the store opened (or why not)
            self._opened = True
        self._send(rows)
        self._answer()

    def close(self) -> None:
        """End its input and wait for it to exit (it has answered every batch sent)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        try:
            proc.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """The child: open the store, then commit each batch read from ``inp`` and answer on ``out``."""
    answering = True

    def answer(reply: tuple[Any, ...]) -> None:
        nonlocal answering
        if answering:
            try:
                write_frame(out, reply)
            except (BrokenPipeError, OSError):
                answering = False  # the run is gone: go on committing what it sent

    config = read_frame(inp)
    if config is None:
        return
    try:
        from rackval.results.database import BatchCommitter, make_engine
        from rackval.results.walsync import flush_wal

        engine = make_engine(config["url"])
    except Exception as exc:  # a missing driver, a bad URL: said once, then nothing is stored
        answer(("error", type(exc).__name__, first_line(exc)))
        return
    committer = BatchCommitter(engine, wal_flushed_elsewhere=config["wal_flushed_elsewhere"])
    answer(("ok", 0))
    failed = False
    try:
        while (rows := read_frame(inp)) is not None:
            if failed:
                continue  # the parent was told; it sends nothing more
            try:
                committer.commit(rows)
            except Exception as exc:
                failed = True
                answer(("error", type(exc).__name__, first_line(exc)))
                continue
            answer(("ok", len(rows)))
    finally:
        committer.close()
        database = engine.url.database
        if config["wal_flushed_elsewhere"] and database:
            # the run may be gone (killed) and no longer flush what this committed last
            flush_wal(Path(f"{database}-wal"))
        engine.dispose()


def main() -> None:
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
