"""The project's local cache directory (``.cache/``, gitignored; ``MAILWARDEN_CACHE_DIR`` moves it):
derived data that is slow to build and safe to delete (synthesized templates, the reduced IAM reference)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CACHE_DIR = Path(os.environ.get("MAILWARDEN_CACHE_DIR") or Path(__file__).resolve().parent.parent / ".cache")


def write_atomically(path: Path, content: str | bytes) -> None:
    """Parallel runs may write the same entry; a read-only checkout only loses the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "wb" if isinstance(content, bytes) else "w"
        with tempfile.NamedTemporaryFile(mode, dir=path.parent, delete=False, suffix=".tmp") as f:
            f.write(content)
        os.replace(f.name, path)
    except OSError:
        pass
