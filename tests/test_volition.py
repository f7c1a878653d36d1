import pytest

from amplifier_ls.errors import DocumentError
from amplifier_ls.state import Document
from amplifier_ls.volition import build_volition

DOC = """# Trip notes

Intro text.

## Packing

- passport
- charger
- snacks

## Travel

Train times.

## Arrival
"""


def test_continue_splits_at_cursor():
    document = Document.from_text(DOC)
    offset = DOC.index("Train times.") + len("Train")
    volition = build_volition(document, offset)
    assert volition.before.endswith("Train")
    assert volition.after.startswith(" times.")
    assert volition.plan == ("## Arrival",)
    assert volition.section_level == 2


def test_expand_takes_list_block():
    document = Document.from_text(DOC)
    volition = build_volition(document, DOC.index("charger"), mode="expand")
    assert volition.outline == "- passport\n- charger\n- snacks"
    assert DOC[volition.start : volition.end] == volition.outline
    assert volition.horizon == "draft"
    assert volition.plan == ("## Travel", "## Arrival")


def test_expand_selection_snaps_to_lines():
    document = Document.from_text(DOC)
    start = DOC.index("charger") + 2
    end = DOC.index("snacks") + 3
    volition = build_volition(document, start, mode="expand", selection=(start, end))
    assert volition.outline == "- charger\n- snacks"


def test_expand_without_outline_fails():
    document = Document.from_text(DOC)
    with pytest.raises(DocumentError, match="No outline"):
        build_volition(document, DOC.index("Intro"), mode="expand")


def test_next_section_goes_after_current():
    document = Document.from_text(DOC)
    volition = build_volition(document, DOC.index("Train"), mode="next-section")
    assert DOC[volition.start :].startswith("## Arrival")
    assert volition.lead == "## "
    assert volition.horizon == "section"


def test_next_section_under_title_is_level_two():
    document = Document.from_text(DOC)
    volition = build_volition(document, DOC.index("Intro"), mode="next-section")
    assert DOC[volition.start :].startswith("## Packing")
    assert volition.section_level == 2


def test_next_section_at_end_adds_blank_line():
    text = "# T\n\nLast paragraph."
    volition = build_volition(Document.from_text(text), len(text), mode="next-section")
    assert volition.lead == "\n\n## "


def test_cursor_outside_document():
    with pytest.raises(DocumentError):
        build_volition(Document.from_text("abc"), 10)


def test_expand_selection_must_be_outline():
    document = Document.from_text(DOC)
    start = DOC.index("Train times.")
    end = DOC.index("## Arrival") + 3
    with pytest.raises(DocumentError, match="not an outline"):
        build_volition(document, start, mode="expand", selection=(start, end))
