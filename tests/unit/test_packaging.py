"""What the package index gets: the target alone, metadata without direct references.

The sandbox is its own distribution: the target's wheel neither ships nor needs it.
Development tools are a dependency group (never published metadata), pinned by the lock.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import imports
import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest and mypy bring tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).parents[2]
SANDBOX = ROOT / "sandbox"
# Import name -> distribution name, for the sandbox's third-party imports.
DISTRIBUTIONS = {
    "werkzeug": "werkzeug",
    "openapi_core": "openapi-core",
    "openapi_schema_validator": "openapi-schema-validator",
}


def _project(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = requirement.split("@")[0].split(";")[0]
        for stop in "<>=~![ ":
            name = name.split(stop)[0]
        names.add(name.strip().lower())
    return names


def test_the_target_wheel_is_the_target_alone():
    target = _project(ROOT / "pyproject.toml")
    assert target["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["target_incidentio"]
    assert set(target["project"]["scripts"]) == {"target-incidentio"}
    assert "incidentio-sandbox" not in _requirement_names(target["project"]["dependencies"])
    # Development tools are a dependency group, not an extra: never in the published metadata.
    assert "optional-dependencies" not in target["project"]
    assert "pytest" in _requirement_names(target["dependency-groups"]["dev"])
    for requirement in [*target["project"]["dependencies"], *target["dependency-groups"]["dev"]]:
        assert Requirement(requirement).url is None, f"direct reference: {requirement}"
    assert "metadata" not in target["tool"]["hatch"], "no allow-direct-references"


def _declared() -> list[Requirement]:
    """Every requirement the lock must pin: the target's, its dev group's, the sandbox's."""
    target = _project(ROOT / "pyproject.toml")
    sandbox = _project(SANDBOX / "pyproject.toml")
    texts = [
        *target["project"]["dependencies"],
        *target["dependency-groups"]["dev"],
        *sandbox["project"]["dependencies"],
    ]
    return [Requirement(text) for text in texts]


def _locked() -> dict[str, list[str]]:
    """Distribution name -> the versions requirements/dev.txt pins (one per marker)."""
    pins: dict[str, list[str]] = {}
    for line in (ROOT / "requirements" / "dev.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;]+)", line)
        if match:
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            pins.setdefault(name, []).append(match.group(2))
    return pins


def test_the_lock_pins_every_declared_dependency_within_its_range():
    """A dependency added or narrowed in a pyproject.toml without refreshing the lock fails."""
    pins = _locked()
    assert not any(name in pins for name in ("target-incidentio", "incidentio-sandbox"))
    stale = []
    for requirement in _declared():
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        versions = pins.get(name, [])
        if not any(requirement.specifier.contains(v, prereleases=True) for v in versions):
            stale.append(f"{requirement} (locked: {versions or 'nothing'})")
    assert not stale, f"requirements/dev.txt is stale for {stale}: refresh it (docs/development.md)"


