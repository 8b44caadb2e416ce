"""Programs from the system's package manager that some tests drive (nginx, Chromium).

`.ci/run` installs them and sets REQUIRE_SYSTEM_TOOLS=1, so in CI a missing one fails the run.
On a developer's machine without them, those tests are skipped with the install command, so that
`make test` still works with nothing but Python.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def require_binary(*names: str, install: str) -> str:
    for name in names:
        found = shutil.which(name) or next(
            (
                str(p)
                for p in (Path("/usr/sbin") / name, Path("/usr/local/sbin") / name)
                if p.exists()
            ),
            None,
        )
        if found:
            return found
    message = f"{names[0]} is not installed: {install}"
    if os.environ.get("REQUIRE_SYSTEM_TOOLS") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
