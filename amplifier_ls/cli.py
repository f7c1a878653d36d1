"""The `amplifier-ls` command line.

Positions on the command line are 1-based: `--at 12:5` is line 12, column 5, counting
columns in characters (code points), as editors show them in their status bar. A user error
is one line on stderr and exit status 1 (2 for invalid arguments); progress goes to stderr
and results to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from .errors import AmplifierError, DocumentError
from .settings import RANGES, SETTINGS_FILE, describe_type, iter_fields, load
from .state import Document

logger = logging.getLogger("amplifier_ls")


class StderrProgress:
    """Progress lines on stderr; on a terminal, repeated messages overwrite one line."""

    def __init__(self, quiet: bool = False, interval_s: float = 2.0):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._open_line = False
        self._interval_s = interval_s
        self._last_topic = ""
        self._last_time = 0.0

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        topic = message.split(":", 1)[0]
        now = time.monotonic()
        if not self.tty and topic == self._last_topic and now - self._last_time < self._interval_s:
            return
        self._last_topic, self._last_time = topic, now
        if self.tty:
            sys.stderr.write("\r\033[K" + message)
            self._open_line = True
        else:
            sys.stderr.write(message + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self._open_line:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self._open_line = False


def find_workspace(start: Path) -> Path:
    """Return the nearest folder above `start` holding .amplifier.toml or .git, else `start`."""
    start = start.resolve()
    for folder in [start, *start.parents]:
        if (folder / SETTINGS_FILE).is_file() or (folder / ".git").exists():
            return folder
    return start


def parse_position(value: str) -> tuple[int, int] | str:
    if value == "end":
        return "end"
    try:
        line_text, _, column_text = value.partition(":")
        line, column = int(line_text), int(column_text or "1")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LINE:COLUMN (1-based) or 'end', got {value!r}") from None
    if line < 1 or column < 1:
        raise argparse.ArgumentTypeError(f"line and column start at 1, got {value!r}")
    return line, column


def parse_lines(value: str) -> tuple[int, int]:
    try:
        first, _, last = value.partition("-")
        start, end = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A-B (1-based line numbers), got {value!r}") from None
    if start < 1 or end < start:
        raise argparse.ArgumentTypeError(f"expected 1 <= A <= B, got {value!r}")
    return start, end


def parse_assignment(value: str) -> tuple[str, Any]:
    key, separator, raw = value.partition("=")
    if not separator or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {value!r}")
    try:
        import tomllib

        parsed = tomllib.loads(f"value = {raw}")["value"]
    except Exception:
        parsed = raw
    return key.strip(), parsed


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", type=Path, help="workspace root (default: nearest folder with .amplifier.toml or .git)")
    parser.add_argument("--backend", choices=["local", "openai", "anthropic"], help="backend that predicts")
    parser.add_argument("--model", help="model name for the backend")
    parser.add_argument(
        "--corpus", action="append", metavar="PATH", help="file, folder or glob with the author's writing (repeatable)"
    )
    parser.add_argument("--no-corpus", action="store_true", help="leave the corpus out of the prompt")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write cached predictions")
    parser.add_argument(
        "-c", "--set", dest="assignments", action="append", type=parse_assignment, default=[],
        metavar="KEY=VALUE", help="set any setting, for example -c decoding.temperature=0.3",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (repeat for debug output)")


def _prediction_options(parser: argparse.ArgumentParser, samples: bool = True) -> None:
    parser.add_argument(
        "--horizon", choices=["sentence", "paragraph", "section", "draft"], help="where the prediction stops"
    )
    if samples:
        parser.add_argument("-n", "--samples", type=int, help="number of candidates")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amplifier-ls",
        description="Predict what you would write next, in your own voice, from your own past writing.",
    )
    parser.add_argument("--version", action="version", version=f"amplifier-ls {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    predict = commands.add_parser("predict", help="continue a document from a position")
    predict.add_argument("file", type=Path)
    predict.add_argument("--at", type=parse_position, default="end", help="LINE:COLUMN, 1-based (default: end of file)")
    predict.add_argument(
        "--mode", choices=["continue", "next-section"], default="continue",
        help="continue from the position, or write the section after the one at the position",
    )
    _prediction_options(predict)
    _common_options(predict)

    expand = commands.add_parser("expand", help="turn an outline into the draft it stands for")
    expand.add_argument("file", type=Path)
    group = expand.add_mutually_exclusive_group(required=True)
    group.add_argument("--lines", type=parse_lines, help="the outline's lines, A-B, 1-based and inclusive")
    group.add_argument("--at", type=parse_position, help="a position inside the outline's list block")
    expand.add_argument("--write", action="store_true", help="replace the outline in the file with the draft")
    _prediction_options(expand, samples=False)
    _common_options(expand)

    prompt = commands.add_parser("prompt", help="print the prompt that would be sent, without sending it")
    prompt.add_argument("file", type=Path)
    prompt.add_argument("--at", type=parse_position, default="end", help="LINE:COLUMN, 1-based (default: end)")
    prompt.add_argument("--lines", type=parse_lines, help="expand the outline on these lines instead")
    prompt.add_argument("--mode", choices=["continue", "next-section", "expand"], default="continue")
    prompt.add_argument("--json", action="store_true", help="print the prompt parts and excerpts as JSON")
    _common_options(prompt)

    corpus = commands.add_parser("corpus", help="list the corpus: what is indexed, what is skipped and why")
    corpus.add_argument("--json", action="store_true", help="print the listing as JSON")
    corpus.add_argument("--exclude-file", type=Path, action="append", default=[], help="leave this file out")
    _common_options(corpus)

    settings_command = commands.add_parser("settings", help="list every setting with its default and description")
    settings_command.add_argument("--json", action="store_true")
    settings_command.add_argument("--workspace", type=Path, help="show the values in force for this workspace")

    _add_optional_commands(commands)
    return parser


def _add_optional_commands(commands: Any) -> None:
    """Add the commands whose modules live outside the core (server, evaluation)."""
    try:
        from .server import cli as server_cli
    except ImportError:
        server_cli = None
    if server_cli is not None:
        server_cli.configure_parser(commands.add_parser("serve", help="run the language server"))
    try:
        from .evaluation import cli as evaluation_cli
    except ImportError:
        evaluation_cli = None
    if evaluation_cli is not None:
        evaluation_cli.configure_parser(
            commands.add_parser("eval", help="measure how close predictions come to what the author wrote")
        )


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = dict(getattr(args, "assignments", []) or [])
    if getattr(args, "backend", None):
        overrides["backend"] = args.backend
    if getattr(args, "model", None):
        overrides["model"] = args.model
    if getattr(args, "corpus", None):
        overrides["corpus.paths"] = [str(Path(path).resolve()) for path in args.corpus]
    if getattr(args, "no_corpus", False):
        overrides["corpus.enabled"] = False
    if getattr(args, "no_cache", False):
        overrides["cache.enabled"] = False
    if getattr(args, "horizon", None):
        overrides["prediction.horizon"] = args.horizon
    if getattr(args, "samples", None) is not None:
        overrides["prediction.samples"] = args.samples
    return overrides


def resolve_workspace(args: argparse.Namespace) -> Path:
    if getattr(args, "workspace", None):
        workspace = args.workspace.resolve()
        if not workspace.is_dir():
            raise DocumentError(f"Workspace folder not found: {args.workspace}")
        return workspace
    file = getattr(args, "file", None)
    return find_workspace(file.parent if file else Path.cwd())


def _offset_from_position(document: Document, position: tuple[int, int] | str) -> int:
    if position == "end":
        return len(document.text)
    line, column = position
    lines = document.text.split("\n")
    if line > len(lines):
        raise DocumentError(f"Line {line} is past the end of {document.name} ({len(lines)} lines)")
    if column > len(lines[line - 1]) + 1:
        raise DocumentError(
            f"Column {column} is past the end of line {line} ({len(lines[line - 1])} characters)"
        )
    return document.offset_at(line - 1, column - 1, encoding="utf-32")


def _selection_from_lines(document: Document, lines: tuple[int, int]) -> tuple[int, int]:
    count = document.text.count("\n") + 1
    if lines[1] > count:
        raise DocumentError(f"Line {lines[1]} is past the end of {document.name} ({count} lines)")
    start = document.offset_at(lines[0] - 1, 0)
    end = document.offset_at(lines[1] - 1, 10**9)
    return start, end


def _make_predictor(args: argparse.Namespace, progress: StderrProgress):
    from .pipeline import Predictor

    workspace = resolve_workspace(args)
    settings = load(workspace, overrides_from(args))
    return Predictor(settings, workspace, progress=progress), settings


def _position_json(document: Document, offset: int) -> dict[str, int]:
    line, column = document.position_at(offset, "utf-32")
    _, utf16_character = document.position_at(offset, "utf-16")
    return {"line": line + 1, "column": column + 1, "utf16_character": utf16_character}


async def _run_prediction(args: argparse.Namespace, mode: str) -> int:
    from .pipeline import PredictionRequest

    progress = StderrProgress()
    predictor, settings = _make_predictor(args, progress)
    try:
        document = Document.from_file(args.file)
        selection = None
        offset = 0
        if mode == "expand" and getattr(args, "lines", None):
            selection = _selection_from_lines(document, args.lines)
            offset = selection[0]
        else:
            offset = _offset_from_position(document, args.at)
        request = PredictionRequest(
            document=document, offset=offset, mode=mode, selection=selection, horizon=args.horizon
        )
        predictor.volition_for(request)

        progress(f"Loading the {settings.backend} backend ({predictor.backend.model})…")
        def on_text(index: int, text: str) -> None:
            progress(f"Generating: {len(text)} characters")

        prediction = await predictor.predict(request, on_text=on_text)
        progress.done()
        return _report_prediction(args, document, prediction)
    finally:
        progress.done()
        await predictor.aclose()


def _report_prediction(args: argparse.Namespace, document: Document, prediction: Any) -> int:
    if getattr(args, "json", False):
        payload = {
            "status": prediction.status,
            "reason": prediction.reason,
            "texts": prediction.texts,
            "cached": prediction.cached,
            "replace": {
                "start": _position_json(document, prediction.replace_start),
                "end": _position_json(document, prediction.replace_end),
            },
            "horizon": prediction.volition.horizon,
            "mode": prediction.volition.mode,
            "excerpts": [excerpt.path for excerpt in prediction.prompt.excerpts],
            "seconds": round(prediction.seconds, 3),
            "usage": [
                {
                    "input_tokens": info.input_tokens,
                    "output_tokens": info.output_tokens,
                    "cache_creation_input_tokens": info.cache_creation_input_tokens,
                    "cache_read_input_tokens": info.cache_read_input_tokens,
                    "cost_usd": info.cost_usd,
                    "finish_reason": info.finish_reason,
                    **info.details,
                }
                for info in prediction.infos
            ],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0 if prediction.status == "ok" else 3

    if prediction.status != "ok":
        print(f"amplifier-ls: the prediction is {prediction.status}: {prediction.reason}", file=sys.stderr)
        return 3
    for index, text in enumerate(prediction.texts):
        if len(prediction.texts) > 1:
            print(f"--- candidate {index + 1} ---")
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if getattr(args, "write", False):
        new_text = (
            document.text[: prediction.replace_start]
            + prediction.texts[0].replace(document.line_ending, "\n")
            + document.text[prediction.replace_end :]
        )
        args.file.write_bytes(new_text.replace("\n", document.line_ending).encode("utf-8"))
        print(f"amplifier-ls: wrote {args.file}", file=sys.stderr)
    return 0


async def _run_prompt(args: argparse.Namespace) -> int:
    from .backends.base import GenerationRequest
    from .pipeline import PredictionRequest

    progress = StderrProgress()
    predictor, _ = _make_predictor(args, progress)
    try:
        document = Document.from_file(args.file)
        selection = _selection_from_lines(document, args.lines) if args.lines else None
        mode = "expand" if selection else args.mode
        offset = selection[0] if selection else _offset_from_position(document, args.at)
        request = PredictionRequest(document=document, offset=offset, mode=mode, selection=selection)
        prompt, volition = await predictor.build_prompt(request)
        progress.done()
        if args.json:
            count = predictor.backend.count_tokens
            print(json.dumps({
                "prefix": prompt.prefix,
                "body": prompt.body,
                "prefix_tokens": count(prompt.prefix),
                "body_tokens": count(prompt.body),
                "excerpts": [{"path": e.path, "index": e.index, "chars": len(e.text)} for e in prompt.excerpts],
                "trimmed_chars": prompt.trimmed_chars,
                "horizon": volition.horizon,
            }, ensure_ascii=False, indent=2))
        else:
            rendered = predictor.backend.describe_request(GenerationRequest(prompt=prompt, max_tokens=0))
            sys.stdout.write(rendered if rendered.endswith("\n") else rendered + "\n")
        return 0
    finally:
        progress.done()
        await predictor.aclose()


def _run_corpus(args: argparse.Namespace) -> int:
    from .cache import default_cache_dir
    from .corpus.index import CorpusIndex

    workspace = resolve_workspace(args)
    settings = load(workspace, overrides_from(args))
    progress = StderrProgress()
    cache_dir = None
    if settings.cache.enabled:
        cache_dir = Path(settings.cache.dir).expanduser() if settings.cache.dir else default_cache_dir()
    index = CorpusIndex(workspace, settings.corpus, cache_dir)
    try:
        report = index.refresh(exclude_files=[path.resolve() for path in args.exclude_file], progress=progress)
        progress.done()
        files = index.files
        skipped = index.skipped
        if args.json:
            print(json.dumps({
                "root": str(workspace),
                "files": [{"path": f.relative_path, "bytes": f.size} for f in files],
                "chunks": index.chunk_count,
                "skipped": [{"path": s.path, "reason": s.reason} for s in skipped],
            }, ensure_ascii=False, indent=2))
            return 0
        print(f"Corpus at {workspace}: {len(files)} files, {index.chunk_count} chunks")
        for corpus_file in files:
            print(f"  indexed  {corpus_file.relative_path}")
        if skipped:
            print(f"Skipped ({len(skipped)}):")
            width = max(len(s.path) for s in skipped)
            for item in skipped:
                print(f"  {item.path:<{width}}  {item.reason}")
        logger.debug("Refresh report: %s", report)
        return 0
    finally:
        progress.done()
        index.close()


def _run_settings(args: argparse.Namespace) -> int:
    current = load(args.workspace.resolve() if args.workspace else find_workspace(Path.cwd()), None)
    rows = []
    for key, annotation, default, description in iter_fields():
        value: Any = current
        for part in key.split("."):
            value = getattr(value, part)
        low, high = RANGES.get(key, (None, None))
        rows.append({"key": key, "type": describe_type(annotation), "default": default, "value": value,
                     "minimum": low, "maximum": high, "description": description})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(f"{row['key']} = {json.dumps(row['value'])}    ({row['type']})")
        print(f"    {row['description']}")
    return 0


def configure_logging(verbosity: int, log_file: Path | None = None) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("amplifier_ls")
    root.handlers[:] = [handler]
    root.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(getattr(args, "verbose", 0) or 0)
    try:
        if args.command == "predict":
            return asyncio.run(_run_prediction(args, args.mode))
        if args.command == "expand":
            return asyncio.run(_run_prediction(args, "expand"))
        if args.command == "prompt":
            return asyncio.run(_run_prompt(args))
        if args.command == "corpus":
            return _run_corpus(args)
        if args.command == "settings":
            return _run_settings(args)
        return args.run(args)
    except AmplifierError as error:
        print(f"amplifier-ls: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("amplifier-ls: cancelled", file=sys.stderr)
        return 130

