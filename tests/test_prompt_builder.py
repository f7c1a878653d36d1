from pathlib import Path

from amplifier_ls.backends.base import estimate_tokens
from amplifier_ls.corpus.model import Chunk
from amplifier_ls.prompt import ARCHIVE_HEADER
from amplifier_ls.prompt_builder import Budget, build_prompt, render_prefix
from amplifier_ls.state import Document
from amplifier_ls.volition import build_volition

EXCERPTS = [
    Chunk("a/one.md", "One", ("One",), "# One\n\nFirst note text.", 0, 0),
    Chunk("b/two.md", "Two", ("Two", "Part"), "Middle of the second note.", 120, 2),
]


def budget(document_tokens=500, corpus_tokens=500, context=4096):
    return Budget(context_window=context, max_output_tokens=100, document_tokens=document_tokens,
                  corpus_tokens=corpus_tokens)


def test_prompt_layout():
    document = Document.from_text("# Draft\n\nHello there", path=Path("notes/draft.md"))
    volition = build_volition(document, len(document.text))
    prompt = build_prompt(document, volition, EXCERPTS, budget(), estimate_tokens)
    assert prompt.prefix.startswith(ARCHIVE_HEADER)
    assert "==> a/one.md <==\n# One" in prompt.prefix
    assert "==> b/two.md <==\n# Two\n\n[…]\n\nMiddle" in prompt.prefix
    assert prompt.body == "==> draft.md <==\n# Draft\n\nHello there"
    assert prompt.text.endswith("Hello there")


def test_prefix_independent_of_cursor():
    document = Document.from_text("# Draft\n\nOne. Two. Three.\n\n## Later\n")
    first = build_prompt(document, build_volition(document, 12), EXCERPTS, budget(), estimate_tokens)
    second = build_prompt(document, build_volition(document, 20), EXCERPTS, budget(), estimate_tokens)
    assert first.prefix == second.prefix
    assert first.body != second.body


def test_plan_and_intent_in_notes():
    text = "---\nintent: teach the basics\n---\n# Draft\n\nStart.\n\n## Next part\n"
    document = Document.from_text(text)
    volition = build_volition(document, text.index("Start.") + 6)
    prompt = build_prompt(document, volition, [], budget(), estimate_tokens)
    assert "Sections still to write:\n## Next part" in prompt.body
    assert "Intent: teach the basics" not in prompt.body
    assert prompt.prefix == ""


def test_outline_placed_before_insertion():
    text = "# Draft\n\nIntro.\n\n- alpha\n- beta\n\n## End\n"
    document = Document.from_text(text)
    volition = build_volition(document, text.index("alpha"), mode="expand")
    prompt = build_prompt(document, volition, [], budget(), estimate_tokens)
    assert prompt.body.endswith("Intro.\n\n<!-- Outline of the next part, to be written out in full prose:\n- alpha\n- beta\n-->\n\n")


def test_long_document_trimmed_keeps_title_and_tail():
    paragraphs = "\n\n".join(f"Paragraph number {i} with some words." for i in range(200))
    text = "# Long title\n\n" + paragraphs
    document = Document.from_text(text)
    prompt = build_prompt(document, build_volition(document, len(text)), [], budget(document_tokens=120),
                          estimate_tokens)
    assert prompt.trimmed_chars > 0
    assert prompt.document_before.startswith("# Long title\n")
    assert "[…]" in prompt.document_before
    assert prompt.document_before.endswith("Paragraph number 199 with some words.")
    assert estimate_tokens(prompt.document_before) <= 130


def test_trim_never_splits_combining_or_emoji():
    body = ("e\u0301 👩\u200d👩\u200d👧 日本語 " * 300).strip()
    document = Document.from_text(body)
    prompt = build_prompt(document, build_volition(document, len(body)), [], budget(document_tokens=50),
                          estimate_tokens)
    kept = prompt.document_before.split("[…]\n\n")[-1]
    assert body.endswith(kept)
    assert not kept.startswith(("\u0301", "\u200d"))
    kept.encode("utf-8")


def test_corpus_room_shrinks_with_context():
    document = Document.from_text("# D\n\n" + "word " * 400)
    seen = {}

    def fit(tokens):
        seen["tokens"] = tokens
        return []

    build_prompt(document, build_volition(document, len(document.text)), [], budget(corpus_tokens=5000, context=1000),
                 estimate_tokens, fit)
    assert 0 < seen["tokens"] < 1000 - 100


def test_render_prefix_empty():
    assert render_prefix([]) == ""
