"""The VS Code extension: its settings against the server's tree, and the end-to-end test.

The settings tests read editors/vscode/package.json, so they need no Node. The end-to-end
test runs editors/vscode/test/e2e.sh: npm ci, type check, lint, `vsce package`, code-server
installed into editors/vscode/.code-server, then test/e2e.mjs, which installs the .vsix in
code-server, drives VS Code in headless Chromium and scripts the language server through
the fake OpenAI-compatible server. The first run installs code-server (a few minutes);
later runs reuse it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any, Literal

import pytest

from amplifier_ls import settings as server_settings

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "editors" / "vscode"
E2E_SCRIPT = EXTENSION / "test" / "e2e.sh"
E2E_TIMEOUT_S = 1800

# Settings the extension reads itself; they are not sent to the server.
EXTENSION_ONLY = {"languages", "interpreter", "server.command", "trace.server"}
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def camel_case(dotted: str) -> str:
    return ".".join(re.sub(r"_([a-z])", lambda match: match.group(1).upper(), part) for part in dotted.split("."))


def contributed_properties() -> dict[str, dict[str, Any]]:
    manifest = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    properties: dict[str, dict[str, Any]] = {}
    for category in manifest["contributes"]["configuration"]:
        properties.update(category["properties"])
    return properties


SERVER_FIELDS = list(server_settings.iter_fields())


def test_settings_cover_server_tree():
    properties = contributed_properties()
    expected = {f"amplifier.{camel_case(key)}" for key, *_ in SERVER_FIELDS}
    contributed = {name for name in properties if name.removeprefix("amplifier.") not in EXTENSION_ONLY}

    assert expected - contributed == set(), "server settings missing from package.json"
    assert contributed - expected == set(), "package.json settings the server does not know"


@pytest.mark.parametrize("key", [key for key, *_ in SERVER_FIELDS])
def test_setting_matches_server(key: str):
    _, annotation, default, _ = next(field for field in SERVER_FIELDS if field[0] == key)
    schema = contributed_properties()[f"amplifier.{camel_case(key)}"]

    assert schema["default"] == default
    if typing.get_origin(annotation) is Literal:
        assert schema["type"] == "string"
        assert schema["enum"] == list(typing.get_args(annotation))
    elif typing.get_origin(annotation) is list:
        assert schema["type"] == "array"
        assert schema["items"] == {"type": "string"}
    else:
        assert schema["type"] == JSON_TYPES[annotation]

    low, high = server_settings.RANGES.get(key, (None, None))
    assert schema.get("minimum") == low
    assert schema.get("maximum") == high


@pytest.mark.parametrize("name", sorted(contributed_properties()))
def test_setting_described(name: str):
    schema = contributed_properties()[name]

    assert schema.get("markdownDescription") or schema.get("description")
    if "enum" in schema:
        assert len(schema.get("enumDescriptions", [])) == len(schema["enum"])
        assert all(schema["enumDescriptions"])


@pytest.mark.timeout(E2E_TIMEOUT_S + 60)
def test_extension_end_to_end():
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not found: the VS Code extension needs Node.js 20 and npm"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)

    environment = {**os.environ, "AMPLIFIER_PYTHON": sys.executable}
    try:
        result = subprocess.run(
            ["bash", str(E2E_SCRIPT)],
            cwd=EXTENSION,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=E2E_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as error:
        output = error.stdout if isinstance(error.stdout, str) else (error.stdout or b"").decode(errors="replace")
        pytest.fail(f"{E2E_SCRIPT} timed out after {E2E_TIMEOUT_S}s:\n{output[-20000:]}")

    print(result.stdout)
    assert result.returncode == 0, f"{E2E_SCRIPT} failed with exit code {result.returncode}:\n{result.stdout[-20000:]}"
    assert "vscode e2e: passed" in result.stdout
