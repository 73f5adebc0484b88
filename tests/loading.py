"""Python files loaded by their path: the repository's scripts, and the Meltano they install."""

from __future__ import annotations

import importlib.util
import subprocess
import typing as t
from pathlib import Path

import pytest
from filelock import FileLock

if t.TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ROOT / ".venv-plugins"  # beside the installs they guard (gitignored)


def load_file(name: str, path: Path) -> ModuleType:
    """The module in `path`, run under `name` (a script, or a file `import` would not find)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_script(name: str) -> ModuleType:
    """`scripts/<name>.py`."""
    return load_file(name, ROOT / "scripts" / f"{name}.py")


def one_install(name: str) -> FileLock:
    """Held while `name` is installed, so that parallel test workers (`pytest -n`) install once."""
    LOCKS.mkdir(exist_ok=True)
    return FileLock(LOCKS / f".{name}.lock")


def meltano_or_skip(demo: ModuleType) -> Path:
    """The pinned Meltano `scripts/demo.py` installs; the test is skipped where it cannot be."""
    with one_install("meltano"):  # one install however many test workers ask at once
        try:
            meltano: Path = demo.ensure_meltano()
        except (OSError, subprocess.CalledProcessError) as error:
            pytest.skip(f"meltano=={demo.MELTANO_VERSION} cannot be installed here: {error}")
    return meltano
