"""Server parts that need no client: document sync, re-anchoring, settings layers, outlines."""

from __future__ import annotations

import pytest
from lsprotocol import types

from amplifier_ls.server.config import SettingsLayers, needs_new_predictor, resolve
from amplifier_ls.server.documents import DocumentStore, raw_offset
from amplifier_ls.server.edits import reanchor
from amplifier_ls.server.on_save import unexpanded_outline
from amplifier_ls.settings import Settings, merge
from amplifier_ls.state import Document

URI = "file:///work/draft.md"


def store_with(text: str, encoding: str = "utf-16") -> DocumentStore:
    store = DocumentStore()
    store.encoding = encoding
    store.open(types.TextDocumentItem(uri=URI, language_id="markdown", version=1, text=text))
    return store


def change(store: DocumentStore, version: int, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
    change_range = types.Range(start=types.Position(*start), end=types.Position(*end))
    store.change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=change_range, text=text)],
        )
    )


@pytest.mark.parametrize(
    ("raw", "position", "encoding", "expected"),
    [
        ("ab\r\ncd", (1, 1), "utf-16", 5),
        ("ab\rcd", (1, 0), "utf-16", 3),
        ("a\u2028b\nc", (1, 0), "utf-16", 4),
        ("😀x", (0, 2), "utf-16", 1),
        ("😀x", (0, 4), "utf-8", 1),
        ("😀x", (0, 1), "utf-32", 1),
        ("ab\ncd", (1, 99), "utf-16", 5),
        ("ab\ncd", (7, 0), "utf-16", 5),
    ],
    ids=["crlf", "lone-cr", "line-separator-not-a-line-end", "utf16-pair", "utf8-bytes", "utf32", "past-line", "past-text"],
)
def test_raw_offset(raw, position, encoding, expected):
    assert raw_offset(raw, types.Position(*position), encoding) == expected


def test_change_after_line_separator():
    store = store_with("a\u2028b\nc😀d\r\ne")
    change(store, 2, (1, 3), (1, 3), "X")

    snapshot = store.snapshot(URI)
    assert snapshot.document.text == "a\u2028b\nc😀Xd\ne"
    assert snapshot.document.line_ending == "\r\n"
    assert snapshot.version == 2


def test_change_utf8_positions():
    store = store_with("café 😀 end", encoding="utf-8")
    change(store, 2, (0, 10), (0, 10), "!")

    assert store.snapshot(URI).text == "café 😀! end"


def test_change_replaces_range_across_lines():
    store = store_with("one\r\ntwo\r\nthree")
    change(store, 2, (0, 2), (2, 1), "E-T")

    assert store.snapshot(URI).text == "onE-Three"
    assert store.last_edit_offset(URI) == len("onE-Three")


def test_snapshot_positions_round_trip():
    store = store_with("x😀\ncafe\u0301 花", encoding="utf-16")
    snapshot = store.snapshot(URI)
    offset = snapshot.offset_at(types.Position(1, 6))

    assert snapshot.text[:offset] == "x😀\ncafe\u0301 "
    assert snapshot.position_at(offset) == types.Position(1, 6)
    assert snapshot.position_at(2) == types.Position(0, 3)


def test_reanchor_unchanged_document():
    assert reanchor("abc", "abc", 1, 2) == (1, 2)


def test_reanchor_after_edit_far_before():
    original = "A" * 300 + "\nthe end"
    current = "B" * 10 + original
    assert reanchor(original, current, len(original), len(original)) == (len(current), len(current))


def test_reanchor_replaced_range_moves():
    original = "intro " * 60 + "- a\n- b\n\ntail"
    start = original.index("- a")
    end = original.index("\n\ntail")
    current = "New first line.\n" + original

    assert reanchor(original, current, start, end) == (start + 16, end + 16)


def test_reanchor_edit_at_insertion_point_is_stale():
    original = "Some text"
    assert reanchor(original, original + " more", len(original), len(original)) is None


def test_reanchor_replaced_text_changed_is_stale():
    original = "Intro.\n\n- a\n- b\n"
    current = original.replace("- b", "- c")
    assert reanchor(original, current, original.index("- a"), original.index("- b") + 3) is None


def test_reanchor_ambiguous_is_stale():
    original = "ab"
    assert reanchor(original, "abXab", 2, 2) is None


def test_reanchor_empty_original_is_stale():
    assert reanchor("", "typed", 0, 0) is None


def test_settings_layers_precedence():
    layers = SettingsLayers(
        file={"decoding": {"temperature": 0.1, "top_p": 0.5}},
        initialization_options={"decoding": {"temperature": 0.2, "min_p": 0.2}},
        client={"decoding": {"temperature": 0.3}},
    )
    settings, errors = resolve(layers, ".amplifier.toml")

    assert errors == []
    assert settings.decoding.temperature == 0.3
    assert settings.decoding.top_p == 0.5
    assert settings.decoding.min_p == 0.2


def test_settings_invalid_keys_keep_lower_layer():
    layers = SettingsLayers(
        file={"decoding": {"temperature": 0.1}},
        initialization_options={"decoding": {"temperature": 9}, "bogus": 1},
        client=["not", "a", "table"],
    )
    settings, errors = resolve(layers, ".amplifier.toml")

    assert settings.decoding.temperature == 0.1
    assert [error.source for error in errors] == ["initializationOptions", "client configuration (section 'amplifier')"]
    assert set(errors[0].problems) == {"decoding.temperature", "bogus"}


def test_server_settings_keep_predictor():
    base = Settings()
    assert not needs_new_predictor(base, merge(base, {"server.debounce_ms": 10}))
    assert needs_new_predictor(base, merge(base, {"openai.base_url": "http://127.0.0.1:1/v1"}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# A\n\n## Plan\n\nIntro.\n\n- one\n- two\n\n## Next\n", "- one\n- two"),
        ("# A\n\n## Plan\n\n- one\n- two\n\nProse after it.\n", None),
        ("# A\n\n## Plan\n\nNo list here.\n", None),
    ],
    ids=["last-block", "prose-follows", "no-list"],
)
def test_unexpanded_outline(text, expected):
    document = Document.from_text(text)
    block = unexpanded_outline(document, text.index("## Plan") + 3)
    assert (document.text[block.start : block.end] if block else None) == expected
