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
