"""Running the CLI in-process against a local deployment: output, errors and the exit code."""

from __future__ import annotations

import io
import json
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


def cli(target: Target | LocalDeployment, *argv: str, stdin: str = "") -> Run:
    if isinstance(target, LocalDeployment):
        target = LocalTarget(target)
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), target=target, out=out, err=err, stdin=io.StringIO(stdin))
    return Run(code, out.getvalue(), err.getvalue())
