"""Capture the SQL of one booking (PostgreSQL's `log_statement = all`) and turn it into a pgbench
script that replays the very same statements, with each transaction's guest, announcement and new
ids drawn from pgbench variables so that, like the HTTP load, every transaction is a new guest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from bench import data

_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \w+ \[(\d+)\] (LOG|DETAIL|ERROR|STATEMENT):  (.*)$")
_PARAM = re.compile(r"\$(\d+) = (NULL|'((?:[^']|'')*)')")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?[+-]\d\d(:\d\d)?$")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Statement:
    pid: int
    sql: str
    params: dict[int, str | None]


def read_log(log_path: Path, offset: int) -> list[Statement]:
    """The statements logged after byte `offset`, with their parameters."""
    with log_path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", errors="replace")
    entries: list[tuple[int, str, str]] = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            entries.append((int(match[1]), match[2], match[3]))
        elif entries and line.startswith("\t"):
            pid, level, message = entries[-1]
            entries[-1] = (pid, level, message + "\n" + line[1:])
    statements: list[Statement] = []
    for pid, level, message in entries:
        if level == "LOG" and (
            found := re.match(r"(?:statement|execute [^:]+): (.*)", message, re.S)
        ):
            statements.append(Statement(pid, found[1].strip(), {}))
        elif level == "DETAIL" and message.startswith("parameters:") and statements:
            for number, raw, quoted in _PARAM.findall(message):
                statements[-1].params[int(number)] = (
                    None if raw == "NULL" else quoted.replace("''", "'")
                )
    return statements


def _literal(value: str | None, ids: dict[str, str]) -> str:
    if value is None:
        return "NULL"
    if value in ids:
        return ids[value]
    if _TIMESTAMP.match(value):  # pgbench would read ":50" in a literal as a variable
        return f"to_timestamp({datetime.fromisoformat(value).timestamp():.6f})"
    for known, expression in ids.items():  # e.g. 'booking-guest:<uuid>' (an advisory lock key)
        if known in value:
            before, after = value.split(known, 1)
            return (
                f"({_literal(before, ids)} || CAST({expression} AS text) || {_literal(after, ids)})"
            )
    for unknown in _UUID.findall(value):
        raise ValueError(f"captured SQL has an id pgbench cannot vary: {unknown} in {value!r}")
    quoted = "'" + value.replace("'", "''") + "'"
    return re.sub(r":(?=\w)", "' || chr(58) || '", quoted)  # keep pgbench off colons in text


def substitute(statement: Statement, ids: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        return f"({_literal(statement.params[int(match[1])], ids)})"

    return re.sub(r"\$(\d+)\b", replace, statement.sql)


def plain_sql(statement: Statement) -> str:
    """The statement with its parameters written in as literals (for EXPLAIN)."""

    def replace(match: re.Match[str]) -> str:
        value = statement.params.get(int(match[1]))
        return "NULL" if value is None else "'" + value.replace("'", "''") + "'"

    return re.sub(r"\$(\d+)\b", replace, statement.sql)


@dataclass
class Capture:
    statements: list[Statement]
    guest: int
    announcement: int

    async def ids(self, conn: asyncpg.Connection) -> dict[str, str]:
        """Every value of this booking that must differ per pgbench transaction -> its expression."""
        booking = await conn.fetchrow(
            "SELECT id, short_code FROM booking WHERE guest_id = $1 AND announcement_id = $2",
            data.uid(data.USER, self.guest),
            data.uid(data.ANNOUNCEMENT, self.announcement),
        )
        assert booking is not None, "the captured booking is not in the database"
        events = await conn.fetch(
            "SELECT id FROM domain_event WHERE booking_id = $1", booking["id"]
        )
        ids = {
            str(data.uid(data.USER, self.guest)): data.sql_uid(data.USER, ":n"),
            str(data.uid(data.SESSION, self.guest)): data.sql_uid(data.SESSION, ":n"),
            str(data.uid(data.ANNOUNCEMENT, self.announcement)): data.sql_uid(
                data.ANNOUNCEMENT, ":a"
            ),
            str(booking["id"]): data.sql_uid(data.BOOKING, ":bid"),
            booking["short_code"]: "'p' || CAST(:bid AS text)",
        }
        for index, event in enumerate(events):
            ids[str(event["id"])] = data.sql_uid(data.EVENT, f":bid * 10 + {index}")
        return ids

    async def pgbench_script(self, conn: asyncpg.Connection, mode: str) -> str:
        """The script for pgbench -D k=0 -D clients=C -D first=F -D per=P -D run=R."""
        ids = await self.ids(conn)
        pick = "(:n - 1) / :per" if mode == "hot" else "(:n - 1) % :per"
        lines = [
            f"-- The SQL of one booking, captured from the app ({mode} mode), one new guest per",
            "-- transaction (guest n, announcement a), as bench/capture.py builds it.",
            "\\set k :k + 1",
            "\\set n 1 + :client_id + (:k - 1) * :clients",
            f"\\set a :first + {pick}",
            "\\set bid :run * 10000000 + :n",
        ]
        lines += [substitute(statement, ids).rstrip(";") + ";" for statement in self.statements]
        return "\n".join(lines) + "\n"
