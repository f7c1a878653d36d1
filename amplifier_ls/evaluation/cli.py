"""`amplifier-ls eval`: hold out documents of the corpus, predict them at cut points, and score.

The summary table goes to stdout, progress to stderr; `--json` and `--html` write the full
results. Exit status: 0 when the run finished, 1 for a user error, 3 when every prediction
failed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

from ..cli import StderrProgress, _common_options, find_workspace, overrides_from
from ..corpus.scan import read_text, scan_corpus
from ..errors import AmplifierError, DocumentError
from ..settings import Settings, load
from . import metrics
from .configs import (
    Configuration,
    ConfigurationError,
    load_configurations,
    parse_compare,
    resolve_settings,
    variants_for,
)
from .cuts import CUT_KINDS, MIN_AFTER_CHARS, MIN_BEFORE_CHARS, CutLimits, choose_held_out
from .report import Report, terminal_text, write_html, write_json
from .runner import Runner
from .summary import summarise

logger = logging.getLogger(__name__)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _kinds(value: str) -> tuple[str, ...]:
    kinds = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [kind for kind in kinds if kind not in CUT_KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(CUT_KINDS)}, got {value!r}")
    return kinds


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Hold out documents of the corpus one at a time, cut them at paragraph and section boundaries, "
        "predict what follows each cut, and score the predictions against what the author really wrote."
    )
    selection = parser.add_argument_group("held-out documents and cuts")
    selection.add_argument("--docs", type=_positive, default=10, metavar="N", help="held-out documents (default: 10)")
    selection.add_argument("--cuts-per-doc", type=_positive, default=2, metavar="K", help="cuts per document (default: 2)")
    selection.add_argument("--kinds", type=_kinds, default=CUT_KINDS, metavar="KINDS",
                           help="cut kinds, comma-separated: paragraph, section (default: both)")
    selection.add_argument("--min-before", type=int, default=MIN_BEFORE_CHARS, metavar="CHARS",
                           help=f"minimum characters of the document before a cut (default: {MIN_BEFORE_CHARS})")
    selection.add_argument("--min-after", type=int, default=MIN_AFTER_CHARS, metavar="CHARS",
                           help=f"minimum characters of the real continuation (default: {MIN_AFTER_CHARS})")
    selection.add_argument("--seed", type=int, default=0,
                           help="seed for choosing documents and cuts, and for sampling (default: 0)")

    runs = parser.add_argument_group("what runs")
    runs.add_argument("-n", "--samples", type=int, default=3, help="samples per cut, 1 to 16 (default: 3)")
    runs.add_argument("--compare", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                      help="a configuration to run beside the base one, as settings overrides (repeatable)")
    runs.add_argument("--configs", type=Path, metavar="FILE",
                      help="a TOML file of configurations, one [configs.NAME] table of settings each")
    runs.add_argument("--ablation", choices=["each", "base", "none"], default="each",
                      help="which configurations also run without the corpus (default: each)")

    scoring = parser.add_argument_group("scoring and output")
    scoring.add_argument("--mfw", type=_positive, default=50, metavar="N",
                         help="most frequent words of the corpus used by Burrows' Delta (default: 50)")
    scoring.add_argument("--bootstrap", type=int, default=1000, metavar="B",
                         help="bootstrap resamples for the confidence intervals (default: 1000)")
    scoring.add_argument("--json", type=Path, metavar="PATH", help="write every cut, prediction and score as JSON")
    scoring.add_argument("--html", type=Path, metavar="PATH", help="write a self-contained HTML report with plots")
    scoring.add_argument("-q", "--quiet", action="store_true", help="print no progress on stderr")
    _common_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(evaluate(args))


def _workspace(args: argparse.Namespace) -> Path:
    if args.workspace:
        workspace = args.workspace.resolve()
        if not workspace.is_dir():
            raise DocumentError(f"Workspace folder not found: {args.workspace}")
        return workspace
    if args.corpus:
        first = Path(args.corpus[0]).resolve()
        return find_workspace(first if first.is_dir() else first.parent)
    return find_workspace(Path.cwd())


def _configurations(args: argparse.Namespace) -> list[Configuration]:
    configurations = [parse_compare(value) for value in args.compare]
    if args.configs:
        configurations.extend(load_configurations(args.configs))
    return configurations


def _corpus_files(workspace: Path, settings: Settings) -> list[tuple[str, Path]]:
    corpus_settings = dataclasses.replace(settings.corpus, enabled=True)
    scanned = scan_corpus(workspace, corpus_settings)
    return [(corpus_file.relative_path, corpus_file.path) for corpus_file in scanned.files]


def _profile(files: list[tuple[str, Path]], held_out: set[str], most_frequent: int) -> metrics.StyleProfile:
    texts = []
    for relative, path in files:
        if relative in held_out:
            continue
        text, _ = read_text(path)
        if text:
            texts.append(text)
    try:
        return metrics.build_style_profile(texts, most_frequent)
    except ValueError as error:
        raise AmplifierError(f"Cannot build the author's style profile: {error}; add documents to the corpus") from error


async def evaluate(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("sacrebleu") is None:
        raise AmplifierError(
            "The eval command needs sacrebleu, which is not installed; run `pip install 'amplifier-ls[eval]'`"
        )
    if not 1 <= args.samples <= 16:
        raise ConfigurationError(f"--samples must be from 1 to 16, got {args.samples}")
    for output in (args.json, args.html):
        if output is not None and not output.resolve().parent.is_dir():
            raise AmplifierError(f"Cannot write {output}: its folder does not exist; create it or choose another path")
    workspace = _workspace(args)
    base = load(workspace, overrides_from(args))
    settings = resolve_settings(base, _configurations(args))
    progress = StderrProgress(quiet=args.quiet)

    progress("Scanning the corpus…")
    files = _corpus_files(workspace, base)
    if len(files) < 3:
        raise AmplifierError(
            f"The corpus at {workspace} has {len(files)} files; an evaluation needs at least 3 "
            "(set corpus.paths or pass --corpus DIR)"
        )
    limits = CutLimits(min_before_chars=args.min_before, min_after_chars=args.min_after)
    held_out = choose_held_out(files, args.docs, args.cuts_per_doc, args.seed, args.kinds, limits)
    cuts = [cut for document in held_out for cut in document.cuts]
    if not cuts:
        raise AmplifierError(
            f"No cut points found in {len(files)} corpus files; lower --min-before or --min-after, "
            "or add documents with several paragraphs"
        )
    profile = _profile(files, {document.path for document in held_out}, args.mfw)
    variants = variants_for(settings, args.ablation)
    logger.info("Evaluating %d cuts in %d documents with %d variants", len(cuts), len(held_out), len(variants))

    runner = Runner(settings, workspace, variants, profile, args.samples, args.seed, progress)
    try:
        results = await runner.run(held_out)
    finally:
        progress.done()
        await runner.aclose()

    summary = summarise(results, cuts, variants, profile, args.samples, args.seed, args.bootstrap)
    report = Report(
        command=["amplifier-ls", *sys.argv[1:]],
        workspace=str(workspace),
        options=_options(args),
        corpus_files=len(files),
        profile_words=len(profile.words),
        profile_documents=profile.documents,
        cuts=cuts,
        variants=variants,
        configurations=_describe_configurations(settings, args),
        results=results,
        summary=summary,
        counts=runner.counts,
        held_out=[document.path for document in held_out],
    )
    sys.stdout.write(terminal_text(report))
    for output, write in ((args.json, write_json), (args.html, write_html)):
        if output is None:
            continue
        try:
            write(report, output)
        except OSError as error:
            raise AmplifierError(f"Cannot write {output}: {error.strerror or error}; choose a writable path") from error
        print(f"amplifier-ls: wrote {output}", file=sys.stderr)
    counts = runner.counts
    return 3 if counts.predictions and counts.errors == counts.predictions else 0


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "docs": args.docs,
        "cuts_per_doc": args.cuts_per_doc,
        "kinds": list(args.kinds),
        "samples": args.samples,
        "seed": args.seed,
        "ablation": args.ablation,
        "mfw": args.mfw,
        "bootstrap": args.bootstrap,
        "min_before": args.min_before,
        "min_after": args.min_after,
    }


def _describe_configurations(settings: dict[str, Settings], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    overrides = {configuration.name: configuration.overrides for configuration in _configurations(args)}
    return {
        name: {
            "backend": values.backend,
            "model": values.model,
            "corpus": values.corpus.enabled,
            "overrides": overrides.get(name, overrides_from(args)),
        }
        for name, values in settings.items()
    }
