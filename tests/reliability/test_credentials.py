"""Issue 28 item 5: credentials and URLs with stray characters.

Secrets read from a file or a Kubernetes secret end in a newline: surrounding whitespace is
stripped (and the docs say so). What cannot be a header value or a base URL is refused at
start, naming the setting, and `--check` says which setting is wrong.
"""

from __future__ import annotations

import pytest
from reliability_helpers import API_KEY, base_config, tap
from support import run_cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xfail(
        strict=True,
        reason="issue 28 item 5 (stage 2, settings/kinds.py and check.py are being split): "
        "secrets are not stripped, base_url is not checked at start",
    ),
]


# Spaces around a header value are not part of it for an HTTP server, so only a newline
# shows from outside; the stripping covers both.
@pytest.mark.parametrize("padded", [f"{API_KEY}\n", f"\t{API_KEY}\r\n"], ids=["lf", "crlf"])
def test_a_key_with_surrounding_whitespace_is_stripped(sandbox, tmp_path, outputs, padded):
    run = run_cli(base_config(sandbox, tmp_path, api_key=padded), tap(range(3)), tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr[-2000:]
    sent = [e for e in sandbox.journal() if e["endpoint"] == "create_incident"]
    assert len(sent) == 3
    assert all(e["status"] == 200 for e in sent)


@pytest.mark.parametrize("suffix", ["\n", "?x=1", "#frag"], ids=["newline", "query", "fragment"])
def test_a_base_url_that_cannot_be_one_fails_at_start(sandbox, tmp_path, outputs, suffix):
    config = base_config(sandbox, tmp_path, base_url=f"{sandbox.url}/prefix{suffix}")
    run = run_cli(config, tap(range(3)), tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 1
    assert "`base_url`" in run.stderr
    assert sandbox.journal() == []


def test_check_names_the_setting_that_is_wrong(sandbox, tmp_path, outputs):
    config = base_config(sandbox, tmp_path, api_key=f"{API_KEY}\n")
    run = run_cli(config, "", tmp_path, args=("--check",))
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 1
    assert "`api_key`" in run.stderr
    assert "check the URL, DNS" not in run.stderr
