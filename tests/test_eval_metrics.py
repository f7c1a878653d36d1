"""The evaluation's measures, cut points and configurations, on constructed cases and real text.

The style tests use the example corpus (Simon Willison's notes, Apache-2.0) as the author
and Chapter 1 of Pride and Prejudice (public domain, `tests/data/other_author/`) as another.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from amplifier_ls.evaluation import metrics
from amplifier_ls.evaluation.configs import (
    AUTHOR,
    BASE,
    Configuration,
    ConfigurationError,
    load_configurations,
    parse_compare,
    resolve_settings,
    variants_for,
)
from amplifier_ls.evaluation.cuts import Cut, CutLimits, choose_held_out, find_cuts, truncated
from amplifier_ls.evaluation.runner import cut_seed, score_samples, stopped_at_boundary
from amplifier_ls.evaluation.summary import bootstrap
from amplifier_ls.settings import Settings
from amplifier_ls.state import Document
from amplifier_ls.volition import build_volition

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "examples" / "simonw-til" / "corpus"
AUSTEN = Path(__file__).resolve().parent / "data" / "other_author" / "pride-and-prejudice-chapter-1.md"

REFERENCE = (
    "I ran the tests again with the new flag and every one of them passed, so I pushed the "
    "fix and wrote up what I had learned about the option in this note."
)


@pytest.fixture(scope="module")
def author_split():
    """The example corpus split into a profile part and every 40th note held out."""
    files = sorted(CORPUS.rglob("*.md"))
    held_out = files[::40]
    profile_files = [path for path in files if path not in held_out]
    profile = metrics.build_style_profile([path.read_text(encoding="utf-8") for path in profile_files], 50)
    return profile, held_out


def _cut(reference: str = REFERENCE) -> Cut:
    return Cut("notes/a.md", Path("/tmp/notes/a.md"), "paragraph", 0, reference, 400)


# Overlap


def test_chrf_reference_scores_full():
    assert metrics.chrf(REFERENCE, REFERENCE) == pytest.approx(100.0)


def test_chrf_ranks_closer_text_higher():
    close = REFERENCE.replace("pushed the fix", "shipped the change")
    unrelated = "The weather in the valley was cold, and the river froze early that year."
    assert metrics.chrf(close, REFERENCE) > metrics.chrf(unrelated, REFERENCE)
    assert metrics.chrf(close, REFERENCE) < 100.0


def test_rouge_l_known_value():
    # LCS of 5 words: precision 5/5, recall 5/6, F1 = 10/11.
    assert metrics.rouge_l("the cat on the mat", "the cat sat on the mat") == pytest.approx(100 * 10 / 11)


def test_rouge_l_empty_prediction():
    assert metrics.rouge_l("", REFERENCE) == 0.0


def test_lcs_matches_dynamic_programming():
    rng = random.Random(3)
    for _ in range(300):
        first = [rng.choice("abcd") for _ in range(rng.randrange(0, 40))]
        second = [rng.choice("abcde") for _ in range(rng.randrange(0, 40))]
        table = [[0] * (len(second) + 1) for _ in range(len(first) + 1)]
        for i, a in enumerate(first):
            for j, b in enumerate(second):
                table[i + 1][j + 1] = table[i][j] + 1 if a == b else max(table[i][j + 1], table[i + 1][j])
        assert metrics.lcs_length(first, second) == table[-1][-1], (first, second)


def test_reference_scores_best_overlap(author_split):
    profile, _ = author_split
    candidates = {
        "reference": REFERENCE,
        "paraphrase": "I ran the tests once more with the flag set and they all passed, so the fix went out.",
        "other": "It is a truth universally acknowledged, that a single man must be in want of a wife.",
    }
    scores = {name: score_samples(_cut(), [text], profile) for name, text in candidates.items()}
    for key in ("chrf", "rouge_l"):
        assert scores["reference"][key] == pytest.approx(100.0)
        assert scores["reference"][key] > scores["paraphrase"][key] > scores["other"][key]


def test_reference_scores_own_distance(author_split):
    profile, _ = author_split
    scores = score_samples(_cut(), [REFERENCE], profile)
    assert scores["delta"] == pytest.approx(scores["delta_reference"])
    assert scores["delta_gap"] == pytest.approx(0.0)
    assert scores["length_ratio"] == pytest.approx(1.0)


def test_length_ratio_counts_words():
    assert metrics.length_ratio("one two", "one two three four") == pytest.approx(0.5)
    assert metrics.length_ratio("anything", "") is None


# Style


def test_prose_drops_code_and_markup():
    text = "---\ntitle: x\n---\nRun `pip install` from https://example.com/a [docs](http://b.c)\n```\nimport os\n```\nDone <b>now</b>"
    words = metrics.style_words(text)
    assert words == ["run", "from", "docs", "done", "now"]


def test_profile_is_mean_of_documents(author_split):
    profile, _ = author_split
    assert len(profile.words) == 50
    assert profile.words[0] == "the"
    assert sum(profile.author) == pytest.approx(0.0, abs=1e-9)


def test_profile_needs_two_documents():
    with pytest.raises(ValueError, match="at least 2 documents"):
        metrics.build_style_profile(["only one document with enough words in it"])


def test_short_text_has_no_delta(author_split):
    profile, _ = author_split
    assert profile.delta("Too short.") is None


def test_other_author_scores_larger_delta(author_split):
    profile, held_out = author_split
    austen = metrics.style_words(AUSTEN.read_text(encoding="utf-8"))
    size = 200
    austen_delta = profile.delta_of_words(austen[:size])
    compared = 0
    for path in held_out:
        words = metrics.style_words(path.read_text(encoding="utf-8"))
        if len(words) < size:
            continue
        compared += 1
        assert profile.delta_of_words(words[:size]) < austen_delta, path.name
    assert compared >= 5


def test_other_author_pooled_delta_larger(author_split):
    profile, held_out = author_split
    austen = metrics.style_words(AUSTEN.read_text(encoding="utf-8"))
    own = [word for path in held_out for word in metrics.style_words(path.read_text(encoding="utf-8"))]
    assert len(own) >= len(austen)
    assert profile.delta_of_words(own[: len(austen)]) < profile.delta_of_words(austen)


def test_delta_gap_positive_for_other_author(author_split):
    profile, held_out = author_split
    own = held_out[2].read_text(encoding="utf-8")
    austen = AUSTEN.read_text(encoding="utf-8")
    assert metrics.length_matched_delta_gap(profile, austen, own) > 0
    assert metrics.length_matched_delta_gap(profile, own, own) == pytest.approx(0.0)


# Diversity


def test_identical_samples_zero_diversity():
    samples = [REFERENCE] * 3
    assert metrics.self_bleu(samples) == pytest.approx(100.0)
    assert metrics.distinct_n(samples, 1) == pytest.approx(metrics.distinct_n([REFERENCE], 1) / 3)
    assert metrics.distinct_n(samples, 2) == pytest.approx(metrics.distinct_n([REFERENCE], 2) / 3)


def test_different_samples_more_diverse():
    samples = [
        REFERENCE,
        "The build failed on Windows because the path separator was wrong.",
        "Next I want to try the same trick with a SQLite database.",
    ]
    assert metrics.self_bleu(samples) < 20.0
    assert metrics.distinct_n(samples, 2) > metrics.distinct_n([REFERENCE] * 3, 2)


def test_diversity_needs_two_samples():
    assert metrics.self_bleu([REFERENCE]) is None
    assert metrics.distinct_n([""], 1) is None


def test_score_samples_counts_empty_as_zero(author_split):
    profile, _ = author_split
    scores = score_samples(_cut(), [REFERENCE, ""], profile)
    assert scores["chrf"] == pytest.approx(50.0)
    assert scores["chrf_best"] == pytest.approx(100.0)
    assert scores["self_bleu"] is None


# Aggregation


def test_bootstrap_interval_contains_mean():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    estimate = bootstrap(values, random.Random(0), 500)
    assert estimate.mean == pytest.approx(3.5)
    assert estimate.low < 3.5 < estimate.high
    assert estimate.n == 6


def test_bootstrap_is_seeded():
    values = [0.3, 0.9, 0.1, 0.5]
    assert bootstrap(values, random.Random(7), 200) == bootstrap(values, random.Random(7), 200)


def test_bootstrap_single_value():
    estimate = bootstrap([2.0], random.Random(0), 100)
    assert (estimate.mean, estimate.low, estimate.high) == (2.0, 2.0, 2.0)
    assert bootstrap([], random.Random(0), 100) is None


# Cuts

DOCUMENT = """---
title: Notes
---
# Notes on testing

