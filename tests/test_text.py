import pytest

from amplifier_ls.text import (
    apply_line_ending,
    code_units,
    cut_head,
    cut_tail,
    detect_line_ending,
    is_cluster_boundary,
    normalize_newlines,
    offset_at,
    position_at,
    truncate_utf8,
)


@pytest.mark.parametrize(
    "text, expected",
    [("a\nb\n", "\n"), ("a\r\nb\r\n", "\r\n"), ("a\rb\r", "\r"), ("no newline", "\n"), ("a\r\nb\r\nc\n", "\r\n")],
    ids=["lf", "crlf", "cr", "none", "mostly-crlf"],
)
def test_detect_line_ending(text, expected):
    assert detect_line_ending(text) == expected


def test_normalize_and_apply_round_trip():
    original = "one\r\ntwo\r\n\r\nthree"
    normalized = normalize_newlines(original)
    assert normalized == "one\ntwo\n\nthree"
    assert apply_line_ending(normalized, "\r\n") == original


@pytest.mark.parametrize(
    "text, encoding, units",
    [
        ("héllo", "utf-16", 5),
        ("héllo", "utf-8", 6),
        ("😀", "utf-16", 2),
        ("😀", "utf-8", 4),
        ("😀", "utf-32", 1),
        ("日本", "utf-16", 2),
        ("日本", "utf-8", 6),
        ("e\u0301", "utf-16", 2),
    ],
    ids=["accent-16", "accent-8", "emoji-16", "emoji-8", "emoji-32", "cjk-16", "cjk-8", "combining-16"],
)
def test_code_units(text, encoding, units):
    assert code_units(text, encoding) == units


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_offset_position_round_trip(encoding):
    text = "# Title 😀\n\ncafe\u0301 日本語 👩‍👩‍👧\nlast line"
    for offset in range(len(text) + 1):
        line, character = position_at(text, offset, encoding)
        assert offset_at(text, line, character, encoding) == offset


def test_offset_after_emoji_utf16():
    text = "😀 ok"
    assert offset_at(text, 0, 2, "utf-16") == 1
    assert offset_at(text, 0, 3, "utf-16") == 2


def test_offset_inside_surrogate_pair_rounds_down():
    assert offset_at("😀x", 0, 1, "utf-16") == 0


def test_offset_clamps_past_line_end():
    text = "ab\ncd"
    assert offset_at(text, 0, 99) == 2
    assert offset_at(text, 9, 0) == len(text)


def test_offset_rejects_negative():
    with pytest.raises(ValueError):
        offset_at("abc", -1, 0)


def test_cluster_boundaries():
    text = "e\u0301x"
    assert not is_cluster_boundary(text, 1)
    assert is_cluster_boundary(text, 2)
    family = "👩\u200d👧"
    assert not is_cluster_boundary(family, 1)
    assert not is_cluster_boundary(family, 2)


def test_cut_head_keeps_combining_mark():
    assert cut_head("cafe\u0301s", 4) == "caf"
    assert cut_head("cafe\u0301s", 5) == "cafe\u0301"


def test_cut_tail_skips_orphan_mark():
    assert cut_tail("cafe\u0301", 1) == ""
    assert cut_tail("xe\u0301", 2) == "e\u0301"


def test_truncate_utf8_never_splits_a_character():
    text = "日本語"
    for size in range(10):
        piece = truncate_utf8(text, size)
        assert len(piece.encode("utf-8")) <= size
        assert text.startswith(piece)
