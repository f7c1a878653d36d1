"""Chunking: cuts at headings, then paragraphs, never inside a code fence; exact offsets."""

from __future__ import annotations

import pytest

from amplifier_ls.corpus.chunk import chunk_text, split_front_matter
from amplifier_ls.text import normalize_newlines


def _check_invariants(text: str, chunks, max_chars: int = 2400) -> None:
    """Every chunk is an exact slice of the normalised text; chunks are ordered and disjoint."""
    normalised = normalize_newlines(text)
    previous_end = 0
    for number, chunk in enumerate(chunks):
        assert chunk.index == number
        assert normalised[chunk.start:chunk.start + len(chunk.text)] == chunk.text
        assert chunk.start >= previous_end
        assert len(chunk.text) <= max_chars
        assert chunk.text == chunk.text.strip("\n")
        previous_end = chunk.start + len(chunk.text)


def _words(text: str) -> list[str]:
    return text.split()


SECTIONS = """# Garden log

Notes from the allotment.

## Spring

Sowed broad beans and peas.

### Tomatoes

Pricked out the seedlings.

## Autumn

Lifted the potatoes.
"""


def test_sections_split_at_headings():
    chunks = chunk_text("garden.md", SECTIONS, target_chars=60, max_chars=120)
    _check_invariants(SECTIONS, chunks)
    assert [chunk.text.splitlines()[0] for chunk in chunks] == [
        "# Garden log",
        "## Spring",
        "### Tomatoes",
        "## Autumn",
    ]


def test_sections_carry_heading_path():
    chunks = chunk_text("garden.md", SECTIONS, target_chars=60, max_chars=120)
    assert [chunk.heading_path for chunk in chunks] == [
        ("Garden log",),
        ("Garden log", "Spring"),
        ("Garden log", "Spring", "Tomatoes"),
        ("Garden log", "Autumn"),
    ]


def test_short_file_one_chunk():
    chunks = chunk_text("garden.md", SECTIONS)
    assert len(chunks) == 1
    assert chunks[0].text == SECTIONS.rstrip("\n")
    assert chunks[0].heading_path == ("Garden log",)
    assert chunks[0].title == "Garden log"


def test_long_section_split_at_paragraphs():
    paragraphs = [f"Paragraph {n} " + "word " * 30 for n in range(8)]
    text = "## Long\n\n" + "\n\n".join(paragraphs) + "\n"
    chunks = chunk_text("long.md", text, target_chars=400, max_chars=800)
    _check_invariants(text, chunks, 800)
    assert len(chunks) > 1
    assert chunks[0].text.startswith("## Long\n\nParagraph 0")
    for chunk in chunks:
        assert chunk.text.startswith(("## Long", "Paragraph"))
        assert chunk.heading_path == ("Long",)
    assert _words(" ".join(c.text for c in chunks)) == _words(text)


def test_fence_kept_whole():
    fence = "```python\n" + "".join(f"x{n} = {n}\n\n" for n in range(20)) + "# comment, not a heading\n```"
    text = "## Code\n\nIntro line.\n\n" + fence + "\n\nAfter the code.\n"
    chunks = chunk_text("code.md", text, target_chars=100, max_chars=400)
    _check_invariants(text, chunks, 400)
    assert any(chunk.text.endswith(fence) or fence in chunk.text for chunk in chunks)
    assert all(chunk.heading_path == ("Code",) for chunk in chunks)


def test_tilde_fence_hides_headings():
    text = "# Title\n\n~~~\n# not a heading\n\n## nor this\n~~~\n\n## Real\n\nText.\n"
    chunks = chunk_text("t.md", text, target_chars=20, max_chars=60)
    _check_invariants(text, chunks, 60)
    assert [chunk.heading_path for chunk in chunks] == [("Title",), ("Title", "Real")]
    assert chunks[0].text.endswith("## nor this\n~~~")


def test_oversized_fence_split_at_lines():
    lines = [f"line {n:03d} of a very long listing" for n in range(100)]
    text = "```\n" + "\n".join(lines) + "\n```\n"
    chunks = chunk_text("big.md", text, target_chars=300, max_chars=600)
    _check_invariants(text, chunks, 600)
    assert len(chunks) > 1
    for chunk in chunks:
        for line in chunk.text.splitlines():
            assert line in lines or line == "```"


def test_long_line_cut_on_cluster_boundary():
    text = "e\u0301" * 1000
    chunks = chunk_text("accents.txt", text, target_chars=100, max_chars=151)
    _check_invariants(text, chunks, 151)
    assert all(not chunk.text.startswith("\u0301") for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks) == text


def test_long_line_cut_after_space():
    text = " ".join(["word"] * 200)
    chunks = chunk_text("words.txt", text, target_chars=100, max_chars=200)
    _check_invariants(text, chunks, 200)
    assert all(chunk.text.endswith(("word ", "word")) for chunk in chunks)


def test_yaml_front_matter_dropped():
    text = "---\ntitle: From front matter\ntags: [a, b]\n---\nBody paragraph.\n"
    chunks = chunk_text("notes/fm.md", text)
    _check_invariants(text, chunks)
    assert [chunk.text for chunk in chunks] == ["Body paragraph."]
    assert chunks[0].title == "From front matter"
    assert chunks[0].start == text.index("Body")


def test_toml_front_matter_dropped():
    text = '+++\ntitle = "Toml title"\n+++\n\nBody.\n'
    chunks = chunk_text("notes/fm.md", text)
    assert [chunk.text for chunk in chunks] == ["Body."]
    assert chunks[0].title == "Toml title"