The first paragraph explains why the tests were slow on the build machine and what changed.

The second paragraph names the fixture reused across the whole session to save time.

```python
def test_example():

    assert True
```

The paragraph after the code block describes what the example shows about fixture scope.

## Results

The results section opens with numbers from before and after the change to the fixtures.

### Details

A subsection with more detail about the timings on each of the machines that ran them.

## Next steps

Next I want to try running the tests in parallel, once the database fixture is safe to share.
"""


def _document() -> Document:
    return Document.from_text(DOCUMENT, Path("/tmp/notes/testing.md"))


def test_paragraph_cuts_skip_code():
    document = _document()
    cuts = find_cuts(document, "testing.md", ("paragraph",), CutLimits(min_before_chars=100, min_after_chars=40))["paragraph"]
    references = [cut.reference for cut in cuts]
    assert references == [
        "The second paragraph names the fixture reused across the whole session to save time.",
        "The paragraph after the code block describes what the example shows about fixture scope.",
    ]
    for cut in cuts:
        assert document.text[cut.offset :].startswith(cut.reference)
        assert document.text[: cut.offset].endswith("\n\n")


def test_paragraph_cuts_respect_min_before():
    document = _document()
    cuts = find_cuts(document, "testing.md", ("paragraph",), CutLimits(min_before_chars=150, min_after_chars=40))
    assert [cut.reference[:20] for cut in cuts["paragraph"]] == ["The paragraph after "]


def test_section_cuts_match_new_section_level():
    document = _document()
    cuts = find_cuts(document, "testing.md", ("section",), CutLimits(min_before_chars=100, min_after_chars=40))["section"]
    # "## Next steps" follows a level-3 section, where the pipeline would start a "###" one.
    assert [cut.reference.split("\n", 1)[0] for cut in cuts] == ["## Results"]
    results = cuts[0]
    assert "### Details" in results.reference
    assert "## Next steps" not in results.reference
    volition = build_volition(truncated(document, results.offset), results.offset, "next-section")
    assert volition.section_level == 2
    assert volition.start == results.offset


def test_truncated_has_nothing_after_cut():
    document = _document()
    cut = find_cuts(document, "testing.md", ("section",), CutLimits(100, 40))["section"][0]
    head = truncated(document, cut.offset)
    assert head.text == document.text[: cut.offset]
    assert head.path == document.path
    assert "## Results" not in head.text


def test_held_out_choice_is_seeded():
    files = [(path.relative_to(CORPUS).as_posix(), path) for path in sorted(CORPUS.glob("sqlite/*.md"))]
    first = choose_held_out(files, 4, 2, seed=11)
    again = choose_held_out(files, 4, 2, seed=11)
    other = choose_held_out(files, 4, 2, seed=12)
    assert [cut.id for doc in first for cut in doc.cuts] == [cut.id for doc in again for cut in doc.cuts]
    assert [doc.path for doc in first] != [doc.path for doc in other]
    assert len(first) == 4
    assert all(1 <= len(doc.cuts) <= 2 for doc in first)


def test_cut_seed_differs_per_cut():
    first, second = _cut(), Cut("notes/b.md", Path("/tmp/notes/b.md"), "paragraph", 0, REFERENCE, 400)
    assert cut_seed(0, first) == cut_seed(0, first)
    assert cut_seed(0, first) != cut_seed(0, second)
    assert cut_seed(0, first) != cut_seed(1, first)


def test_stopped_at_boundary_cases():
    document = Document.from_text("# T\n\nSome text before the cut.\n\n")
    volition = build_volition(document, len(document.text), "continue", "paragraph")
    assert stopped_at_boundary("One paragraph.\n\nAnd the next one.", volition, None) is True
    assert stopped_at_boundary("One paragraph that ran out", volition, "length") is False
    assert stopped_at_boundary("One paragraph.", volition, "stop") is True
    assert stopped_at_boundary("One paragraph.", volition, None) is None


# Configurations


def test_compare_parses_toml_values():
    configuration = parse_compare('wide:corpus.paths=["a", "b"],decoding.temperature=0.2,backend="openai"')
    assert configuration.name == "wide"
    assert configuration.overrides == {"corpus.paths": ["a", "b"], "decoding.temperature": 0.2, "backend": "openai"}


@pytest.mark.parametrize("value", ["no-colon", ":decoding.seed=1", "bad name:decoding.seed=1", "x:novalue"])
def test_compare_rejects_malformed(value):
    with pytest.raises(ConfigurationError):
        parse_compare(value)


def test_configs_file_in_order(tmp_path):
    path = tmp_path / "configs.toml"
    path.write_text('[configs.cold]\ndecoding.temperature = 0.2\n\n[configs.small]\ncorpus.budget_tokens = 300\n')
    configurations = load_configurations(path)
    assert [c.name for c in configurations] == ["cold", "small"]
    assert configurations[0].overrides == {"decoding": {"temperature": 0.2}}


def test_configs_file_without_tables(tmp_path):
    path = tmp_path / "configs.toml"
    path.write_text("[decoding]\ntemperature = 0.2\n")
    with pytest.raises(ConfigurationError, match=r"\[configs.NAME\]"):
        load_configurations(path)


def test_resolve_rejects_duplicates():
    with pytest.raises(ConfigurationError, match="used twice or reserved"):
        resolve_settings(Settings(), [Configuration(BASE, {})])


def test_variants_with_ablation():
    settings = resolve_settings(Settings(), [Configuration("cold", {"decoding.temperature": 0.2}),
                                             Configuration("bare", {"corpus.enabled": False})])
    each = [(v.name, v.use_corpus) for v in variants_for(settings, "each")]
    assert each == [("base", True), ("base (no corpus)", False), ("cold", True), ("cold (no corpus)", False),
                    ("bare", False), (AUTHOR, False)]
    assert [v.name for v in variants_for(settings, "base")] == ["base", "base (no corpus)", "cold", "bare", AUTHOR]
    assert [v.name for v in variants_for(settings, "none")] == ["base", "cold", "bare", AUTHOR]
