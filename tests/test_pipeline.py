import asyncio

import pytest

from amplifier_ls.errors import BackendError
from amplifier_ls.pipeline import PredictionRequest, Predictor
from amplifier_ls.settings import merge, Settings
from amplifier_ls.state import Document

from scripted_backend import ScriptedBackend


def make_predictor(tmp_path, backend, **overrides):
    settings = merge(Settings(), {"cache.dir": str(tmp_path / "cache"), "corpus.enabled": False, **overrides})
    return Predictor(settings, None, backend=backend)


def request_for(text, **kwargs):
    document = Document.from_text(text)
    return PredictionRequest(document=document, offset=len(document.text), **kwargs)


async def test_second_identical_request_is_cached(tmp_path):
    backend = ScriptedBackend(["the cat sat on the mat."])
    predictor = make_predictor(tmp_path, backend)
    first = await predictor.predict(request_for("# T\n\nSo"))
    second = await predictor.predict(request_for("# T\n\nSo"))
    assert first.texts == second.texts
    assert not first.cached
    assert second.cached
    assert len(backend.requests) == 1


async def test_cache_survives_new_predictor(tmp_path):
    await make_predictor(tmp_path, ScriptedBackend(["one two three."])).predict(request_for("Hi"))
    backend = ScriptedBackend(["other"])
    prediction = await make_predictor(tmp_path, backend).predict(request_for("Hi"))
    assert prediction.cached
    assert backend.requests == []


async def test_failed_generation_not_cached(tmp_path):
    failing = ScriptedBackend(["a b c d e f"], fail_after=2)
    with pytest.raises(BackendError):
        await make_predictor(tmp_path, failing).predict(request_for("Text"))
    backend = ScriptedBackend(["fresh words here."])
    prediction = await make_predictor(tmp_path, backend).predict(request_for("Text"))
    assert not prediction.cached
    assert len(backend.requests) == 1


async def test_cancelled_generation_stops_and_is_not_cached(tmp_path):
    backend = ScriptedBackend(["word " * 50], delay_s=0.02)
    predictor = make_predictor(tmp_path, backend)
    task = asyncio.ensure_future(predictor.predict(request_for("Slow")))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert backend.closed_streams == 1
    assert backend.finished_streams == 0
    again = ScriptedBackend(["done now."])
    prediction = await make_predictor(tmp_path, again).predict(request_for("Slow"))
    assert not prediction.cached


async def test_several_samples_deduplicated(tmp_path):
    backend = ScriptedBackend(["same text.", "same text.", "different text."])
    prediction = await make_predictor(tmp_path, backend).predict(request_for("Start", samples=3))
    assert prediction.texts == ["same text.", "different text."]
    assert len(backend.requests) == 3


async def test_samples_get_distinct_seeds(tmp_path):
    backend = ScriptedBackend(["a.", "b."])
    predictor = make_predictor(tmp_path, backend, **{"decoding.seed": 7})
    await predictor.predict(request_for("Start", samples=2))
    assert [r.sampling.seed for r in backend.requests] == [7, 8]


async def test_degenerate_prediction_reported(tmp_path):
    backend = ScriptedBackend(["!!!! !!!! !!!!"])
    prediction = await make_predictor(tmp_path, backend).predict(request_for("Start"))
    assert prediction.status == "degenerate"
    assert prediction.texts == []


async def test_stream_stops_once_horizon_passed(tmp_path):
    backend = ScriptedBackend(["First sentence here. Second sentence that keeps going " + "on " * 40], delay_s=0.001)
    prediction = await make_predictor(tmp_path, backend).predict(request_for("# T\n\nSo", horizon="sentence"))
    assert prediction.texts == ["First sentence here."] or prediction.texts == [" First sentence here."]
    assert backend.finished_streams == 0
    assert backend.closed_streams == 1


async def test_decoding_change_misses_cache(tmp_path):
    await make_predictor(tmp_path, ScriptedBackend(["x y."])).predict(request_for("Hi"))
    backend = ScriptedBackend(["z."])
    prediction = await make_predictor(tmp_path, backend, **{"decoding.temperature": 0.2}).predict(request_for("Hi"))
    assert not prediction.cached


async def test_crlf_document_prediction_uses_crlf(tmp_path):
    backend = ScriptedBackend(["one.\n\nTwo."])
    predictor = make_predictor(tmp_path, backend)
    document = Document.from_text("# T\r\n\r\n## A\r\n\r\nText")
    prediction = await predictor.predict(
        PredictionRequest(document=document, offset=len(document.text), horizon="section")
    )
    assert prediction.texts == [" one.\r\n\r\nTwo."] or prediction.texts == ["one.\r\n\r\nTwo."]


@pytest.mark.parametrize(
    "raw, line, character, before, reply, expected",
    [
        ("# Note 😀\n\nSmile 😀 then", 2, 9, "Smile 😀 ", "went home.", "went home. "),
        ("# Café\n\nUn cafe\u0301 noir", 2, 9, "Un cafe\u0301 ", "et puis.", "et puis. "),
        ("# 日本\n\n東京に行きました", 2, 4, "東京に行", "きたい。次", "きたい。"),
        ("# CRLF\r\n\r\nLine one.\r\nLine", 3, 4, "Line", " two is here.\n\nNext.", " two is here."),
        ("", 0, 0, "", "Fresh start.", "Fresh start."),
    ],
    ids=["emoji", "combining", "cjk", "crlf", "empty"],
)
async def test_cursor_cut_points(tmp_path, raw, line, character, before, reply, expected):
    backend = ScriptedBackend([reply])
    predictor = make_predictor(tmp_path, backend)
    document = Document.from_text(raw)
    offset = document.offset_at(line, character, "utf-16")
    prediction = await predictor.predict(
        PredictionRequest(document=document, offset=offset, horizon="sentence")
    )
    assert prediction.prompt.body.endswith(before)
    assert prediction.prompt.text.encode("utf-8").decode("utf-8") == prediction.prompt.text
    assert prediction.texts == [expected]
    assert document.text[:offset].endswith(before)


def write_corpus(root):
    notes = {
        "notes/bread.md": "# Bread\n\nSourdough bread needs a lively starter and a long proof.\n",
        "notes/trains.md": "# Trains\n\nNight trains across Europe are slow but restful.\n",
        "notes/garden.md": "# Garden\n\nGarlic goes in the ground in autumn.\n",
    }
    for relative, text in notes.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


async def test_corpus_change_invalidates_only_dependent(tmp_path):
    workspace = tmp_path / "workspace"
    write_corpus(workspace)
    settings = merge(Settings(), {"cache.dir": str(tmp_path / "cache"), "corpus.budget_tokens": 30})
    document = Document.from_text("# Baking\n\nMy sourdough bread and its starter", path=workspace / "draft.md")
    request = PredictionRequest(document=document, offset=len(document.text), horizon="sentence")

    first = await Predictor(settings, workspace, backend=ScriptedBackend(["rose well."])).predict(request)
    assert [excerpt.path for excerpt in first.prompt.excerpts] == ["notes/bread.md"]

    (workspace / "notes/garden.md").write_text("# Garden\n\nShallots go in the ground in spring.\n")
    unrelated = ScriptedBackend(["other."])
    second = await Predictor(settings, workspace, backend=unrelated).predict(request)
    assert second.cached
    assert unrelated.requests == []

    (workspace / "notes/bread.md").write_text("# Bread\n\nSourdough bread wants rye flour in the starter.\n")
    related = ScriptedBackend(["changed."])
    third = await Predictor(settings, workspace, backend=related).predict(request)
    assert not third.cached
    assert "rye flour" in third.prompt.prefix
