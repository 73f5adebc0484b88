"""The SDK methods the target overrides or calls although they are private: if one changes,
fail here, loudly, rather than in a user's pipeline. Why each is needed: docs/sdk.md."""

from __future__ import annotations

import ast
import inspect
import re
import threading
from pathlib import Path

import pytest
from singer_sdk.configuration._dict_config import parse_environment_config
from singer_sdk.helpers._batch import BatchConfig, StorageTarget
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.plugin_base import PluginBase
from singer_sdk.sinks.core import Sink
from singer_sdk.target_base import Target

from target_incidentio.target import TargetIncidentIO

REPO = Path(__file__).resolve().parents[2]
SDK_CLASSES = (Target, Sink, PluginBase)
# (what, the signature this target was written against)
PRIVATE = [
    (Target._process_state_message, "(self, message_dict: 'dict') -> 'None'"),
    (Target._process_batch_message, "(self, message_dict: 'dict') -> 'None'"),
    (Target._process_activate_version_message, "(self, message_dict: 'dict') -> 'None'"),
    (Target._process_record_message, "(self, message_dict: 'dict') -> 'None'"),
    (
        Target._assert_line_requires,
        "(self, message_dict: 'dict', requires: 'set[str]') -> 'None'",
    ),
    (Target._handle_termination, "(self, signum: 'int', frame: 'FrameType | None') -> 'None'"),
    (PluginBase._validate_config, "(self, *, raise_errors: 'bool' = True) -> 'list[str]'"),
    (Sink._validate_and_parse, "(self, record: 'dict') -> 'dict'"),
    (Sink._singer_validate_message, "(self, record: 'dict') -> 'None'"),
    (
        parse_environment_config,
        (
            "(config_schema: 'dict[str, t.Any]', prefix: 'str', "
            "dotenv_path: 'StrPath | None' = None) -> 'dict[str, t.Any]'"
        ),
    ),
    (StorageTarget.split_url, "(url: 'str') -> 'tuple[str, str]'"),
    (BatchConfig.from_dict, "(data: 'dict[str, t.Any]') -> 'BatchConfig'"),
    (StorageTarget.from_url, "(url: 'str') -> 'StorageTarget'"),
    (
        Target.invoke,
        (
            "(*, about: 'bool' = False, about_format: 'str | None' = None, "
            "config: '_ConfigInput | None' = None, file_input: 't.IO[str] | None' = None)"
            " -> 'None'"
        ),
    ),
]


@pytest.mark.parametrize(
    ("method", "signature"), PRIVATE, ids=lambda x: getattr(x, "__qualname__", "")
)
def test_sdk_method_keeps_its_signature(method, signature):
    assert str(inspect.signature(method)) == signature


CLASS_PROPERTIES = ("_env_var_config", "_env_var_prefix")


@pytest.mark.parametrize("name", CLASS_PROPERTIES)
def test_env_var_hooks_are_still_class_properties(name):
    assert isinstance(inspect.getattr_static(PluginBase, name), classproperty)


def test_the_sdk_still_validates_and_writes_state_where_we_expect():
    # Records reach `_validate_and_parse` on their way in; state is written only when
    # `_latest_state` is set, which the target never does (checkpoints write it instead).
    assert "_validate_and_parse" in inspect.getsource(Target._process_record_message)
    assert "if self._latest_state:" in inspect.getsource(Target.drain_all)


def test_the_reader_hooks_singer_input_relies_on_are_still_there():
    # `SingerInput` (singer_input.py) overrides these and wraps each stream map's `transform`.
    from singer_sdk.singerlib.encoding.base import GenericSingerReader  # noqa: PLC0415

    assert str(inspect.signature(GenericSingerReader.process_lines)) == (
        "(self, file_input: 't.IO[_RT] | None', "
        "callbacks: 'dict[str, t.Callable[[dict], None]]') -> 't.Counter[str]'"
    )
    assert "self.deserialize_json(line)" in inspect.getsource(GenericSingerReader.process_lines)
    assert "stream_map.transform(" in inspect.getsource(Target._process_record_message)


def _private_sdk_names(source: str) -> set[str]:
    """Private names of the SDK's classes that ``source`` defines (overrides) or reads."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "name", None)
        if not isinstance(name, str) or not name.startswith("_") or name.startswith("__"):
            continue
        if any(name in vars(klass) for base in SDK_CLASSES for klass in base.__mro__):
            found.add(name)
    return found


def test_every_private_sdk_name_the_target_uses_is_pinned_and_documented():
    used: set[str] = set()
    for path in (REPO / "target_incidentio").rglob("*.py"):
        used |= _private_sdk_names(path.read_text(encoding="utf-8"))
    pinned = {method.__name__ for method, _signature in PRIVATE} | set(CLASS_PROPERTIES)
    assert used - pinned == set()
    documented = (REPO / "docs" / "sdk.md").read_text(encoding="utf-8")
    undocumented = [n for n in sorted(used) if not re.search(rf"`(\w+\.)?{n}`", documented)]
    assert undocumented == []
    # The scan is live: one more private call would be found.
    assert _private_sdk_names("self._process_schema_message(m)") == {"_process_schema_message"}


def test_building_a_target_starts_no_thread_and_opens_no_file(tmp_path):
    before = set(threading.enumerate())
    config = {
        "api_key": "k" * 12,
        "operation": "incident",
        "response_log_path": str(tmp_path / "responses.jsonl"),
        "dead_letter_path": str(tmp_path / "dead.jsonl"),
        "response_webhook_url": "http://127.0.0.1:9/hook",
    }
    target = TargetIncidentIO(config=config, parse_env_config=False)
    assert set(threading.enumerate()) == before
    assert list(tmp_path.iterdir()) == []
    with target:
        target.run  # noqa: B018 - the first message starts the run
        assert set(threading.enumerate()) - before
    assert set(threading.enumerate()) - before == set()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dead.jsonl", "responses.jsonl"]
