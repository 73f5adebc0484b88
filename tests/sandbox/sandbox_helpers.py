"""Credentials the sandbox tests configure; a module of its own, as ``conftest`` is ambiguous."""

from __future__ import annotations

API_KEY = "test-key"
SOURCE = "01GW2G3V0S59R238FAHPDS1R66"
SOURCE_TOKEN = "source-token"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SOURCE_AUTH = {"Authorization": f"Bearer {SOURCE_TOKEN}"}