def test_the_meltano_lock_pins_the_meltano_it_is_compiled_from():
    (wanted,) = [
        Requirement(line)
        for line in (ROOT / "requirements" / "meltano.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    lock = (ROOT / "requirements" / "meltano.txt").read_text()
    (pinned,) = re.findall(r"^meltano==(\S+)", lock, flags=re.MULTILINE)
    assert wanted.specifier.contains(pinned), "requirements/meltano.txt is stale: refresh it"


def test_the_lock_check_bites():
    requirement = Requirement("singer-sdk>=99")
    assert not any(requirement.specifier.contains(v) for v in _locked()["singer-sdk"])


def _python_minors(project: dict) -> list[int]:
    prefix = "Programming Language :: Python :: 3."
    classifiers = project["project"]["classifiers"]
    return sorted(int(c.removeprefix(prefix)) for c in classifiers if c.startswith(prefix))


def test_requires_python_is_the_lowest_classified_python():
    """.ci/run tests the lowest and highest classified Pythons; requires-python agrees."""
    project = _project(ROOT / "pyproject.toml")
    minors = _python_minors(project)
    assert project["project"]["requires-python"] == f">=3.{minors[0]}"
    assert minors == list(range(minors[0], minors[-1] + 1)), "no gap in the claimed Pythons"
    assert _python_minors(_project(SANDBOX / "pyproject.toml")) == minors


def test_the_package_says_it_is_typed():
    """PEP 561's marker ships in the package (the built wheel is checked below), and says so."""
    assert (ROOT / "target_incidentio" / "py.typed").is_file()
    assert "Typing :: Typed" in _project(ROOT / "pyproject.toml")["project"]["classifiers"]


def test_the_changelog_has_this_release():
    version = _project(ROOT / "pyproject.toml")["project"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert releases, "CHANGELOG.md lists no release"
    assert releases[0] == version, f"CHANGELOG.md's newest entry is {releases[0]}, not {version}"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The target's wheel and sdist, built as for the index (`python -m build`)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def _metadata_problems(metadata: str) -> list[str]:
    """What the index would refuse, or what leaks development into the published metadata."""
    message = Parser().parsestr(metadata)
    problems = [
        f"direct reference: {text}"
        for text in message.get_all("Requires-Dist") or []
        if Requirement(text).url is not None
    ]
    problems += [f"extra: {extra}" for extra in message.get_all("Provides-Extra") or []]
    return problems


def test_the_metadata_check_bites():
    old = "Name: target-incidentio\nRequires-Dist: incidentio-sandbox @ file:///x/sandbox ; "
    old += "extra == 'dev'\nProvides-Extra: dev\n"
    assert len(_metadata_problems(old)) == 2


@pytest.mark.slow
def test_the_built_wheel_holds_the_target_and_publishable_metadata(dist: Path):
    project = _project(ROOT / "pyproject.toml")["project"]
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = f"target_incidentio-{project['version']}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
    assert {name.split("/")[0] for name in names} == {"target_incidentio", info}
    assert "target_incidentio/target.py" in names
    # PEP 561: code importing the target (a stream map helper, an orchestrator) gets its types.
    assert "target_incidentio/py.typed" in names
    assert _metadata_problems(metadata) == []
    message = Parser().parsestr(metadata)
    assert message["Name"] == "target-incidentio"
    assert message["Version"] == project["version"]
    assert message["Requires-Python"] == project["requires-python"]
    published = sorted(str(Requirement(text)) for text in message.get_all("Requires-Dist"))
    assert published == sorted(str(Requirement(text)) for text in project["dependencies"])


@pytest.mark.slow
def test_the_sdist_holds_the_target_alone(dist: Path):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        (pkg_info,) = (n for n in names if n.count("/") == 1 and n.endswith("/PKG-INFO"))
        metadata = archive.extractfile(pkg_info).read().decode()  # type: ignore[union-attr]
    tops = {name.split("/")[1] for name in names if name.count("/") >= 1}
    assert "sandbox" not in tops
    assert "tests" not in tops
    assert "target_incidentio" in tops
    assert any(name.endswith("/target_incidentio/py.typed") for name in names)
    assert _metadata_problems(metadata) == []


def test_the_sandbox_distribution_declares_what_it_imports():
    sandbox = _project(SANDBOX / "pyproject.toml")
    project = sandbox["project"]
    assert project["name"] == "incidentio-sandbox"
    assert project["scripts"] == {"incidentio-sandbox": "incidentio_sandbox.__main__:main"}
    assert project["license"] == "Apache-2.0"
    assert (SANDBOX / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert sandbox["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "incidentio_sandbox"
    ]
    imported = {
        name.split(".")[0]
        for file in imports.modules(SANDBOX / "incidentio_sandbox").values()
        for name in imports.imports(file)
    }
    third_party = {
        name
        for name in imported
        if name not in sys.stdlib_module_names and name != "incidentio_sandbox"
    }
    third_party.discard("typing_extensions")  # only under TYPE_CHECKING
    assert third_party <= set(DISTRIBUTIONS), third_party
    declared = _requirement_names(project["dependencies"])
    assert {DISTRIBUTIONS[name] for name in third_party} <= declared
    assert (SANDBOX / "incidentio_sandbox" / "openapi-subset.json").is_file()
    assert (SANDBOX / "incidentio_sandbox" / "py.typed").is_file()
