"""Third-party Singer plugins from PyPI, each in its own cached virtualenv.

Their pins (tap-jsonl's singer-sdk 0.53, target-jsonl's singer-python 5) conflict with the
target's, so each lives in `.venv-plugins/<name>-<version>/` (gitignored), installed on
first use (a few seconds) and reused by later runs, as `tests/e2e` does for Meltano. Tests
run them as a user would: executables reading config files and Singer messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import typing as t
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / ".venv-plugins"

TAP_JSONL = ("tap-jsonl==0.3.1",)
TARGET_JSONL = ("target-jsonl==0.1.4",)
# target-duckdb 0.8.0 loads through `COPY ... FROM file.csv` with DuckDB 1.1's CSV defaults;
# DuckDB 2's sniffer takes the first row for a header and drops it, so pin the DuckDB of
# its day.
TARGET_DUCKDB = ("target-duckdb==0.8.0", "duckdb==1.1.3")


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
    if not plugin.installed():
        try:
            plugin.install()
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", b"") or b""
            pytest.skip(f"{plugin.spec} cannot be installed here: {error} {detail.decode()[-500:]}")
    return plugin
