"""Third-party Singer plugins from PyPI, each in its own cached virtualenv.

Their pins (tap-jsonl's singer-sdk 0.53, target-jsonl's singer-python 5) conflict with the
target's, so each lives in `.venv-plugins/<name>-<version>/` (gitignored), installed on
first use (a few seconds) and reused by later runs, as `tests/e2e` does for Meltano. Tests
run them as a user would: executables reading config files and Singer messages.
Airflow and Dagster (with dagster-meltano) live there too. `python tests/plugins.py` installs
every one of them (and, with `--with-meltano`, Meltano into `.venv-meltano`), as CI does
before the tests, so that no test waits for an install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import typing as t
import venv
from pathlib import Path

import pytest
from loading import load_script, one_install

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / ".venv-plugins"

TAP_JSONL = ("tap-jsonl==0.3.1",)
TARGET_JSONL = ("target-jsonl==0.1.4",)
# target-duckdb 0.8.0 loads through `COPY ... FROM file.csv` with DuckDB 1.1's CSV defaults;
# DuckDB 2's sniffer takes the first row for a header and drops it, so pin the DuckDB of
# its day.
TARGET_DUCKDB = ("target-duckdb==0.8.0", "duckdb==1.1.3")
AIRFLOW = ("apache-airflow==3.3.2",)


def _example_requirements(name: str) -> tuple[str, ...]:
    lines = (ROOT / "examples" / name / "requirements.txt").read_text(encoding="utf-8")
    return tuple(x.strip() for x in lines.splitlines() if x.strip() and not x.startswith("#"))


# What examples/dagster/requirements.txt gives a user: Dagster, dagster-meltano, Meltano.
DAGSTER = _example_requirements("dagster")
# Every plugin above, by the executable the tests run.
EVERY = {
    "tap-jsonl": TAP_JSONL,
    "target-jsonl": TARGET_JSONL,
    "target-duckdb": TARGET_DUCKDB,
    "airflow": AIRFLOW,
    "dagster": DAGSTER,
}


class Plugin:
    """One installed plugin: its executable and its venv's Python."""

    def __init__(self, requirements: tuple[str, ...], executable: str) -> None:
        self.requirements = requirements
        self.spec = " ".join(requirements)
        self.venv = PLUGINS / requirements[0].replace("==", "-")
        bin_dir = self.venv / ("Scripts" if os.name == "nt" else "bin")
        self.executable = bin_dir / executable
        self.python = bin_dir / "python"

    def installed(self) -> bool:
        marker = self.venv / ".installed"
        return self.executable.exists() and marker.exists() and marker.read_text() == self.spec

    def install(self) -> None:
        """Create the venv and pip-install the pinned plugin into it (once)."""
        venv.create(self.venv, with_pip=True, clear=True)
        subprocess.run(
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *self.requirements,
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        (self.venv / ".installed").write_text(self.spec)

    def run(
        self,
        config: dict[str, t.Any],
        tmp_path: Path,
        *,
        stdin: str | None = None,
        args: tuple[str, ...] = (),
    ) -> subprocess.CompletedProcess[str]:
        """Run the plugin with `config` (written to a file) and `stdin`; it must succeed."""
        config_path = tmp_path / f"{self.venv.name}-config.json"
        config_path.write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_INCIDENTIO_")}
        result = subprocess.run(
            [str(self.executable), "--config", str(config_path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 0, f"{self.spec} exited {result.returncode}:\n{result.stderr}"
        return result


def require(requirements: tuple[str, ...], executable: str) -> Plugin:
    """The plugin, installed if need be; the test is skipped if PyPI cannot provide it."""
    plugin = Plugin(requirements, executable)
    with one_install(plugin.venv.name):
        if not plugin.installed():
            try:
                plugin.install()
            except (OSError, subprocess.SubprocessError) as error:
                detail = getattr(error, "stderr", b"") or b""
                pytest.skip(f"{plugin.spec} cannot be installed: {error} {detail.decode()[-500:]}")
    return plugin


def main(argv: list[str]) -> int:
    """Install every plugin (and Meltano, given `--with-meltano`) that is not yet installed."""
    failed = 0
    if "--with-meltano" in argv:
        try:
            load_script("demo").ensure_meltano()
        except (OSError, subprocess.SubprocessError) as error:
            sys.stderr.write(f"meltano: {error}\n")
            failed += 1
    for executable, requirements in EVERY.items():
        plugin = Plugin(requirements, executable)
        if plugin.installed():
            continue
        started = time.monotonic()
        try:
            plugin.install()
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", b"") or b""
            sys.stderr.write(f"{plugin.spec}: {error} {detail.decode()[-500:]}\n")
            failed += 1
            continue
        sys.stderr.write(f"{plugin.spec}: installed in {time.monotonic() - started:.0f} s\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
