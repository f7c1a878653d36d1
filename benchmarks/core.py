"""Benchmark the prediction core on a real corpus, reporting ratios measured in one run.

Measures:
- corpus index build: cold (empty cache folder) against warm (same folder, nothing changed);
- retrieval plus prompt build per request, against the warm index load;
- the local model's time to first token with a cold prompt against a reused prompt prefix,
  both in memory (same process) and from the state saved on disk (a new backend object).

Usage: .venv/bin/python benchmarks/core.py [--corpus DIR] [--requests N]
The default corpus is examples/simonw-til/corpus (the simonw-til notes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amplifier_ls.backends.base import GenerationInfo, GenerationRequest, Sampling  # noqa: E402
from amplifier_ls.backends.local import LocalBackend  # noqa: E402
from amplifier_ls.corpus.index import CorpusIndex  # noqa: E402
from amplifier_ls.pipeline import PredictionRequest, Predictor  # noqa: E402
from amplifier_ls.settings import Settings, merge  # noqa: E402
from amplifier_ls.state import Document  # noqa: E402


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def bench_index(corpus: Path, cache_dir: Path) -> dict:
    settings = merge(Settings(), {"corpus.paths": [str(corpus)]}).corpus
    cold_s, report = timed(CorpusIndex(corpus, settings, cache_dir).refresh)
    warm_index = CorpusIndex(corpus, settings, cache_dir)
    warm_s, _ = timed(warm_index.refresh)
    return {"files": len(warm_index.files), "chunks": warm_index.chunk_count, "cold_s": cold_s, "warm_s": warm_s,
            "cold_over_warm": cold_s / warm_s}


async def bench_prompt(corpus: Path, cache_dir: Path, requests: int) -> dict:
    settings = merge(Settings(), {"corpus.paths": [str(corpus)], "cache.dir": str(cache_dir)})
    predictor = Predictor(settings, corpus)
    draft = Document.from_file(ROOT / "examples" / "simonw-til" / "draft.md")
    await predictor.backend.prepare()
    predictor.refresh_corpus()
    durations = []
    for index in range(requests):
        offset = len(draft.text) - (index * 7) % 200
        started = time.perf_counter()
        await predictor.build_prompt(PredictionRequest(document=draft, offset=offset), corpus_max_age_s=3600)
        durations.append(time.perf_counter() - started)
    refresh_s, _ = timed(predictor.refresh_corpus)
    await predictor.aclose()
    return {"requests": requests, "prompt_p50_s": statistics.median(durations),
            "prompt_max_s": max(durations), "incremental_refresh_s": refresh_s,
            "prompt_over_refresh": statistics.median(durations) / refresh_s}


async def first_token(backend: LocalBackend, request: GenerationRequest) -> tuple[float, dict]:
    info = GenerationInfo()
    started = time.perf_counter()
    stream = backend.stream(request, info)
    await stream.__anext__()
    elapsed = time.perf_counter() - started
    await stream.aclose()
    return elapsed, info.details


async def bench_model(corpus: Path, cache_dir: Path) -> dict:
    settings = merge(Settings(), {"corpus.paths": [str(corpus)], "cache.dir": str(cache_dir), "cache.enabled": True})
    predictor = Predictor(settings, corpus)
    draft = Document.from_file(ROOT / "examples" / "simonw-til" / "draft.md")
    prompt, _ = await predictor.build_prompt(PredictionRequest(document=draft, offset=len(draft.text)))
    await predictor.aclose()

    def request_for(body_suffix: str) -> GenerationRequest:
        from dataclasses import replace

        return GenerationRequest(prompt=replace(prompt, body=prompt.body + body_suffix), max_tokens=4,
                                 sampling=Sampling(seed=1))

    state_dir = Path(tempfile.mkdtemp(prefix="amplifier-bench-state-"))
    backend = LocalBackend(settings.local, state_dir)
    await backend.prepare()
    cold_s, cold = await first_token(backend, request_for(""))
    memory_s, memory = await first_token(backend, request_for(" The"))
    await backend.aclose()

    fresh = LocalBackend(settings.local, state_dir)
    await fresh.prepare()
    disk_s, disk = await first_token(fresh, request_for(" A"))
    await fresh.aclose()

    return {
        "prompt_chars": len(prompt.text),
        "cold_ttft_s": cold_s,
        "reused_in_memory_ttft_s": memory_s,
        "reused_from_disk_ttft_s": disk_s,
        "cold_over_memory": cold_s / memory_s,
        "cold_over_disk": cold_s / disk_s,
        "details": {"cold": cold, "memory": memory, "disk": disk},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "examples" / "simonw-til" / "corpus")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="amplifier-bench-") as folder:
        cache_dir = Path(folder)
        results = {
            "index": bench_index(args.corpus, cache_dir / "index"),
            "prompt": asyncio.run(bench_prompt(args.corpus, cache_dir / "prompt", args.requests)),
            "model": asyncio.run(bench_model(args.corpus, cache_dir / "model")),
        }

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    index, prompt, model = results["index"], results["prompt"], results["model"]
    print(f"corpus: {index['files']} files, {index['chunks']} chunks")
    print(f"index build   cold {index['cold_s']:.2f} s, warm {index['warm_s']:.3f} s   cold/warm = {index['cold_over_warm']:.1f}x")
    print(f"prompt build  p50 {prompt['prompt_p50_s'] * 1000:.1f} ms (max {prompt['prompt_max_s'] * 1000:.1f} ms) "
          f"over {prompt['requests']} requests; incremental refresh {prompt['incremental_refresh_s'] * 1000:.1f} ms")
    print(f"local model   time to first token: cold {model['cold_ttft_s']:.2f} s, reused prefix in memory "
          f"{model['reused_in_memory_ttft_s']:.2f} s ({model['cold_over_memory']:.1f}x faster), from disk "
          f"{model['reused_from_disk_ttft_s']:.2f} s ({model['cold_over_disk']:.1f}x faster); "
          f"prompt {model['prompt_chars']} characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
