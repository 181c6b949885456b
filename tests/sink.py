"""A durable SMTP sink for crash-consistency tests, run as its own process.

    python -m tests.sink --port PORT --record FILE [--fault-rate R] [--seed S]
                         [--after-data-drop-rate R]

Listens on 127.0.0.1:PORT (0 picks a free port) and prints "READY <port>" once listening. Each
accepted message appends one line per recipient, `<message-id>\t<rcpt>\n` (the Message-ID header
as sent, angle brackets included; "-" if absent), written with one write() and fsync'd BEFORE
the 250 reply: a line in FILE means the message really was accepted. SIGTERM/SIGINT: exit 0.

Faults, drawn from random.Random(seed), one draw per RCPT and one per end of DATA:
  - at RCPT, with probability fault-rate: "451 4.3.0 Try again later (sink fault)";
  - after the final ".", u = random(): u < fault-rate -> 451 (not recorded);
    u < 2*fault-rate -> drop before accept (connection closed, not recorded);
    u < 2*fault-rate + after-data-drop-rate -> accept then drop (recorded, connection closed
    before the 250, the RFC 1047 case).
Each injected fault is logged to stderr as `FAULT\t<kind>\t<message-id or rcpt>`; kinds are
rcpt-451, data-451, drop-before-accept, accept-then-drop.
"""

from __future__ import annotations

import argparse
import asyncio
import email.parser
import email.policy
import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
FAULT_KINDS = ("rcpt-451", "data-451", "drop-before-accept", "accept-then-drop")


def _message_id(data: bytes) -> str:
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(data)
    value = headers.get("Message-ID")
    text = str(value).strip() if value is not None else ""
    return text.replace("\t", " ").replace("\n", " ") or "-"


class SinkHandler:
    """aiosmtpd hooks: fault injection and the durable record."""

    def __init__(
        self, record_fd: int, rng: random.Random, fault_rate: float, after_data_drop_rate: float
    ) -> None:
        self.record_fd = record_fd
        self.rng = rng
        self.fault_rate = fault_rate
        self.after_data_drop_rate = after_data_drop_rate

    def _fault(self, kind: str, subject: str) -> None:
        sys.stderr.write(f"FAULT\t{kind}\t{subject}\n")
        sys.stderr.flush()

    async def _drop(self, server: SMTP) -> None:
        transport = server.transport
        if isinstance(transport, asyncio.Transport):
            transport.abort()  # no reply, no flush
        elif transport is not None:
            transport.close()
        await asyncio.sleep(3600)  # connection_lost() cancels the session task

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> Any:
        if self.rng.random() < self.fault_rate:
            self._fault("rcpt-451", address)
            return "451 4.3.0 Try again later (sink fault)"
        return MISSING

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = bytes(envelope.original_content or b"")
        message_id = _message_id(data)
        draw = self.rng.random()
        if draw < self.fault_rate:
            self._fault("data-451", message_id)
            return "451 4.3.0 Try again later (sink fault)"
        if draw < 2 * self.fault_rate:
            self._fault("drop-before-accept", message_id)
            await self._drop(server)
        lines = "".join(f"{message_id}\t{rcpt}\n" for rcpt in envelope.rcpt_tos)
        os.write(self.record_fd, lines.encode("utf-8", "surrogateescape"))
        os.fsync(self.record_fd)
        if draw < 2 * self.fault_rate + self.after_data_drop_rate:
            self._fault("accept-then-drop", message_id)
            await self._drop(server)
        return "250 2.0.0 OK recorded"


async def serve(
    port: int, record: Path, fault_rate: float, seed: int, after_data_drop_rate: float
) -> None:
    record.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    dir_fd = os.open(record.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the record file's directory entry is durable too
    finally:
        os.close(dir_fd)
    handler = SinkHandler(fd, random.Random(seed), fault_rate, after_data_drop_rate)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.test.localhost", enable_SMTPUTF8=True),
        host=HOST,
        port=port,
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sink", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--after-data-drop-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    if min(args.fault_rate, args.after_data_drop_rate) < 0:
        parser.error("rates must be >= 0")
    if 2 * args.fault_rate + args.after_data_drop_rate > 1:
        parser.error("2 * fault-rate + after-data-drop-rate must be <= 1")
    asyncio.run(
        serve(args.port, args.record, args.fault_rate, args.seed, args.after_data_drop_rate)
    )
    return 0


# --- Python API for tests -------------------------------------------------------------------


@dataclass
class SinkProcess:
    """A running sink: `.port`, `.accepted()`, `.faults()`, `.stop()`; a context manager."""

    process: subprocess.Popen[bytes]
    port: int
    record: Path
    log: Path
    host: str = field(default=HOST)

    def accepted(self) -> list[tuple[str, str]]:
        """(message-id, rcpt) for every accepted message, in order (from the durable record)."""
        if not self.record.exists():
            return []
        rows = []
        for line in self.record.read_text("utf-8", "surrogateescape").splitlines():
            message_id, _, rcpt = line.partition("\t")
            rows.append((message_id, rcpt))
        return rows

    def faults(self) -> list[tuple[str, str]]:
        """(kind, message-id or rcpt) for every fault injected so far."""
        rows = []
        for line in self.log.read_text("utf-8", "replace").splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[0] == "FAULT":
                rows.append((parts[1], parts[2]))
        return rows

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait, return the exit code (SIGKILL if it does not exit in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def __enter__(self) -> SinkProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_sink(
    tmp_path: Path,
    *,
    port: int = 0,
    record: Path | None = None,
    fault_rate: float = 0.0,
    seed: int = 0,
    after_data_drop_rate: float = 0.0,
    ready_timeout: float = 20.0,
) -> SinkProcess:
    """Start `python -m tests.sink` and wait for READY. Record and log files go in tmp_path."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    n = 0
    while (tmp_path / f"sink-{n}.log").exists():
        n += 1
    record = record if record is not None else tmp_path / f"sink-{n}.record"
    log = tmp_path / f"sink-{n}.log"
    command = [
        sys.executable, "-m", "tests.sink", "--port", str(port), "--record", str(record),
        "--fault-rate", repr(fault_rate), "--seed", str(seed),
        "--after-data-drop-rate", repr(after_data_drop_rate),
    ]  # fmt: skip
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log_file, stdin=subprocess.DEVNULL
        )
    assert process.stdout is not None
    deadline = time.monotonic() + ready_timeout
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        readable, _, _ = select.select([process.stdout], [], [], max(remaining, 0))
        chunk = os.read(process.stdout.fileno(), 1) if readable else b""
        if not chunk:
            process.kill()
            process.wait()
            raise RuntimeError(f"sink did not start: {line!r}; log: {log.read_text()[-2000:]}")
        line += chunk
    word, _, number = line.decode().strip().partition(" ")
    if word != "READY":
        process.kill()
        raise RuntimeError(f"unexpected sink output {line!r}")
    return SinkProcess(process=process, port=int(number), record=record, log=log)


if __name__ == "__main__":
    sys.exit(main())
