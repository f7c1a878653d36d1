"""The embedded model, run for real with small token budgets."""

import re
from pathlib import Path

import pytest

from amplifier_ls.pipeline import PredictionRequest, Predictor
from amplifier_ls.postprocess import cut_loop
from amplifier_ls.settings import Settings, merge
from amplifier_ls.state import Document

pytestmark = pytest.mark.model

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "simonw-til"


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    cache = tmp_path_factory.mktemp("model-cache")
    settings = merge(Settings(), {
        "cache.dir": str(cache), "corpus.enabled": False, "decoding.seed": 11, "decoding.max_tokens": 80,
        "local.n_ctx": 2048, "prompt.document_budget_tokens": 600,
    })
    return Predictor(settings, None)


def draft():
    return Document.from_file(EXAMPLE / "draft.md")


async def test_sentence_horizon_one_sentence(predictor):
    document = draft()
    prediction = await predictor.predict(
        PredictionRequest(document=document, offset=len(document.text), horizon="sentence", samples=2)
    )
    assert prediction.status == "ok", prediction.reason
    for text in prediction.texts:
        assert "\n\n" not in text
        body = text.strip()
        assert body
        assert not re.search(r"[.!?]\s+\S", body), f"more than one sentence: {text!r}"


async def test_paragraph_horizon_no_blank_line(predictor):
    document = draft()
    prediction = await predictor.predict(
        PredictionRequest(document=document, offset=len(document.text), horizon="paragraph", samples=2)
    )
    assert prediction.status == "ok", prediction.reason
    for text in prediction.texts:
        assert "\n\n" not in text.strip("\n")
        assert not text.lstrip("\n").startswith("#")


async def test_prediction_does_not_repeat_following_text(predictor):
    full = (EXAMPLE / "held-out" / "general.md").read_text()
    document = Document.from_text(full)
    cut = full.index("There are many different websites")
    prediction = await predictor.predict(
        PredictionRequest(document=document, offset=cut, horizon="paragraph", samples=3)
    )
    following_first_line = full[cut:].split("\n", 1)[0]
    for text in prediction.texts:
        assert following_first_line not in text


async def test_defaults_do_not_loop(predictor):
    document = draft()
    prediction = await predictor.predict(
        PredictionRequest(document=document, offset=len(document.text), mode="next-section", samples=2)
    )
    for raw in prediction.raw:
        _, looped = cut_loop(raw)
        assert not looped, raw
    for text in prediction.texts:
        assert text.lstrip("\n").startswith("## ")


async def test_prefix_state_reused_between_requests(predictor):
    document = draft()
    first = await predictor.predict(PredictionRequest(document=document, offset=len(document.text) - 40,
                                                      horizon="sentence"))
    second = await predictor.predict(PredictionRequest(document=document, offset=len(document.text) - 20,
                                                       horizon="sentence"))
    assert not second.cached
    assert second.infos[0].details["reused_prefix_tokens"] > 100
    assert first.prompt.prefix == second.prompt.prefix
