"""Issue 28 item 5: credentials and URLs with stray characters.

Secrets read from a file or a Kubernetes secret end in a newline: surrounding whitespace is
stripped (and the docs say so). What cannot be a header value or a base URL is refused at
start, naming the setting, and `--check` says which setting is wrong.
"""

from __future__ import annotations

import pytest
from reliability_helpers import API_KEY, base_config, tap
from support import run_cli

pytestmark = pytest.mark.slow


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


@pytest.mark.parametrize(
    "suffix",
    ["\n", "?x=1", "#frag", "?", " ", "/a b"],
    ids=["newline", "query", "fragment", "empty-query", "space", "inner-space"],
)
def test_a_base_url_that_cannot_be_one_fails_at_start(sandbox, tmp_path, outputs, suffix):
    config = base_config(sandbox, tmp_path, base_url=f"{sandbox.url}/prefix{suffix}")
    run = run_cli(config, tap(range(3)), tmp_path)
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 1
    assert "`base_url`" in run.stderr
    assert sandbox.journal() == []


def test_check_passes_a_key_with_a_trailing_newline(sandbox, tmp_path, outputs):
    """Stripped at start, a key read from a file with its newline is the key."""
    config = base_config(sandbox, tmp_path, api_key=f"{API_KEY}\n")
    run = run_cli(config, "", tmp_path, args=("--check",))
    outputs.add(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize(
    ("setting", "value"),
    [("api_key", f"{API_KEY}\nX-Other: 1"), ("api_key", f"{API_KEY[:4]}\x00{API_KEY[4:]}")],
    ids=["inner-newline", "nul"],
)
def test_check_names_the_setting_that_is_wrong(sandbox, tmp_path, outputs, setting, value):
    """What stripping cannot mend is refused, naming the setting, not blamed on base_url."""
    config = base_config(sandbox, tmp_path, **{setting: value})
    for args in (("--check",), ()):
        run = run_cli(config, "" if args else tap(range(1)), tmp_path, args=args)
        outputs.add(run.stdout, run.stderr)
        assert run.returncode == 1
        assert f"`{setting}`" in run.stderr
        assert "control character" in run.stderr
        assert "check the URL, DNS" not in run.stderr
        assert API_KEY[4:] not in run.stderr  # the secret is never echoed
    assert sandbox.journal() == []
