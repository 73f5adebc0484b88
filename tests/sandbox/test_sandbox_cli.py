"""The ``incidentio-sandbox`` command: port 0, port file, flags reach the server."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import typing as t

import pytest
import requests

from incidentio_sandbox import Sandbox

if t.TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.slow
def test_cli_binds_a_free_port_and_writes_the_port_file(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "incidentio_sandbox",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--api-key",
            "cli-key",
            "--alert-source",
            "SRC=tok",
            "--rate-limit",
            "--bucket-capacity",
            "20",
            "--refill-per-second",
            "20",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no port file"
            time.sleep(0.05)
        port = int(port_file.read_text())
        assert port > 0
        url = f"http://127.0.0.1:{port}"
        reply = requests.post(
            f"{url}/v2/incidents",
            json={"idempotency_key": "k", "visibility": "public"},
            headers={"Authorization": "Bearer cli-key"},
            timeout=5,
        )
        assert reply.status_code == 200
        assert reply.headers["X-RateLimit-Limit"] == "20, 20;window=1"
        event = requests.post(
            f"{url}/v2/alert_events/http/SRC",
            json={"title": "t", "status": "firing"},
            headers={"Authorization": "Bearer tok"},
            timeout=5,
        )
        assert event.status_code == 202
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"listening on http://127.0.0.1:{port}" in stderr


@pytest.mark.slow
def test_cli_refuses_non_loopback_hosts() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "incidentio_sandbox", "--host", "0.0.0.0", "--port", "0"],  # noqa: S104
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "loopback" in proc.stderr


def test_python_api_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Sandbox(host="192.0.2.1")
