"""Capture the SQL of one request (PostgreSQL's `log_statement = all`): how many statements it ran
and which, and for a booking a pgbench script that replays the very same statements, with each
transaction's guest, announcement, idempotency key and new ids drawn from pgbench variables so that,
like the HTTP load, every transaction is a new guest.

What the log shows, and what this reads: `statement: <sql>` (simple protocol: BEGIN, COMMIT, a
statement without parameters) and `execute <name>: <sql>` (extended protocol, asyncpg's prepared
statements `__asyncpg_stmt_N__` or `<unnamed>`), the latter followed by `DETAIL:  parameters: $1 =
'...', $2 = NULL` when it has parameters; a statement spans lines (continuations start with a tab),
so one WITH ... statement with CTEs, `FOR UPDATE` inside a CTE or a multi-line VALUES is one entry.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

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


def verb(sql: str) -> str:
    """The statement's first keyword: SELECT, INSERT, WITH, BEGIN, COMMIT..."""
    found = re.match(r"\s*\(*\s*([A-Za-z]+)", sql)
    return found[1].upper() if found else "?"


def profile(statements: list[Statement]) -> dict[str, Any]:
    """What one request ran: the statement count (every statement PostgreSQL logged, BEGIN and
    COMMIT included), its transactions and connections, and the pool's pre-ping (SQLAlchemy's
    `BEGIN; ;ROLLBACK` on checkout: the empty statement is not logged, the pair is)."""
    verbs = [verb(s.sql) for s in statements]
    pings = sum(1 for a, b in itertools.pairwise(verbs) if a == "BEGIN" and b == "ROLLBACK")
    return {
        "count": len(statements),
        "transactions": sum(1 for v in verbs if v in {"BEGIN", "START"}) - pings,
        "pre_ping_pairs": pings,
        "connections": len({s.pid for s in statements}),
        "by_verb": dict(Counter(verbs).most_common()),
        "verbs": verbs,
        "sql": [" ".join(s.sql.split())[:300] for s in statements],
    }


@dataclass
class Ids:
    """Values of the captured request -> the pgbench expression that stands for them; values that
    are the same in every transaction (the host, the film) are constants; any other id found is kept
    as captured and noted (if it had to vary, pgbench's errors will show it)."""

    varying: dict[str, str]
    constants: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def _literal(value: str | None, ids: Ids) -> str:
    if value is None:
        return "NULL"
    if value in ids.varying:
        return ids.varying[value]
    if _TIMESTAMP.match(value):  # pgbench would read ":50" in a literal as a variable
        return f"to_timestamp({datetime.fromisoformat(value).timestamp():.6f})"
    for known, expression in ids.varying.items():  # 'booking-guest:<uuid>', a JSON body...
        if known in value:
            before, after = value.split(known, 1)
            return (
                f"({_literal(before, ids)} || CAST({expression} AS text) || {_literal(after, ids)})"
            )
    for unknown in _UUID.findall(value):
        if unknown not in ids.constants:
            note = f"id kept as captured: {unknown} (in {value[:80]!r})"
            if note not in ids.notes:
                ids.notes.append(note)
    quoted = "'" + value.replace("'", "''") + "'"
    return re.sub(r":(?=\w)", "' || chr(58) || '", quoted)  # keep pgbench off colons in text


def pgbench_safe(sql: str) -> str:
    """The statement's own text made safe for pgbench, which reads `:name` anywhere as one of its
    variables: comments dropped (`-- ...`, `/* ... */`), and a colon before a letter inside a
    string literal written as chr(58). `::` casts and `$n` parameters are left as they are."""
    out: list[str] = []
    i, size = 0, len(sql)
    while i < size:
        char = sql[i]
        if char == "'":  # a literal, '' being a quote inside it
            end = i + 1
            while end < size and not (sql[end] == "'" and sql[end + 1 : end + 2] != "'"):
                end += 2 if sql[end : end + 2] == "''" else 1
            literal = sql[i : end + 1]
            out.append(re.sub(r":(?=\w)", "' || chr(58) || '", literal))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = size if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = size if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def substitute(statement: Statement, ids: Ids) -> str:
    def replace(match: re.Match[str]) -> str:
        return f"({_literal(statement.params.get(int(match[1])), ids)})"

    return re.sub(r"\$(\d+)\b", replace, pgbench_safe(statement.sql))


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
    idempotency_key: str | None = None

    async def ids(self, conn: asyncpg.Connection) -> Ids:
        """Every value of this booking that must differ per pgbench transaction -> its expression."""
        guest = data.uid(data.USER, self.guest)
        announcement = data.uid(data.ANNOUNCEMENT, self.announcement)
        booking = await conn.fetchrow(
            "SELECT id, short_code FROM booking WHERE guest_id = $1 AND announcement_id = $2",
            guest,
            announcement,
        )
        assert booking is not None, "the captured booking is not in the database"
        varying = {
            str(guest): data.sql_uid(data.USER, ":n"),
            str(data.uid(data.SESSION, self.guest)): data.sql_uid(data.SESSION, ":n"),
            str(announcement): data.sql_uid(data.ANNOUNCEMENT, ":a"),
            str(booking["id"]): data.sql_uid(data.BOOKING, ":bid"),
            booking["short_code"]: "'p' || CAST(:bid AS text)",
        }
        if self.idempotency_key:  # per user, and guests are reused by the next pgbench run
            varying[self.idempotency_key] = "'k' || CAST(:run AS text) || '-' || CAST(:n AS text)"
        try:
            events = await conn.fetch(
                "SELECT id FROM domain_event WHERE booking_id = $1 ORDER BY created_at, id",
                booking["id"],
            )
        except asyncpg.PostgresError:  # no outbox table (any more): nothing to vary there
            events = []
        for index, event in enumerate(events):
            varying[str(event["id"])] = data.sql_uid(data.EVENT, f":bid * 10 + {index}")
        fixed = await conn.fetchrow("SELECT * FROM announcement WHERE id = $1", announcement)
        constants = {
            str(value) for key, value in dict(fixed or {}).items() if key.endswith("_id") and value
        }
        return Ids(varying, constants)

    async def pgbench_script(self, conn: asyncpg.Connection, mode: str) -> tuple[str, list[str]]:
        """The script for pgbench -D k=0 -D clients=C -D first=F -D per=P -D run=R, and notes on
        the ids kept as captured."""
        ids = await self.ids(conn)
        pick = "(:n - 1) / :per" if mode == "hot" else "(:n - 1) % :per"
        keyed = ", with an Idempotency-Key" if self.idempotency_key else ""
        lines = [
            f"-- The SQL of one booking{keyed}, captured from the app ({mode} mode), one new guest",
            "-- per transaction (guest n, announcement a), as bench/capture.py builds it.",
            "\\set k :k + 1",
            "\\set n 1 + :client_id + (:k - 1) * :clients",
            f"\\set a :first + {pick}",
            "\\set bid :run * 10000000 + :n",
        ]
        lines += [
            substitute(statement, ids).rstrip().rstrip(";") + ";" for statement in self.statements
        ]
        return "\n".join(lines) + "\n", ids.notes