def test_heading_title_wins_over_front_matter():
    text = "---\ntitle: Front\n---\n# Heading title\n\nBody.\n"
    assert chunk_text("a.md", text)[0].title == "Heading title"


def test_title_falls_back_to_stem():
    assert chunk_text("notes/my-note.md", "Just text.\n")[0].title == "my-note"


def test_invalid_front_matter_still_dropped():
    text = "---\ntitle: [unclosed\n---\nBody.\n"
    chunks = chunk_text("a.md", text)
    assert [chunk.text for chunk in chunks] == ["Body."]
    assert chunks[0].title == "a"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\ntitle: A\n---\nrest", (17, "A")),
        ("---\ntitle: A\n...\nrest", (17, "A")),
        ("---\nno closing line\n", (0, None)),
        ("text\n---\ntitle: A\n---\n", (0, None)),
        ("---\ntitle: 2024\n---\n", (20, "2024")),
    ],
)
def test_split_front_matter(text, expected):
    assert split_front_matter(text) == expected


def test_front_matter_only_has_no_chunks():
    assert chunk_text("a.md", "---\ntitle: Empty\n---\n") == []


def test_empty_text_has_no_chunks():
    assert chunk_text("a.md", "") == []
    assert chunk_text("a.md", "\n\n  \n") == []


def test_crlf_normalised():
    text = "# Title\r\n\r\nFirst paragraph.\r\n\r\n## Next\r\n\r\nSecond.\r\n"
    chunks = chunk_text("crlf.md", text, target_chars=20, max_chars=40)
    _check_invariants(text, chunks, 40)
    assert all("\r" not in chunk.text for chunk in chunks)
    assert [chunk.heading_path for chunk in chunks] == [("Title",), ("Title", "Next")]


def test_unicode_preserved_exactly():
    text = (
        "# Ünïcödé 🎉\n\n"
        "東京で朝ごはんを食べた。味噌汁がおいしかった。\n\n"
        "Cafe\u0301 and the family 👨\u200d👩\u200d👧 emoji.\n\n"
        "## Ωμέγα\n\nΚαλημέρα κόσμε.\n"
    )
    chunks = chunk_text("unicode.md", text, target_chars=30, max_chars=60)
    _check_invariants(text, chunks, 60)
    joined = "\n\n".join(chunk.text for chunk in chunks)
    assert joined == text.rstrip("\n")
    assert chunks[-1].heading_path == ("Ünïcödé 🎉", "Ωμέγα")


def test_setext_headings():
    text = "Big title\n=========\n\nIntro.\n\nSection\n-------\n\nBody.\n"
    chunks = chunk_text("s.md", text, target_chars=10, max_chars=40)
    _check_invariants(text, chunks, 40)
    assert chunks[0].title == "Big title"
    assert chunks[-1].heading_path == ("Big title", "Section")


def test_thematic_break_not_heading():
    text = "Para one\nstill para\n---\n\nAfter.\n"
    chunks = chunk_text("b.md", text)
    assert chunks[0].heading_path == ()
    assert chunks[0].title == "b"


def test_atx_closing_hashes_stripped():
    chunks = chunk_text("h.md", "## Heading ##\n\nText.\n")
    assert chunks[0].heading_path == ("Heading",)


def test_plain_text_ignores_markdown():
    text = "# not a heading in a .txt file\n\nSecond paragraph.\n\n```\nThird paragraph, long\n\nFourth paragraph, long\n"
    chunks = chunk_text("notes.txt", text, target_chars=20, max_chars=40)
    _check_invariants(text, chunks, 40)
    assert all(chunk.heading_path == () for chunk in chunks)
    assert chunks[0].title == "notes"
    assert [chunk.text for chunk in chunks][-2:] == ["```\nThird paragraph, long", "Fourth paragraph, long"]


def test_plain_text_paragraph_chunks():
    paragraphs = [f"Paragraph {n}: " + "lorem ipsum " * 20 for n in range(6)]
    text = "\n\n".join(paragraphs) + "\n"
    chunks = chunk_text("journal.txt", text, target_chars=300, max_chars=600)
    _check_invariants(text, chunks, 600)
    assert len(chunks) >= 3
    assert all(chunk.text.startswith("Paragraph") for chunk in chunks)


def test_org_headings():
    text = "* Top\nIntro.\n** Sub\nDetail.\n"
    chunks = chunk_text("n.org", text, target_chars=8, max_chars=20)
    assert [chunk.heading_path for chunk in chunks] == [("Top",), ("Top", "Sub")]
    assert chunks[0].title == "Top"


def test_rst_headings():
    text = "Title\n=====\n\nIntro text.\n\nPart\n----\n\nBody text.\n"
    chunks = chunk_text("n.rst", text, target_chars=10, max_chars=30)
    _check_invariants(text, chunks, 30)
    assert chunks[-1].heading_path == ("Title", "Part")


def test_small_sections_merged():
    text = "# T\n\n## A\n\nOne.\n\n## B\n\nTwo.\n"
    chunks = chunk_text("m.md", text, target_chars=1200)
    assert len(chunks) == 1
    assert chunks[0].heading_path == ("T",)


def test_target_above_max_rejected():
    with pytest.raises(ValueError, match="max_chars"):
        chunk_text("a.md", "x", target_chars=100, max_chars=50)
