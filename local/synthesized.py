"""The CloudFormation template of the Mailwarden stack, synthesized in-process (cdk.json context, no
bundling), memoized per process and cached on disk (``.cache/synth/``, gitignored: local/cache.py).

The cache key is a hash of everything that shapes the stack's resources and IAM: ``infra/``,
``app.py``, ``cdk.json``, the parts of the ``mailwarden`` package the stack imports (contracts,
policy parsing, API response shapes), the CDK and cdk-nag versions, and the one part of the policy
file the stack reads besides its normalized copy in the policy layer: the Partner Central catalogs
(they decide the partner grant). Two policies that list the same catalogs therefore share a
template; only the policy layer's asset hash would differ, and nothing local reads it.

Synthesizing takes about 10 s (Node.js and the jsii runtime); a cached template loads in milliseconds.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from mailwarden.policy import Policy, parse_policy

from .cache import CACHE_DIR, write_atomically

ROOT = Path(__file__).resolve().parent.parent
REPO_POLICY = ROOT / "policy" / "mailwarden.yaml"
SOURCES = (
    "app.py",
    "cdk.json",
    "infra/**/*.py",
    "layers/mailwarden/python/mailwarden/contracts/**/*.py",
    "layers/mailwarden/python/mailwarden/policy.py",
    "layers/mailwarden/python/mailwarden/api/responses.py",
)
PACKAGES = ("aws-cdk-lib", "constructs", "cdk-nag")

_MEMO: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()
synths = 0  # templates synthesized by this process (the rest came from the memo or the disk cache)


def policy_inputs(policy: Policy) -> dict[str, Any]:
    """What the stack reads from the policy file that shapes its resources (infra/stack.py)."""
    return {"partner.catalogs": sorted(policy.partner.catalogs)}


@lru_cache(maxsize=1)
def _sources_digest() -> str:
    """The sources and package versions (read once per process)."""
    digest = hashlib.sha256()
    for pattern in SOURCES:
        for path in sorted(ROOT.glob(pattern)):
            if "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    for package in PACKAGES:
        digest.update(f"{package}=={importlib.metadata.version(package)}\0".encode())
    return digest.hexdigest()


def key(policy_text: str | None = None) -> str:
    """The cache key of the template for ``policy_text`` (None: the repository's policy file)."""
    text = REPO_POLICY.read_text() if policy_text is None else policy_text
    inputs = json.dumps(policy_inputs(parse_policy(text, "policy")))
    return hashlib.sha256(f"{_sources_digest()}\0{inputs}".encode()).hexdigest()[:20]


def template(policy_text: str | None = None) -> dict[str, Any]:
    """The synthesized template for a deployment of ``policy_text`` (None: the repository's policy).
    Treat it as read-only: it is shared."""
    global synths
    text = REPO_POLICY.read_text() if policy_text is None else policy_text
    k = key(text)
    with _LOCK:
        if k in _MEMO:
            return _MEMO[k]
        path = CACHE_DIR / "synth" / f"{k}.json"
        try:
            found: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            found = _synthesize(text)
            synths += 1
            write_atomically(path, json.dumps(found))
        _MEMO[k] = found
        return found


def _synthesize(policy_text: str) -> dict[str, Any]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from infra.node import quiet_jsii_node_check

    quiet_jsii_node_check()  # before app imports aws_cdk (the jsii runtime starts then)
    from app import build_app

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    with tempfile.TemporaryDirectory(prefix="mailwarden-synth-") as tmp:
        policy_file = Path(tmp) / "policy.yaml"
        policy_file.write_text(policy_text)
        context = {
            **context,
            "mailwarden:policyFile": str(policy_file),  # absolute: config.policy_path keeps it
            "aws:cdk:bundling-stacks": [],
            "aws:cdk:enable-path-metadata": True,  # resources carry their construct path (aws:cdk:path)
        }
        app, stack = build_app(context)
        assembly = app.synth()
        return dict(assembly.get_stack_by_name(stack.stack_name).template)
