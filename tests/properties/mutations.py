"""Hypothesis strategies for edge inputs: valid documents mutated the way a fuzzer or a careless
caller would (a key missing, a value of the wrong type, huge and unicode strings, boundary numbers,
extra keys), and a count of the cases each property generated (printed at the end of the run)."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any, get_args

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import BaseModel

# Reproducible in CI: the same cases on every run, nothing remembered between runs, no deadline
# (a case that calls the emulator takes milliseconds, more on a busy machine).
settings.register_profile(
    "mailwarden",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
settings.load_profile("mailwarden")

CASES: Counter[str] = Counter()  # property -> generated cases run (tests/properties/conftest.py prints it)
REFUSED: Counter[str] = Counter()  # property -> cases refused with a reason


def counted(name: str, refused: bool = False) -> None:
    CASES[name] += 1
    if refused:
        REFUSED[name] += 1


LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
HEX = DIGITS + "abcdef"


def chars(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """``[alphabet]{min_size,max_size}``: the language ``st.from_regex`` generates for it, drawn a
    string at a time (from_regex draws a character at a time: half a property's time went there)."""
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


def joined(*parts: str | st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The concatenation of literal strings and string strategies."""
    return st.tuples(*(st.just(p) if isinstance(p, str) else p for p in parts)).map("".join)


BOUNDARY_INTS = [
    0,
    1,
    -1,
    2,
    59,
    60,
    61,
    255,
    256,
    999_999_999,
    1_000_000_000,
    2**31 - 1,
    2**31,
    -(2**31),
    2**63,
    10**30,
]
HUGE = st.integers(min_value=300, max_value=20_000).flatmap(
    lambda n: st.sampled_from(["x" * n, "é" * n, "名" * n, "a." * (n // 2), "\u202e" * n])
)
TEXT = st.one_of(
    st.text(max_size=40),  # any unicode (no lone surrogates: JSON from AWS cannot carry them)
    st.sampled_from(["", " ", "\t", "\n", "null", "None", "0", "-1", "名前", "ü", "😀", "a b", "a/b", "%00", "\x00"]),
    HUGE,
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(BOUNDARY_INTS),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON_VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into ``doc`` (dict keys, list indexes), the root included."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, (*prefix, i))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path[:-1]:
        doc = doc[p]
    return doc


def boundary(value: Any) -> st.SearchStrategy[Any]:
    """Values at the edges of ``value``'s own type: what a careful caller probes first."""
    if isinstance(value, bool):
        return st.sampled_from([not value, 0, 1, "true"])
    if isinstance(value, int):
        return st.sampled_from(BOUNDARY_INTS) | st.sampled_from([-value, value * 10**9, float(value), str(value)])
    if isinstance(value, float):
        return st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, int(value)])
    if isinstance(value, str):
        return st.sampled_from(["", " ", value.upper(), f" {value} ", value + "\n", value[:1]]) | HUGE | TEXT
    if isinstance(value, list):
        return st.sampled_from([[], value * 20, value[:-1], [*value, value[0] if value else None]])
    if isinstance(value, dict):
        return st.sampled_from([{}, [value]])
    return SCALAR


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Any], max_mutations: int = 3) -> Any:
    """A document from ``valid`` with 1..``max_mutations`` mutations: a value at its type's edges,
    any other JSON value, a key deleted or null, an extra key, a value wrapped in a list or encoded
    as a JSON string."""
    doc = copy.deepcopy(draw(valid))
    for _ in range(draw(st.integers(min_value=1, max_value=max_mutations))):
        path = draw(st.sampled_from(list(paths(doc))))
        op = draw(
            st.sampled_from(
                ["boundary", "boundary", "boundary", "replace", "delete", "null", "extra", "wrap", "stringify"]
            )
        )
        if not path:
            if op in ("replace", "wrap", "stringify"):
                doc = draw(JSON_VALUE) if op == "replace" else ([doc] if op == "wrap" else json.dumps(doc))
            continue
        parent, key = _parent(doc, path), path[-1]
        if op == "delete":
            del parent[key]
        elif op == "null":
            parent[key] = None
        elif op == "extra" and isinstance(parent[key], dict):
            parent[key][draw(st.text(max_size=12))] = draw(JSON_VALUE)
        elif op == "wrap":
            parent[key] = [parent[key]]
        elif op == "stringify":
            parent[key] = json.dumps(parent[key])
        elif op == "boundary":
            parent[key] = draw(boundary(parent[key]))
        else:
            parent[key] = draw(JSON_VALUE)
    return doc


def schema_fields(*models: type[BaseModel]) -> set[str]:
    """Every field name (its alias, as on the wire) of ``models`` and of the models they nest."""
    out: set[str] = set()
    todo, seen = list(models), set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            out.add(info.alias or name)
            todo += [t for t in _types(info.annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    return out


def _types(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in get_args(annotation):
        yield from _types(arg)


def names_a_field(reason: str, fields: set[str]) -> bool:
    """``reason`` names one of ``fields`` as a whole word (``detail.user``, ``resources.0`` and
    ``unknown detail-type`` do; ``something went wrong`` does not)."""
    words = set(re.findall(r"[A-Za-z_][\w-]*", reason))
    return bool(words & fields)
