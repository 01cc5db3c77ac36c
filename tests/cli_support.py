"""Running the CLI in-process against a local deployment: output, errors and the exit code."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any

from mailwarden.cli import main
from mailwarden.cli.target import LocalTarget, Target

from local.deployment import LocalDeployment


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Terminal(io.StringIO):
    """Keyboard input at a terminal (``apply`` asks for confirmation only there)."""

    def isatty(self) -> bool:
        return True


def cli(target: Target | LocalDeployment, *argv: str, typed: str | None = None, stdin: str = "") -> Run:
    """``typed``: what the operator types at a terminal; else ``stdin`` is piped in (a script)."""
    if isinstance(target, LocalDeployment):
        target = LocalTarget(target)
    out, err = io.StringIO(), io.StringIO()
    source = io.StringIO(stdin) if typed is None else Terminal(typed)
    code = main(list(argv), target=target, out=out, err=err, stdin=source)
    return Run(code, out.getvalue(), err.getvalue())


_REPR = re.compile(r"""\{['"]|\[['"{]|['"]\]|\bb['"]|\w+Warning\b|site-packages/|Traceback \(most recent""")


def unreadable(text: str) -> list[str]:
    """The lines of ``text`` a person should not be shown: a JSON document or fragment, a Python
    dict/list/bytes repr, a library warning or a traceback (README "CLI": JSON only with --output json)."""
    bad = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        try:
            document = json.loads(stripped)
            if isinstance(document, dict | list):
                bad.append(line)
                continue
        except ValueError:
            pass
        if _REPR.search(stripped):
            bad.append(line)
    return bad
