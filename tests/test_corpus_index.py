"""The corpus index: retrieval, budgets, ordering, and incremental refresh with diskcache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from amplifier_ls.backends.base import estimate_tokens
from amplifier_ls.corpus.index import CorpusIndex, tokenize
from amplifier_ls.corpus.scan import scan_corpus
from amplifier_ls.settings import CorpusSettings

sys.path.insert(0, str(Path(__file__).parent))
from corpus_fixtures import make_messy_workspace  # noqa: E402

NOTES = {
    "baking/sourdough.md": (
        "# Sourdough starter\n\nFeed the sourdough starter with rye flour and water every morning. "
        "A lively starter doubles in four hours.\n\n## Baking day\n\nShape the loaf, proof it "
        "overnight in the fridge, and bake in a Dutch oven.\n"
    ),
    "baking/focaccia.md": "# Focaccia\n\nA wet dough with plenty of olive oil, dimpled before baking.\n",
    "ops/docker.md": (
        "# Deploying with Docker\n\nBuild the image, push it to the registry, then deploy the "
        "container behind Caddy with automatic TLS.\n"
    ),
    "ops/postgres.md": "# Postgres backups\n\nRun pg_dump nightly and copy the dump to object storage.\n",
    "garden/tomatoes.txt": "Tomatoes need full sun.\n\nPinch out the side shoots of cordon tomatoes every week.\n",
}


def _write_notes(root: Path, notes: dict[str, str] = NOTES) -> None:
    for relative, text in notes.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _bump_mtime(path: Path) -> None:
    """Move the mtime forward so that a rewrite is seen even on coarse-grained file systems."""
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 2_000_000_000))


@pytest.fixture
def corpus_root(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    _write_notes(root)
    return root


@pytest.fixture
def index(corpus_root: Path, tmp_path: Path):
    corpus_index = CorpusIndex(corpus_root, CorpusSettings(), tmp_path / "cache")
    corpus_index.refresh()
    yield corpus_index
    corpus_index.close()


def _paths(chunks) -> list[str]:
    return [chunk.path for chunk in chunks]


def test_search_finds_relevant_file(index):
    results = index.search("how often to feed a sourdough starter", 1000, estimate_tokens)
    assert _paths(results) == ["baking/sourdough.md"]


def test_search_matches_plurals(index):
    results = index.search("tomato shoot", 1000, estimate_tokens)
    assert _paths(results) == ["garden/tomatoes.txt"]


def test_search_ranks_best_first_under_budget(index):
    budget = estimate_tokens(index.search("docker registry", 1000, estimate_tokens)[0].text)
    results = index.search("docker registry container postgres", budget, estimate_tokens)
    assert _paths(results) == ["ops/docker.md"]


def test_search_respects_budget(index):
    for budget in (5, 20, 40, 80, 1000):
        results = index.search("sourdough docker postgres tomatoes focaccia", budget, estimate_tokens)
        assert sum(estimate_tokens(chunk.text) for chunk in results) <= budget


def test_search_skips_chunk_too_large(tmp_path):
    notes = {
        "a-long.md": "# Kombucha\n\n" + "kombucha kombucha scoby tea " * 60 + "\n",
        "b-short.md": "# Kombucha note\n\nA short kombucha note.\n",
    }
    _write_notes(tmp_path, notes)
    corpus_index = CorpusIndex(tmp_path, CorpusSettings(), None)
    corpus_index.refresh()
    assert corpus_index.search("kombucha", 30, estimate_tokens)[0].path == "b-short.md"
    assert _paths(corpus_index.search("kombucha", 30, estimate_tokens)) == ["b-short.md"]


def test_search_orders_by_path_and_index(tmp_path):
    sections = "".join(f"## Part {n}\n\n" + "compost heap " * (n + 1) + "\n\n" for n in range(6))
    _write_notes(tmp_path, {"z.md": "# Compost\n\n" + sections, "a.md": "# Heap\n\ncompost once.\n"})
    corpus_index = CorpusIndex(tmp_path, CorpusSettings(), None)
    corpus_index.refresh()
    results = corpus_index.search("compost heap", 10_000, estimate_tokens, max_per_file=10)
    keys = [(chunk.path, chunk.index) for chunk in results]
    assert keys == sorted(keys)
    assert len({chunk.path for chunk in results}) == 2


def test_search_max_per_file(tmp_path):
    sections = "".join(f"## Part {n}\n\n" + "compost " * 200 + "\n\n" for n in range(6))
    _write_notes(tmp_path, {"z.md": sections})
    corpus_index = CorpusIndex(tmp_path, CorpusSettings(), None)
    corpus_index.refresh()
    assert len(corpus_index.search("compost", 100_000, estimate_tokens, max_per_file=2)) == 2
    assert len(corpus_index.search("compost", 100_000, estimate_tokens)) == 3


def test_search_deterministic_ties(tmp_path):
    same = "# Same\n\nIdentical text about beekeeping.\n"
    _write_notes(tmp_path, {f"note-{n}.md": same for n in range(5)})
    corpus_index = CorpusIndex(tmp_path, CorpusSettings(), None)
    corpus_index.refresh()
    budget = estimate_tokens(same.strip()) * 2
    results = corpus_index.search("beekeeping", budget, estimate_tokens)
    assert _paths(results) == ["note-0.md", "note-1.md"]


def test_search_exclude_paths(index):
    results = index.search("sourdough starter", 1000, estimate_tokens, exclude_paths={"baking/sourdough.md"})
    assert "baking/sourdough.md" not in _paths(results)


@pytest.mark.parametrize("query", ["", "   ", "the and of", "xylophone"])
def test_search_no_match(index, query):
    assert index.search(query, 1000, estimate_tokens) == []


def test_search_zero_budget(index):
    assert index.search("sourdough", 0, estimate_tokens) == []


def test_search_empty_corpus(tmp_path):
    corpus_index = CorpusIndex(tmp_path, CorpusSettings(), tmp_path / "cache")
    report = corpus_index.refresh()
    assert report.retriever == "empty"
    assert corpus_index.search("anything", 1000, estimate_tokens) == []


def test_search_before_refresh(corpus_root):
    assert CorpusIndex(corpus_root, CorpusSettings(), None).search("sourdough", 100, estimate_tokens) == []


def test_tokenize_drops_stopwords_and_plurals():
    assert tokenize(["The starters and the loaves of bread"]) == [["starter", "loave", "bread"]]


def test_refresh_counts_first_run(corpus_root, tmp_path):
    corpus_index = CorpusIndex(corpus_root, CorpusSettings(), tmp_path / "cache")
    report = corpus_index.refresh()
    assert (report.added, report.updated, report.removed, report.unchanged) == (5, 0, 0, 0)
    assert report.files_read == 5
    assert report.files_chunked == 5
    assert report.retriever == "built"
    assert report.chunks == corpus_index.chunk_count
    assert [f.relative_path for f in corpus_index.files] == sorted(NOTES)


def test_refresh_unchanged_reuses_retriever(index):
    report = index.refresh()
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 5)
    assert report.files_read == 0
    assert report.retriever == "reused"


def test_refresh_modified_file_only_reread(index, corpus_root):
    path = corpus_root / "ops/docker.md"
    path.write_text("# Deploying with Podman\n\nPodman runs rootless containers.\n", encoding="utf-8")
    _bump_mtime(path)

    report = index.refresh()

    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 4)
    assert report.files_read == 1
    assert report.files_chunked == 1
    assert report.retriever == "built"
    assert _paths(index.search("podman rootless", 1000, estimate_tokens)) == ["ops/docker.md"]


def test_refresh_touched_file_not_rechunked(index, corpus_root):
    _bump_mtime(corpus_root / "ops/postgres.md")
    report = index.refresh()
    assert report.files_read == 1
    assert report.files_chunked == 0
    assert report.unchanged == 5
    assert report.retriever == "reused"


def test_refresh_deleted_file_removed(index, corpus_root):
    (corpus_root / "ops/postgres.md").unlink()
    report = index.refresh()
    assert report.removed == 1
    assert report.retriever == "built"
    assert index.search("pg_dump backups", 1000, estimate_tokens) == []


def test_refresh_added_file(index, corpus_root):
    _write_notes(corpus_root, {"ops/redis.md": "# Redis\n\nRedis keeps the job queue.\n"})
    report = index.refresh()
    assert (report.added, report.unchanged, report.files_read) == (1, 5, 1)
    assert _paths(index.search("redis queue", 1000, estimate_tokens)) == ["ops/redis.md"]


def test_refresh_file_turned_binary(index, corpus_root):
    path = corpus_root / "ops/postgres.md"
    path.write_bytes(b"\x00\x01binary now")
    _bump_mtime(path)
    report = index.refresh()
    assert report.removed == 1
    assert {s.path: s.reason for s in index.skipped} == {"ops/postgres.md": "binary file"}


def test_warm_start_loads_persisted_retriever(index, corpus_root, tmp_path):
    expected = index.search("sourdough docker", 1000, estimate_tokens)
    index.close()

    fresh = CorpusIndex(corpus_root, CorpusSettings(), tmp_path / "cache")
    report = fresh.refresh()

    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 5)
    assert report.files_read == 0
    assert report.files_chunked == 0
    assert report.retriever == "loaded"
    assert fresh.search("sourdough docker", 1000, estimate_tokens) == expected
    fresh.close()


def test_warm_start_sees_changes_made_while_closed(index, corpus_root, tmp_path):
    index.close()
    (corpus_root / "garden/tomatoes.txt").unlink()
    path = corpus_root / "baking/focaccia.md"
    path.write_text("# Focaccia\n\nRosemary and flaky salt on top.\n", encoding="utf-8")
    _bump_mtime(path)

    fresh = CorpusIndex(corpus_root, CorpusSettings(), tmp_path / "cache")
    report = fresh.refresh()

    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 1, 3)
    assert report.files_read == 1
    assert report.retriever == "built"
    fresh.close()


def test_in_memory_index(corpus_root):
    corpus_index = CorpusIndex(corpus_root, CorpusSettings(), None)
    assert corpus_index.refresh().retriever == "built"
    assert corpus_index.refresh().retriever == "reused"
    assert _paths(corpus_index.search("focaccia olive oil", 1000, estimate_tokens)) == ["baking/focaccia.md"]


def test_exclude_files_left_out(index, corpus_root):
    current = corpus_root / "baking/sourdough.md"
    report = index.refresh(exclude_files=[current.resolve()])

    assert "baking/sourdough.md" not in [f.relative_path for f in index.files]
    assert "baking/sourdough.md" not in [f.relative_path for f in report.scan.files]
    assert index.search("sourdough starter", 1000, estimate_tokens) == []
    assert report.retriever == "reused"


def test_exclude_files_edits_cost_no_rebuild(index, corpus_root):
    current = corpus_root / "baking/sourdough.md"
    index.refresh(exclude_files=[current])
    current.write_text("# Sourdough\n\nNow about something else entirely.\n", encoding="utf-8")
    _bump_mtime(current)

    report = index.refresh(exclude_files=[current])
    assert report.files_read == 0
    assert report.retriever == "reused"

    report = index.refresh()
    assert report.files_read == 1
    assert report.updated == 1
    assert report.retriever == "built"


def test_messy_index_matches_scan(tmp_path):
    workspace = make_messy_workspace(tmp_path / "workspace")
    corpus_index = CorpusIndex(workspace["root"], workspace["settings"], tmp_path / "cache")
    report = corpus_index.refresh()

    scan = scan_corpus(workspace["root"], workspace["settings"])
    assert [f.relative_path for f in corpus_index.files] == workspace["included"]
    assert corpus_index.skipped == scan.skipped
    assert corpus_index.notes == scan.notes
    assert report.scan.skipped == scan.skipped
    corpus_index.close()


def test_messy_index_holds_no_secrets(tmp_path):
    workspace = make_messy_workspace(tmp_path / "workspace")
    corpus_index = CorpusIndex(workspace["root"], workspace["settings"], tmp_path / "cache")
    corpus_index.refresh()
    for secret in workspace["secrets"] + workspace["excluded_markers"]:
        assert corpus_index.search(secret, 100_000, estimate_tokens) == [], secret
    everything = corpus_index.search(" ".join(workspace["words"].values()), 100_000, estimate_tokens)
    assert sorted({chunk.path for chunk in everything}) == workspace["included"]
    text = "\n".join(chunk.text for chunk in everything)
    for secret in workspace["secrets"] + workspace["excluded_markers"]:
        assert secret not in text
    assert workspace["latin1_text"] in text
    corpus_index.close()


def test_unwritable_cache_falls_back_to_memory(corpus_root, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should go")
    corpus_index = CorpusIndex(corpus_root, CorpusSettings(), blocker)
    assert corpus_index.refresh().retriever == "built"
    assert _paths(corpus_index.search("pg_dump", 1000, estimate_tokens)) == ["ops/postgres.md"]
