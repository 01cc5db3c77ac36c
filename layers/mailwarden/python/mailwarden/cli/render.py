"""What the CLI prints: tables, plan lines, progress bars (stderr, only on a terminal), or JSON.

Every command returns a :class:`Result`; ``--output json`` prints its ``data`` and nothing else on
stdout, so scripts parse one document. Text goes to stdout; progress and hints to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO


class ExitCode:
    """Exit codes scripts can rely on (README "CLI")."""

    OK = 0
    FAILED = 1  # something failed: an action, a workflow, an unexpected error
    USAGE = 2  # bad arguments (argparse uses 2 as well)
    CHANGES = 3  # plan --detailed-exitcode: changes are planned
    PENDING_APPROVAL = 4  # waiting for a human approval
    HALTED = 5  # refused or stopped: kill switch on, rejected, a run already in progress
    NOT_FOUND = 6  # the stack, approval, identity or user does not exist
    ACCESS = 7  # no AWS credentials, or not allowed
    TIMED_OUT = 8  # gave up waiting (--timeout); the work goes on in AWS


@dataclass
class Result:
    code: int
    data: dict[str, Any]
    lines: list[str] = field(default_factory=list)  # the text form


class CliError(Exception):
    """A problem the operator can fix: the message says what to do."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], empty: str = "(none)") -> list[str]:
    """``columns``: (key, header). Cells are cut at 60 characters."""
    if not rows:
        return [empty]

    def cell(row: dict[str, Any], key: str) -> str:
        value = row.get(key)
        text = "-" if value is None or value == "" else str(value)
        return text if len(text) <= 60 else text[:57] + "..."

    cells = [[cell(r, k) for k, _ in columns] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h) in enumerate(columns)]
    out = ["  ".join(h.upper().ljust(w) for (_, h), w in zip(columns, widths, strict=True)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return out


def words(value: Any) -> str:
    """A value as a person reads it: lists comma-separated, mappings as ``key=value`` pairs (nested the
    same way, in parentheses), never a Python or JSON repr."""
    if isinstance(value, dict):
        return ", ".join(
            f"{k}={words(v) if not isinstance(v, dict | list) else f'({words(v)})'}" for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return ", ".join(words(v) for v in value) if value else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def ago(seconds: float) -> str:
    """``3d 4h``, ``12m``, ``40s``."""
    s = int(abs(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            major, rest = divmod(s, size)
            minor = {"d": ("h", 3600), "h": ("m", 60), "m": ("s", 1)}[unit]
            return f"{major}{unit}" + (f" {rest // minor[1]}{minor[0]}" if rest // minor[1] else "")
    return f"{s}s"


class Console:
    def __init__(self, output: str, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.output = output
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        forced = os.environ.get("MAILWARDEN_PROGRESS")
        self.live = output == "text" and (forced == "1" or (forced != "0" and self.err.isatty()))
        self.color = output == "text" and self.out.isatty() and not os.environ.get("NO_COLOR")

    def emit(self, result: Result) -> int:
        if self.output == "json":
            self.out.write(json.dumps(result.data, indent=2, default=str, sort_keys=True) + "\n")
        else:
            for line in result.lines:
                self.out.write(self.paint(line) + "\n")
        return result.code

    def paint(self, line: str) -> str:
        if not self.color:
            return line
        stripped = line.lstrip()
        for prefix, code in (("+ ", "32"), ("- ", "31"), ("~ ", "33"), ("! ", "31;1")):
            if stripped.startswith(prefix):
                return f"\033[{code}m{line}\033[0m"
        return line

    def note(self, message: str) -> None:
        """A hint or a phase change, on stderr (never in the JSON document)."""
        self.err.write(message + "\n")

    def progress(self, label: str) -> Progress:
        return Progress(self, label)


class Progress:
    """``[#########-----------]  12/40  applying`` redrawn in place; a counter when the total is
    unknown. Off the terminal (CI, pipes) it prints a line per phase instead."""

    WIDTH = 28

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
        self.label = label
        self.phase = ""
        self.started = time.monotonic()
        self.drawn = False

    def update(self, done: int, total: int | None, phase: str) -> None:
        if not self.console.live:
            if phase != self.phase:
                self.console.note(f"{self.label}: {phase}")
            self.phase = phase
            return
        self.phase = phase
        elapsed = ago(time.monotonic() - self.started)
        if total:
            filled = min(self.WIDTH, round(self.WIDTH * done / total))
            bar = f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {done}/{total}"
        else:
            bar = f"[{'.' * (done % (self.WIDTH + 1)):<{self.WIDTH}}] {done}"
        self.console.err.write(f"\r\033[K{self.label}: {bar}  {phase}  ({elapsed})")
        self.console.err.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.console.err.write("\n")
            self.drawn = False
