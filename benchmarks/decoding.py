"""Measure how often the local model loops under different decoding settings.

Each configuration continues the same cut notes (no corpus, section horizon, raw output
without post-processing) and counts generations where `cut_loop` finds a line or a 6-word
run repeated three times, and the distinct-2 ratio of the output (distinct word pairs over
all word pairs; low values mean repetitive text).

Usage: .venv/bin/python benchmarks/decoding.py [--notes N] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from amplifier_ls.backends.base import GenerationInfo, GenerationRequest, Sampling  # noqa: E402
from amplifier_ls.backends.local import LocalBackend  # noqa: E402
from amplifier_ls.postprocess import cut_loop  # noqa: E402
from amplifier_ls.prompt import Prompt, file_marker  # noqa: E402
from amplifier_ls.settings import DecodingSettings, LocalSettings  # noqa: E402

DEFAULTS = DecodingSettings()
CONFIGURATIONS = {
    "greedy, no penalty": Sampling(temperature=0.0, top_p=1.0, min_p=0.0, repeat_penalty=1.0),
    "t=0.7, no penalty": Sampling(temperature=0.7, top_p=0.9, min_p=0.05, repeat_penalty=1.0),
    "defaults": Sampling(temperature=DEFAULTS.temperature, top_p=DEFAULTS.top_p, min_p=DEFAULTS.min_p,
                         repeat_penalty=DEFAULTS.repeat_penalty),
}


def distinct_2(text: str) -> float:
    words = text.split()
    pairs = list(zip(words, words[1:]))
    return len(set(pairs)) / len(pairs) if pairs else 1.0


def cut_notes(corpus: Path, count: int, seed: int) -> list[Prompt]:
    notes = sorted(corpus.rglob("*.md"))
    random.Random(seed).shuffle(notes)
    prompts = []
    for path in notes:
        text = path.read_text(encoding="utf-8", errors="replace")
        paragraphs = [i for i in range(len(text)) if text.startswith("\n\n", i)]
        if len(text) < 1500 or len(paragraphs) < 4:
            continue
        cut = paragraphs[len(paragraphs) // 2] + 2
        prompts.append(Prompt(prefix="", body=file_marker(path.name) + text[:cut][-2500:]))
        if len(prompts) == count:
            break
    return prompts


async def run(corpus: Path, notes: int, max_tokens: int, seed: int) -> None:
    prompts = cut_notes(corpus, notes, seed)
    backend = LocalBackend(LocalSettings(n_ctx=2048), Path(tempfile.mkdtemp(prefix="amplifier-decoding-")))
    await backend.prepare()
    print(f"{len(prompts)} cut notes, {max_tokens} tokens each, seed {seed}")
    print(f"{'configuration':<22} {'looped':>8} {'distinct-2':>11}")
    for name, sampling in CONFIGURATIONS.items():
        looped = 0
        diversity = []
        for index, prompt in enumerate(prompts):
            info = GenerationInfo()
            request = GenerationRequest(prompt=prompt, max_tokens=max_tokens, stop=("\n==> ",),
                                        sampling=Sampling(**{**sampling.__dict__, "seed": seed + index}))
            text = "".join([piece async for piece in backend.stream(request, info)])
            looped += cut_loop(text)[1]
            diversity.append(distinct_2(text))
        print(f"{name:<22} {looped:>3}/{len(prompts):<4} {sum(diversity) / len(diversity):>11.2f}")
    await backend.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "examples" / "simonw-til" / "corpus")
    parser.add_argument("--notes", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.corpus, args.notes, args.max_tokens, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
