"""The pipeline over the real `openai` backend and the fake server: failures cache nothing."""

import pytest

from amplifier_ls.errors import BackendError
from amplifier_ls.pipeline import PredictionRequest, Predictor
from amplifier_ls.settings import Settings, merge
from amplifier_ls.state import Document

from fakes.openai_server import FakeOpenAIServer

GOOD = {"default": {"text": "The harbour was quiet that morning.", "delay_ms": 0}}


def predictor_for(server, tmp_path):
    settings = merge(Settings(), {
        "backend": "openai", "model": "fake-model", "openai.base_url": server.base_url,
        "openai.max_retries": 1, "cache.dir": str(tmp_path / "cache"), "corpus.enabled": False,
    })
    return Predictor(settings, None)


def request():
    document = Document.from_text("# Ferries\n\nAt dawn")
    return PredictionRequest(document=document, offset=len(document.text), horizon="sentence")


@pytest.mark.parametrize(
    "failure",
    [
        {"fail": {"status": 500, "message": "engine crashed"}},
        {"fail": {"status": 429, "retry_after": 0}},
        {"text": "The harbour was quiet that morning and the boats", "drop_after_chars": 12},
        {"text": "The harbour was quiet.", "drop_after_chars": 12, "drop": "end"},
    ],
    ids=["http-500", "429-retries-exhausted", "dropped-mid-stream", "ended-without-done"],
)
async def test_failure_caches_nothing(tmp_path, failure):
    with FakeOpenAIServer({"default": {"delay_ms": 0, **failure}}) as server:
        predictor = predictor_for(server, tmp_path)
        with pytest.raises(BackendError) as raised:
            await predictor.predict(request())
        assert "\n" not in str(raised.value)
        await predictor.aclose()

        server.set_script(GOOD)
        retry = predictor_for(server, tmp_path)
        prediction = await retry.predict(request())
        await retry.aclose()
    assert not prediction.cached
    assert prediction.texts == [" The harbour was quiet that morning."] or prediction.texts == [
        "The harbour was quiet that morning."
    ]


async def test_retry_after_then_success_is_cached(tmp_path):
    script = {"default": {"text": "Boats left early.", "delay_ms": 0, "fail": {"status": 429, "retry_after": 0, "times": 1}}}
    with FakeOpenAIServer(script) as server:
        predictor = predictor_for(server, tmp_path)
        first = await predictor.predict(request())
        second = await predictor.predict(request())
        await predictor.aclose()
        stats = server.stats
    assert first.status == "ok"
    assert second.cached
    assert stats["failures_sent"] == 1
    assert stats["completions_finished"] == 1
