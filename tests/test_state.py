from pathlib import Path

from amplifier_ls.state import Document

MARKDOWN = """---
title: Front title
intent: explain why caching matters
---
# Main title

Intro paragraph one.
Still paragraph one.

## First section

Some text.

- point one
- point two
  continued
- point three

```python
# not a heading
- not a list
```

### Sub section

Sub text.

Setext heading
--------------

## Second section

<!-- intent: keep it short -->
Final words.
"""


def test_front_matter_parsed():
    document = Document.from_text(MARKDOWN)
    assert document.structure.front_matter is not None
    assert document.title == "Front title"


def test_headings_outside_code():
    document = Document.from_text(MARKDOWN)
    titles = [(h.level, h.title) for h in document.structure.headings]
    assert titles == [
        (1, "Main title"),
        (2, "First section"),
        (3, "Sub section"),
        (2, "Setext heading"),
        (2, "Second section"),
    ]


def test_section_path_at_cursor():
    document = Document.from_text(MARKDOWN)
    offset = document.text.index("Sub text")
    assert [h.title for h in document.section_path(offset)] == ["Main title", "First section", "Sub section"]


def test_section_end_stops_at_same_level():
    document = Document.from_text(MARKDOWN)
    offset = document.text.index("Some text")
    end = document.section_end(offset)
    assert document.text[end:].startswith("Setext heading")


def test_list_block_found():
    document = Document.from_text(MARKDOWN)
    block = document.list_block_at(document.text.index("point two"))
    assert block is not None
    assert document.text[block.start : block.end] == "- point one\n- point two\n  continued\n- point three"


def test_list_in_code_ignored():
    document = Document.from_text(MARKDOWN)
    assert document.list_block_at(document.text.index("not a list")) is None


def test_intent_notes():
    document = Document.from_text(MARKDOWN)
    assert document.intent_notes() == ["explain why caching matters", "keep it short"]


def test_crlf_document_normalised():
    document = Document.from_text("# T\r\n\r\nText\r\n")
    assert document.text == "# T\n\nText\n"
    assert document.line_ending == "\r\n"


def test_plain_text_degrades():
    document = Document.from_text("Para one.\n\nPara two.\n", path=Path("notes.txt"))
    assert document.structure.headings == []
    assert len(document.structure.paragraphs) == 2
    assert document.title == "notes"


def test_empty_document():
    document = Document.from_text("")
    assert document.structure.headings == []
    assert document.section_path(0) == []
    assert document.section_end(0) == 0
