"""Build contexts for the payload builder tests: settings are given directly, no config."""

from __future__ import annotations

import typing as t

import pytest

from target_incidentio.core.secrets import Secret
from target_incidentio.payloads.base import BuildContext
from target_incidentio.payloads.names import NO_DIRECTORY
from target_incidentio.settings import StreamSettings

API_KEY = Secret("test-api-key")
ALERT_TOKEN = Secret("test-alert-token")


class MakeContext(t.Protocol):
    def __call__(
        self, stream: str = ..., key_properties: t.Sequence[str] = ..., **settings: t.Any
    ) -> BuildContext: ...


@pytest.fixture(scope="session")
def make_ctx() -> MakeContext:
    """Contexts are pure values, so one factory serves every test (and Hypothesis)."""

    def make(
        stream: str = "alerts", key_properties: t.Sequence[str] = ("id",), **settings: t.Any
    ) -> BuildContext:
        directory = settings.pop("directory", NO_DIRECTORY)
        answer_keys = settings.pop("answer_keys", ())
        values: dict[str, t.Any] = {
            "api_key": API_KEY,
            "alert_source_token": ALERT_TOKEN,
            **settings,
        }
        return BuildContext(
            stream,
            tuple(key_properties),
            StreamSettings(**values),
            directory=directory,
            answer_keys=answer_keys,
        )

    return make
