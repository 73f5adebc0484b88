"""No module of the target or the sandbox is over 500 lines: each holds one job (BRIEF, Style)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[2]
TREES = (ROOT / "target_incidentio", ROOT / "sandbox" / "incidentio_sandbox")
MAX_LINES = 500


def too_long(trees: tuple[Path, ...], limit: int = MAX_LINES) -> list[str]:
    """`path: N lines` for each `.py` file under `trees` longer than `limit` lines."""
    found = []
    for tree in trees:
        for path in sorted(tree.rglob("*.py")):
            count = len(path.read_text(encoding="utf-8").splitlines())
            if count > limit:
                found.append(f"{path.relative_to(tree.parent)}: {count} lines")
    return found


def test_no_module_is_over_500_lines():
    assert all(tree.is_dir() for tree in TREES)
    offending = too_long(TREES)
    assert offending == [], f"over {MAX_LINES} lines, split by concern: " + "; ".join(offending)


def test_the_check_names_a_long_file_and_its_count(tmp_path):
    # Live: a file one line over the limit is named with its count; one at the limit is not.
    tree = tmp_path / "pkg"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tree / "short.py").write_text("x = 1\n" * MAX_LINES)
    (tree / "notes.txt").write_text("x\n" * (MAX_LINES + 1))
    assert too_long((tree,)) == [f"pkg/sub/long.py: {MAX_LINES + 1} lines"]
