"""Every relative link and `#anchor` in README.md and docs/*.md resolves, as GitHub renders them.

The guide is read in a repository browser, page by page: a link to a moved page or a renamed
heading is a dead end there. Anchors follow GitHub's rules (github-slugger): the heading's
rendered text, lower-cased, with everything but letters, digits, `_`, `-` and spaces dropped,
each space a `-`, and `-1`, `-2`, ... for a repeated heading.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
# [text](target "title") and ![alt](target); the text may hold `code` and brackets one deep.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s+(?P<target>\S+)", flags=re.MULTILINE)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
HTML_ANCHOR = re.compile(r"<a\s+(?:[^>]*\s)?(?:name|id)=\"(?P<id>[^\"]+)\"", flags=re.IGNORECASE)
EXTERNAL = ("http://", "https://", "mailto:", "ftp://")


def pages() -> list[Path]:
    """The pages the check covers: the README and the guide."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's Markdown text (before de-duplication)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = re.sub(r"<[^>]+>", "", text).lower()  # HTML tags are not text
    kept = "".join(ch for ch in text if ch.isalnum() or ch in "_- ")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a page offers: its headings' slugs (repeats numbered) and HTML anchors."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in _prose_lines(text):
        found.update(m.group("id") for m in HTML_ANCHOR.finditer(line))
        match = HEADING.match(line)
        if match is None:
            continue
        base = slug(match.group("text"))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of each link outside code blocks and code spans."""
    found = []
    numbered = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            numbered.append((number, CODE_SPAN.sub("", line)))
    for number, line in numbered:
        found.extend((number, m.group("target")) for m in INLINE_LINK.finditer(line))
        found.extend((number, m.group("target")) for m in REFERENCE_LINK.finditer(line))
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with each relative link of `page`: a missing file or a missing anchor."""
    problems = []
    text = page.read_text(encoding="utf-8")
    for number, target in links(text):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        where = f"{page.relative_to(root)}:{number}: {target}"
        destination = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not destination.exists():
            problems.append(f"{where}: no such file {destination.relative_to(root.resolve())}")
            continue
        if not anchor or destination.suffix != ".md":
            continue
        offered = anchors(destination.read_text(encoding="utf-8"))
        if unquote(anchor) not in offered:
            problems.append(f"{where}: no heading with anchor #{anchor} in {destination.name}")
    return problems


def test_every_relative_link_and_anchor_of_the_readme_and_the_guide_resolves() -> None:
    problems = [problem for page in pages() for problem in broken_links(page)]
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_the_check_covers_the_readme_and_every_guide_page() -> None:
    covered = {page.relative_to(ROOT).as_posix() for page in pages()}
    assert {"README.md", "docs/README.md", "docs/production.md", "docs/meltano.md"} <= covered
    assert sum(len(links(page.read_text(encoding="utf-8"))) for page in pages()) > 80


def test_anchors_follow_githubs_rules() -> None:
    lines = (
        "# Going to production",
        "## 2. Put the secrets where only prod reads them",
        "## What is in meltano.yml",
        "### Any endpoint (`http`)",
        "## Rate limits, retries, ordering and idempotency",
        "## [Linked](other.md) heading",
        "## Notes",
        "## Notes",
        "```bash",
        "# not a heading: a comment in a code block",
        "```",
        '<a name="kept-by-hand"></a>',
    )
    assert anchors("\n".join(lines)) == {
        "going-to-production",
        "2-put-the-secrets-where-only-prod-reads-them",
        "what-is-in-meltanoyml",
        "any-endpoint-http",
        "rate-limits-retries-ordering-and-idempotency",
        "linked-heading",
        "notes",
        "notes-1",
        "kept-by-hand",
    }


def test_a_broken_link_or_anchor_fails_the_check(tmp_path: Path) -> None:
    """The check is live: a fixture with one good and four broken links reports exactly four."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "target.md").write_text("# Target\n\n## A section\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "# Page\n\n"
        "[good](docs/target.md#a-section) and [external](https://example.com/x#y)\n"
        "[gone](docs/missing.md)\n"
        "[renamed](docs/target.md#an-old-section)\n"
        "[here](#no-such-heading)\n"
        "[a folder](docs/nothing/)\n"
        "`[in code](docs/ignored.md)`\n"
        "```text\n[in a block](docs/ignored.md)\n```\n",
        encoding="utf-8",
    )
    problems = broken_links(page, root=tmp_path)
    assert len(problems) == 4, problems
    assert "README.md:4: docs/missing.md: no such file docs/missing.md" in problems
    assert any("#an-old-section in target.md" in p for p in problems)
    assert any("#no-such-heading in README.md" in p for p in problems)
    assert any("docs/nothing/" in p for p in problems)
