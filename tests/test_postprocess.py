import pytest

from amplifier_ls.postprocess import cut_loop, finish, is_degenerate, stop_sequences, strip_overlap
from amplifier_ls.state import Document
from amplifier_ls.volition import build_volition


def volition_at(text, marker=None, **kwargs):
    offset = text.index(marker) if marker else len(text)
    return build_volition(Document.from_text(text), offset, **kwargs)


def test_sentence_horizon_stops_at_first_sentence():
    volition = volition_at("# T\n\nThe cat sat", horizon="sentence")
    result = finish(" on the mat. Then it slept. More.", volition)
    assert result.status == "ok"
    assert result.text == " on the mat."


def test_sentence_ignores_decimal_point():
    volition = volition_at("Version", horizon="sentence")
    assert finish(" 3.5 is out now. Next", volition).text == " 3.5 is out now."


def test_paragraph_horizon_stops_at_blank_line():
    volition = volition_at("# T\n\nFirst words", horizon="paragraph")
    result = finish(" and more words.\nSame paragraph.\n\nNext paragraph.", volition)
    assert result.text == " and more words.\nSame paragraph."


def test_paragraph_after_blank_line_keeps_body():
    volition = volition_at("# T\n\nDone.\n\n", horizon="paragraph")
    assert finish("\n\nNew paragraph here.\n\nAnother.", volition).text == "New paragraph here."


def test_section_horizon_stops_at_sibling_heading():
    volition = volition_at("# T\n\n## A\n\nText", horizon="section")
    result = finish(" more.\n\n### Deeper\n\nok\n\n## B\n\nnope", volition)
    assert result.text == " more.\n\n### Deeper\n\nok"


def test_format_marker_ends_text():
    volition = volition_at("# T\n\nWords", horizon="section")
    assert finish(" end.\n\n==> other/file.md <==\n# Other", volition).text == " end."


def test_overlap_with_following_text_removed():
    text = "We went to the shops. After that we went home."
    volition = volition_at(text, "After that", horizon="paragraph")
    result = finish("Then we bought bread. After that we went home.", volition)
    assert result.text == "Then we bought bread. "


def test_strip_overlap_partial_suffix():
    assert strip_overlap("I like tea and biscuits", " biscuits and cake") == "I like tea and"


def test_no_doubled_space():
    volition = volition_at("The cat ", horizon="sentence")
    assert finish("  sat down.", volition).text == "sat down."


def test_no_doubled_blank_lines():
    volition = volition_at("Para.\n\n", horizon="paragraph")
    assert finish("\n\n\nNext para.", volition).text == "Next para."


def test_indentation_not_doubled():
    volition = volition_at("- item\n  ", horizon="sentence")
    assert finish("   continued line.", volition).text == "continued line."


def test_crlf_line_endings_kept():
    document = Document.from_text("# T\r\n\r\n## A\r\n\r\nText")
    volition = build_volition(document, len(document.text), horizon="section")
    result = finish(" one.\n\nTwo.", volition, line_ending=document.line_ending)
    assert result.text == " one.\r\n\r\nTwo."


def test_empty_output_reported():
    volition = volition_at("Hello", horizon="paragraph")
    result = finish("   \n", volition)
    assert result.status == "empty"
    assert result.text == ""


def test_loop_cut_keeps_first_occurrence():
    text = "This line repeats.\nThis line repeats.\nThis line repeats.\n"
    cut, looped = cut_loop(text)
    assert looped
    assert cut == "This line repeats."


def test_word_loop_detected():
    text = "intro " + "the same six words again here " * 4
    cut, looped = cut_loop(text)
    assert looped
    assert cut.count("the same six words again here") == 1


def test_pure_loop_is_degenerate():
    volition = volition_at("Start", horizon="section")
    result = finish("!!!!\n!!!!\n!!!!\n!!!!", volition)
    assert result.status == "degenerate"


def test_punctuation_only_is_degenerate():
    assert is_degenerate("... --- ...") != ""


def test_next_section_keeps_heading_lead():
    text = "# T\n\n## A\n\nText.\n"
    volition = build_volition(Document.from_text(text), text.index("Text"), mode="next-section")
    result = finish("Second part\n\nBody of it.\n\n## Third\n\nno", volition)
    assert result.text == "\n## Second part\n\nBody of it."


def test_expand_separates_from_following_text():
    text = "# T\n\n- a\n- b\n\n## Next\n"
    volition = build_volition(Document.from_text(text), text.index("- a"), mode="expand")
    result = finish("Draft about a and b.\n\n", volition)
    assert result.text == "Draft about a and b."
    assert volition.after.startswith("\n\n## Next")


def test_expand_adds_blank_line_before_text():
    text = "- a\n- b\nTail paragraph."
    volition = build_volition(Document.from_text(text), 0, mode="expand", selection=(0, 7))
    assert finish("Draft.", volition).text == "Draft.\n"


@pytest.mark.parametrize("horizon", ["sentence", "paragraph"])
def test_blank_line_is_no_stop_sequence(horizon):
    volition = volition_at("End of a paragraph.", horizon=horizon)
    assert "\n\n" not in stop_sequences(volition)
    assert "\n==> " in stop_sequences(volition)


def test_paragraph_after_leading_blank_line():
    volition = volition_at("# T\n\nEnd of a paragraph.", horizon="paragraph")
    assert finish("\n\nThe next paragraph.\n\nMore.", volition).text == "\n\nThe next paragraph."


@pytest.mark.parametrize(
    "raw",
    ["Words here.\n  -- 186257040.md <==\nmore", "Words here.\n<!-- > after sunset", "Words here. --> more"],
    ids=["garbled-marker", "comment-start", "comment-end"],
)
def test_prompt_markup_cut(raw):
    volition = volition_at("# T\n\nStart.", horizon="section")
    assert finish(raw, volition).text.strip() == "Words here."


def test_expand_drops_leading_heading():
    text = "# Trip\n\n## Packing\n\n- light bag\n\n## Sunday\n"
    volition = build_volition(Document.from_text(text), text.index("light"), mode="expand")
    assert finish("## Sunday\n\nI packed a light bag.\n\n\n\nIt was enough.", volition).text == (
        "I packed a light bag.\n\nIt was enough."
    )


def test_heading_without_section_is_empty():
    text = "# T\n\n## A\n\nText.\n"
    volition = build_volition(Document.from_text(text), text.index("Text"), mode="next-section")
    result = finish("5\n\n", volition)
    assert result.status == "empty"


def test_paragraph_at_block_start_gets_blank_line():
    text = "# T\n\nFirst.\n\nThe canal path."
    volition = build_volition(Document.from_text(text), text.index("The canal"), horizon="paragraph")
    assert finish("I went to work.", volition).text == "I went to work.\n\n"


def test_sentence_before_text_gets_space():
    text = "It rained. The end."
    volition = build_volition(Document.from_text(text), text.index("The end"), horizon="sentence")
    assert finish("We stayed in.", volition).text == "We stayed in. "


@pytest.mark.parametrize("before", ["Last line.\n", "", "Para.\n\n"], ids=["after-newline", "empty", "after-blank"])
def test_single_space_dropped_at_line_start(before):
    volition = volition_at(before, horizon="sentence")
    assert finish(" keeps on growing.", volition).text.lstrip("\n") == "keeps on growing."


def test_indentation_kept_at_line_start():
    volition = volition_at("- item\n", horizon="paragraph")
    assert finish("  - nested item", volition).text == "  - nested item"
