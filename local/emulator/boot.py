"""What the emulator sets up before it imports moto's Step Functions interpreter (imported first by
``local.emulator``): process-wide, and a local tooling concern (Lambda code makes one session per
process)."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import pickle
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import boto3
import boto3.session
import botocore
import botocore.hooks
import botocore.loaders
import botocore.session
import moto.core.utils

from ..cache import CACHE_DIR, write_atomically


def share_the_loader() -> None:
    """Every botocore session of this process reads the service models through one loader, so each
    JSON model is parsed once, not once per session (the harness makes a session per emulator, moto
    one per integration call and its response serializers a loader of their own). boto3 adds its
    resource path to the loader of every session it wraps; once is enough."""
    if getattr(botocore.session.create_loader, "shared", False):
        return
    loaders: dict[Any, Any] = {}
    create = botocore.session.create_loader

    def shared(search_path_string: Any = None) -> Any:
        if search_path_string not in loaders:
            loader = loaders[search_path_string] = create(search_path_string)
            loader.file_loader = _PickledJsonFiles()
        return loaders[search_path_string]

    def setup_loader(self: Any) -> None:
        self._loader = self._session.get_component("data_loader")
        path = os.path.join(os.path.dirname(boto3.__file__), "data")
        if path not in self._loader.search_paths:
            self._loader.search_paths.append(path)

    shared.shared = True  # type: ignore[attr-defined]
    botocore.session.create_loader = shared  # type: ignore[assignment]
    moto.core.utils.create_loader = shared  # moto's response serializers load the models on their own
    boto3.session.Session._setup_loader = setup_loader  # type: ignore[method-assign]


class _PickledJsonFiles(botocore.loaders.JSONFileLoader):
    """botocore's data files (service models, endpoint rules, paginators; gzipped JSON) read from a
    pickle of what they parsed to, kept in ``.cache/botocore`` under the file's path, size and mtime:
    a third of the time to decode, ~0.1 s of each emulator process's start (a ``--local`` command,
    each test worker). A missing, stale or unreadable entry is parsed again (and rewritten)."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        try:
            stat = os.stat(full_path)
        except OSError:
            return None
        tag = f"{full_path}|{stat.st_size}|{stat.st_mtime_ns}|{botocore.__version__}"
        entry = CACHE_DIR / "botocore" / f"{hashlib.sha256(tag.encode()).hexdigest()[:32]}.pickle"
        try:
            return pickle.loads(entry.read_bytes())
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
            # absent, torn or written by another version: parse the file itself
            pass
        data = super()._load_file(full_path, open_method)
        if data is not None:
            write_atomically(entry, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        return data


def quick_handler_check() -> None:
    """botocore checks that each event handler it registers takes ``**kwargs`` with
    ``inspect.getfullargspec`` (a full signature, ~0.2 ms): a session registers some 300 and each
    client more, the same functions every time. For a plain function or method the answer is its
    code's ``CO_VARKEYWORDS`` flag, which is what ``getfullargspec`` reports; anything else (a
    partial, a callable object, a custom ``__signature__``) still goes through botocore's check."""
    original = botocore.hooks.accepts_kwargs

    def accepts_kwargs(func: Any) -> Any:
        code = getattr(getattr(func, "__func__", func), "__code__", None)
        if isinstance(code, types.CodeType) and not hasattr(func, "__signature__"):
            return bool(code.co_flags & inspect.CO_VARKEYWORDS)
        return original(func)

    botocore.hooks.accepts_kwargs = accepts_kwargs


def remembered_action_names() -> None:
    """moto finds an action's method by listing its response class's functions with
    ``inspect.getmembers`` on every request (~7 % of its dispatch, 0.37 ms a call). The list changes only when a
    class gains or loses an attribute (a patch adding one): it is remembered per class and per the
    sizes of its classes' namespaces."""
    import moto.core.responses

    original = moto.core.utils.method_names_from_class
    known: dict[tuple[Any, ...], list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        key = (clazz, *(len(vars(c)) for c in getattr(clazz, "__mro__", ())))
        names = known.get(key)
        if names is None:
            names = known[key] = original(clazz)
        return names

    moto.core.responses.method_names_from_class = method_names_from_class  # type: ignore[attr-defined]


class _Deferred:
    """Stands for ``package.name`` (a mapping) in a module that imported it before it was needed;
    the first look-up runs the package's ``__init__`` and forwards to the real one."""

    def __init__(self, load: Callable[[str], Any], name: str) -> None:
        self._load, self._name = load, name

    @property  # type: ignore[misc]
    def __class__(self) -> Any:  # isinstance() (moto's request routing checks for a BackendDict)
        return type(self._load(self._name))

    def __getitem__(self, key: Any) -> Any:
        return self._load(self._name)[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._load(self._name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(self._name), name)


def on_demand(name: str, deferred: tuple[str, ...] = ()) -> None:
    """Registers moto's package ``name`` with its ``__init__`` deferred to the first look-up of one
    of its names; its submodules import as usual. ``deferred`` names are importable at once (as
    :class:`_Deferred`) without loading the package.

    Why: moto's ASL interpreter imports ``moto.batch.utils`` (an enum, for its Batch integration)
    and moto's SSM imports ``moto.ec2.ec2_backends`` (for maintenance-window targets), and each
    package's ``__init__`` imports its models, all of EC2 with them: 0.7 s at the start of every
    process, for services Mailwarden does not use. A process that does call EC2 or Batch loads them
    then (moto's backends look the package's ``<service>_backends`` up)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader
    loading = threading.RLock()
    loaded = False

    def load(attribute: str) -> Any:
        nonlocal loaded
        with loading:
            if not loaded:
                loaded = True
                del module.__dict__["__getattr__"]
                for deferred_name in deferred:
                    del module.__dict__[deferred_name]
                loader.exec_module(module)
        return getattr(module, attribute)

    module.__dict__["__getattr__"] = load
    for deferred_name in deferred:
        module.__dict__[deferred_name] = _Deferred(load, deferred_name)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)  # what the import system sets on the parent


share_the_loader()
quick_handler_check()
remembered_action_names()
on_demand("moto.batch")
on_demand("moto.ec2", deferred=("ec2_backends",))
