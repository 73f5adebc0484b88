"""The repository runs anywhere: no file of it names a path of the machine it was written on.

incident.io's spec lives in spec/ (spec/README.md says where it came from); a test reading it
from a folder beside the checkout would, on another machine, silently validate against less or
skip. These checks read every code file of the repository's folders, so a new test or script
is covered as it lands.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from loading import load_file

if TYPE_CHECKING:
    from types import ModuleType

    import pytest

ROOT = Path(__file__).resolve().parents[2]
# Code and the files that run it; docs are prose (a user's own paths in examples are fine).
FOLDERS = ("target_incidentio", "sandbox", "tests", "benchmarks", "scripts", ".ci")
SUFFIXES = {".py", ".sh", ".toml", ".cfg", ".ini"}
# Absolute paths of this machine, and the reference folder beside the checkout.
MACHINE_PATHS = re.compile(
    r"""(?x)
    (?<![\w.:/])/(?:work|root|tmp|opt)(?=/|\b)   # /work/..., /root, /tmp/..., /opt/...
    | \.\./shared\b                              # ../shared
    | ["']shared["']                             # Path(...) / "shared"
    """
)


def _root_conftest() -> ModuleType:
    """tests/conftest.py (`import conftest` may find another folder's)."""
    return load_file("root_conftest", ROOT / "tests" / "conftest.py")


def _code_files() -> list[Path]:
    """pyproject.toml and the code files of FOLDERS (every file of .ci/), caches left out."""
    files = [ROOT / "pyproject.toml"]
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            parts = path.relative_to(ROOT).parts
            cached = any(p.startswith((".venv", "__pycache__", ".mypy", ".ruff")) for p in parts)
            code = path.suffix in SUFFIXES or folder == ".ci"
            if path.is_file() and code and not cached and not path.name.endswith(".egg-info"):
                files.append(path)
    return files


def machine_paths(text: str) -> list[str]:
    """The lines of `text` that name a path of this machine."""
    return [line.strip() for line in text.splitlines() if MACHINE_PATHS.search(line)]


def test_the_check_sees_the_paths_it_forbids() -> None:
    assert machine_paths('SPEC = Path("/work/shared/reference/incidentio-openapi.json")')
    assert machine_paths('REFERENCE = REPO.parent / "shared" / "reference"')
    assert machine_paths("cat ../shared/reference/README.md")
    assert machine_paths("open('/tmp/x.json')")
    assert machine_paths("HOME=/root")
    # Not paths of a machine: URLs, file names in record data, relative paths.
    assert not machine_paths('url = "https://api.incident.io/v2/work/items"')
    assert not machine_paths('"_sdc_filename": "exports/items.jsonl"')
    assert not machine_paths("tmp_path / 'work'")


def test_no_code_names_a_path_of_this_machine() -> None:
    files = _code_files()
    assert any(path.name == "conftest.py" for path in files)
    offending = [
        f"{path.relative_to(ROOT)}: {line}"
        for path in files
        for line in machine_paths(path.read_text(encoding="utf-8", errors="replace"))
        if path.resolve() != Path(__file__).resolve()
    ]
    assert not offending, "\n".join(offending)


def test_the_tests_validate_against_the_full_spec_in_the_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INCIDENTIO_OPENAPI_SPEC", raising=False)
    conftest = _root_conftest()
    assert conftest._spec_file() == ROOT / "spec" / "incidentio-openapi.json"
    assert conftest._spec_file().stat().st_size > 1_000_000, "the full spec, not the subset"


def test_nothing_skips_for_want_of_a_file_outside_the_repository() -> None:
    skips = re.compile(r"skipif\([^)]*\.exists\(\)")
    offending = [
        str(path.relative_to(ROOT))
        for path in _code_files()
        if path.suffix == ".py" and skips.search(path.read_text(encoding="utf-8"))
    ]
    assert not offending
