"""The command line, run as a user runs it: a subprocess with its own cache folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpus_fixtures import make_messy_workspace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "simonw-til"


def run_cli(*args, cwd=None, cache=None, check=True, timeout=600):
    environment = dict(os.environ)
    if cache is not None:
        environment["XDG_CACHE_HOME"] = str(cache)
    completed = subprocess.run(
        [sys.executable, "-m", "amplifier_ls", *map(str, args)],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout,
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"exit {completed.returncode}\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}")
    return completed


@pytest.fixture
def messy(tmp_path):
    return make_messy_workspace(tmp_path / "workspace")


def test_corpus_lists_each_skip_with_reason(messy, tmp_path):
    result = run_cli("corpus", "--workspace", messy["root"], "--json", cache=tmp_path / "cache")
    listing = json.loads(result.stdout)
    indexed = sorted(item["path"] for item in listing["files"])
    assert indexed == messy["included"]
    reasons = {item["path"]: item["reason"] for item in listing["skipped"]}
    for path, reason in messy["skipped"].items():
        assert path in reasons, f"{path} not listed as skipped"
        assert reason in reasons[path], f"{path}: {reasons[path]!r} does not say {reason!r}"


def test_corpus_output_has_no_secrets(messy, tmp_path):
    result = run_cli("corpus", "--workspace", messy["root"], cache=tmp_path / "cache")
    for secret in messy["secrets"]:
        assert secret not in result.stdout
        assert secret not in result.stderr


def test_prompt_excludes_skipped_content(messy, tmp_path):
    draft = messy["root"] / "draft.md"
    draft.write_text("# Baking and deploying\n\nsourdough docker garlic café " + " ".join(messy["excluded_markers"]))
    result = run_cli("prompt", draft, "--backend", "openai", "-c", "openai.base_url='http://127.0.0.1:9/v1'",
                     "--model", "m", cache=tmp_path / "cache")
    archive = result.stdout.split("==> draft.md <==")[0]
    for secret in messy["secrets"]:
        assert secret not in result.stdout
    for marker in messy["excluded_markers"]:
        assert marker not in archive
    assert "==> notes/sourdough.md <==" in archive
    assert messy["latin1_text"] in archive


def test_predict_example_with_local_model(tmp_path):
    result = run_cli("predict", EXAMPLE / "draft.md", "--json", "-c", "decoding.seed=5",
                     "-c", "decoding.max_tokens=60", cache=tmp_path / "cache")
    payload = json.loads(result.stdout)
    assert payload["status"] == "ok"
    assert payload["texts"][0].strip()
    assert payload["excerpts"], "the corpus should contribute excerpts"
    assert not any(path.endswith("general.md") and path.startswith("ham-radio") for path in payload["excerpts"])
    assert payload["cached"] is False

    again = json.loads(run_cli("predict", EXAMPLE / "draft.md", "--json", "-c", "decoding.seed=5",
                               "-c", "decoding.max_tokens=60", cache=tmp_path / "cache").stdout)
    assert again["cached"] is True
    assert again["texts"] == payload["texts"]


def test_expand_outline_with_local_model(tmp_path):
    draft = tmp_path / "plan.md"
    draft.write_text("# Weekend trip\n\nWe took the train to the coast.\n\n- packing light\n- the night train\n"
                     "- breakfast by the sea\n\n## Coming home\n")
    result = run_cli("expand", draft, "--lines", "5-7", "--json", "--no-corpus", "-c", "decoding.seed=2",
                     "-c", "decoding.max_tokens=40", cache=tmp_path / "cache", check=False)
    payload = json.loads(result.stdout)
    assert payload["mode"] == "expand"
    assert payload["replace"]["start"]["line"] == 5
    assert payload["replace"]["end"]["line"] == 7
    if payload["status"] == "ok":
        assert "## Coming home" not in payload["texts"][0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "missing.md"], "Document not found"),
        (["predict", "{draft}", "--at", "99:1"], "past the end"),
        (["predict", "{draft}", "--at", "1:500"], "past the end of line 1"),
        (["predict", "{draft}", "-c", "decoding.temperature=7"], "decoding.temperature"),
        (["expand", "{draft}", "--at", "1:1"], "No outline"),
    ],
    ids=["missing-file", "line-past-end", "column-past-end", "bad-setting", "no-outline"],
)
def test_user_errors_are_one_line(tmp_path, args, message):
    draft = tmp_path / "d.md"
    draft.write_text("# Title\n\nText.\n")
    arguments = [argument.replace("{draft}", str(draft)) for argument in args]
    result = run_cli(*arguments, "--no-corpus", cwd=tmp_path, cache=tmp_path / "cache", check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_invalid_settings_file_named(tmp_path):
    (tmp_path / ".amplifier.toml").write_text("[decoding]\ntemperature = 'hot'\n")
    draft = tmp_path / "d.md"
    draft.write_text("Text")
    result = run_cli("prompt", draft, cwd=tmp_path, cache=tmp_path / "cache", check=False)
    assert result.returncode == 1
    assert ".amplifier.toml" in result.stderr
    assert "decoding.temperature" in result.stderr


def test_settings_lists_descriptions():
    result = run_cli("settings", "--json")
    rows = json.loads(result.stdout)
    assert any(row["key"] == "decoding.temperature" and row["description"] for row in rows)
