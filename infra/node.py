"""The Node.js releases the CDK's jsii runtime supports, and its warning about the others as one
sentence (imported before ``aws_cdk``: the runtime starts at that import).

jsii (1.142, with aws-cdk-lib 2.275.0 in requirements.txt) prints a boxed banner on stderr when Node
is end-of-life, deprecated or untested, and through its Python runtime each line shows as a bytes
literal (``b'!!  Node 20 is end-of-life ...'``). The banner is silenced and this says it instead."""

from __future__ import annotations

import os
import subprocess
import sys

SUPPORTED_NODE_MAJORS = (22, 24)  # jsii's supported releases (its banner lists ^22.0.0 and ^24.0.0)


def node_major() -> int | None:
    try:
        version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout
        return int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def quiet_jsii_node_check() -> None:
    """Silences jsii's banner for this Node and, if it is not a supported release, says so in a sentence."""
    major = node_major()
    if major is None:
        return
    silenced = os.environ.get("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "")
    os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = ",".join(filter(None, [silenced, str(major)]))
    for kind in ("DEPRECATED", "UNTESTED", "KNOWN_BROKEN"):
        os.environ.setdefault(f"JSII_SILENCE_WARNING_{kind}_NODE_VERSION", "1")
    if major not in SUPPORTED_NODE_MAJORS and not os.environ.get("MAILWARDEN_NODE_WARNED"):
        os.environ["MAILWARDEN_NODE_WARNED"] = "1"  # once per run (cdk runs the app in a child process)
        supported = " or ".join(str(m) for m in SUPPORTED_NODE_MAJORS)
        print(
            f"Note: Node.js {major} is not a release the CDK's jsii runtime supports (use Node.js {supported}); "
            "synth usually works, but upgrade before reporting a CDK problem.",
            file=sys.stderr,
        )
