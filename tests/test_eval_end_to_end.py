"""`amplifier-ls eval` run as a user runs it: a subprocess against the fake OpenAI-compatible server.

The corpus is ten notes copied from the example corpus (Simon Willison's notes, Apache-2.0,
copied with their LICENSE). The fake server answers prompts that carry the archive with a
paragraph of the author's held-out note and other prompts with a paragraph of Jane Austen,
so the variants with and without the corpus differ. With ten notes the style profile is too
small to tell the two apart reliably (see docs/evaluation.md), so the test checks how the
differences are computed, not which way they point.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer

from amplifier_ls.evaluation.summary import METRICS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CORPUS = ROOT / "examples" / "simonw-til" / "corpus"
NOTES = (
    "fly/custom-subdomain-fly.md",
    "github/transfer-issue-private-to-public.md",
    "googlecloud/gsutil-bucket.md",
    "heroku/pg-pull.md",
    "ics/google-calendar-ics-subscribe-link.md",
    "javascript/minifying-uglify-npx.md",
    "linux/iconv.md",
    "markdown/converting-to-markdown.md",
    "pytest/treat-warnings-as-errors.md",
    "python/utc-warning-fix.md",
)
AUTHOR_NOTE = ROOT / "examples" / "simonw-til" / "held-out" / "general.md"
OTHER_AUTHOR = Path(__file__).resolve().parent / "data" / "other_author" / "pride-and-prejudice-chapter-1.md"


def one_paragraph(path: Path, words: int = 120) -> str:
    """The first `words` words of a text's prose paragraphs, joined into one paragraph."""
    blocks = [block for block in path.read_text(encoding="utf-8").split("\n\n")
              if block.strip() and not block.lstrip().startswith(("#", "!", "`", "-", "http"))]
    return " ".join(" ".join(blocks).split()[:words])


SCRIPT = {
    "default": {"text": one_paragraph(OTHER_AUTHOR), "delay_ms": 0},
    "rules": [
        {"when_prompt_contains": "Writing archive of one author", "text": one_paragraph(AUTHOR_NOTE), "delay_ms": 0}
    ],
}


@pytest.fixture
def workspace(tmp_path):
    notes = tmp_path / "notes"
    for relative in NOTES:
        target = notes / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXAMPLE_CORPUS / relative, target)
    shutil.copyfile(EXAMPLE_CORPUS / "LICENSE", notes / "LICENSE")
    (notes / ".amplifier.toml").write_text("# The evaluation fixture: every note is corpus.\n")
    return notes


@pytest.fixture
def server():
    with FakeOpenAIServer(SCRIPT) as fake:
        yield fake


def run_eval(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    return subprocess.run(
        [sys.executable, "-m", "amplifier_ls", "eval", *args],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )


def eval_args(workspace: Path, server: FakeOpenAIServer, output: Path) -> list[str]:
    return [
        "--corpus", str(workspace), "--docs", "3", "--cuts-per-doc", "2", "--samples", "2",
        "--backend", "openai", "-c", f'openai.base_url="{server.base_url}"', "--model", "fake-model",
        "--compare", "cold:decoding.temperature=0.1",
        "--json", str(output / "eval.json"), "--html", str(output / "eval.html"),
    ]


def test_eval_reports_and_resumes(workspace, server, tmp_path):
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()

    first = run_eval(tmp_path, *eval_args(workspace, server, first_dir))
    assert first.returncode == 0, first.stderr
    requests_after_first = server.stats["completion_requests"]
    second = run_eval(tmp_path, *eval_args(workspace, server, second_dir))
    assert second.returncode == 0, second.stderr

    report = json.loads((first_dir / "eval.json").read_text())
    variants = [variant["name"] for variant in report["variants"]]
    assert variants == ["base", "base (no corpus)", "cold", "cold (no corpus)", "author"]
    cuts = report["cuts"]
    assert 3 <= len(cuts) <= 6
    assert len(report["corpus"]["held_out"]) == 3
    assert {cut["kind"] for cut in cuts} == {"paragraph", "section"}
    assert len(report["results"]) == len(cuts) * len(variants)

    for result in report["results"]:
        cut_path = result["cut"].split("@")[0]
        if result["variant"] == "author":
            assert result["metrics"]["chrf"] == pytest.approx(100.0)
            assert result["metrics"]["delta_gap"] == pytest.approx(0.0)
            continue
        assert result["status"] == "ok", result
        assert len(result["samples"]) == 2
        assert all(sample["finish_reason"] == "stop" for sample in result["samples"])
        assert result["metrics"]["stopped"] == pytest.approx(1.0)
        assert result["metrics"]["self_bleu"] == pytest.approx(100.0)
        assert cut_path not in result["excerpts"]
        if result["variant"].endswith("(no corpus)"):
            assert result["excerpts"] == []
        else:
            assert result["excerpts"], result["cut"]

    summary = report["summary"]
    assert summary["author"]["chrf"]["mean"] == pytest.approx(100.0)
    assert summary["author"]["chrf"]["n"] == len(cuts)
    across = report["diversity_across_cuts"]["variants"]
    assert across["author"]["self_bleu"]["mean"] < across["base"]["self_bleu"]["mean"]

    corpus_effect = {
        (c["first"], c["second"], c["metric"]): c["difference"] for c in report["comparisons"]
    }
    by_key = {(result["variant"], result["cut"]): result["metrics"] for result in report["results"]}
    for metric in ("chrf", "delta"):
        effect = corpus_effect[("base", "base (no corpus)", metric)]
        differences = [by_key[("base", cut["id"])][metric] - by_key[("base (no corpus)", cut["id"])][metric]
                       for cut in cuts]
        assert effect["mean"] == pytest.approx(sum(differences) / len(differences))
        assert effect["low"] <= effect["mean"] <= effect["high"]
        assert effect["mean"] != 0
    assert ("cold", "base", "chrf") in corpus_effect

    assert "base (no corpus)" in first.stdout
    assert "Paired differences" in first.stdout

    resumed = json.loads((second_dir / "eval.json").read_text())
    assert report["counts"]["cache_hits"] == 0
    assert resumed["counts"]["predictions"] == report["counts"]["predictions"]
    assert resumed["counts"]["cache_hits"] == resumed["counts"]["predictions"]
    assert server.stats["completion_requests"] == requests_after_first
    assert resumed["summary"] == report["summary"]


def test_eval_html_has_plots(workspace, server, tmp_path):
    result = run_eval(tmp_path, *eval_args(workspace, server, tmp_path))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "eval.html").read_text()

    distributions = set(re.findall(r'<svg[^>]*data-plot="distribution"[^>]*data-metric="([a-z_0-9]+)"', page))
    assert distributions == {metric.key for metric in METRICS}
    scatters = re.findall(r'<svg[^>]*data-plot="scatter"[^>]*data-metric="([a-z_0-9]+)"[^>]*data-x="([^"]+)"', page)
    assert ("chrf", "base (no corpus)") in scatters
    assert ("delta", "base") in scatters
    assert 'data-plot="differences" data-metric="delta"' in page

    # Self-contained: nothing is loaded from elsewhere (URLs in the notes appear only as text).
    assert "<script" not in page
    assert "<link" not in page
    assert not re.search(r"\s(?:src|href)=", page)


def test_eval_rejects_bad_compare(workspace, tmp_path):
    result = run_eval(tmp_path, "--corpus", str(workspace), "--compare", "no colon here")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("amplifier-ls: error: Invalid --compare 'no colon here'")
