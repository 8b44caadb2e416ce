"""A counting SMTP server for the fan-out scenario (its own process, so that it is not what limits
the worker): accepts every message and writes how many it has received to a file.

    python bench/smtp_sink.py PORT COUNT_FILE
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received += 1
        return "250 OK"


async def main(port: int, count_file: Path) -> None:
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            await asyncio.to_thread(count_file.write_text, str(counter.received))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.1)
    finally:
        count_file.write_text(str(counter.received))  # noqa: ASYNC240 (the loop is stopping)
        controller.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2])))
