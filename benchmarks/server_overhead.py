"""Measure the language server's own overhead, and the backend calls a typing burst causes.

Run from the repository root:

    .venv/bin/python benchmarks/server_overhead.py [--requests 500] [--keystrokes 20]

It starts the fake OpenAI-compatible server (tests/fakes/openai_server.py) on 127.0.0.1 and
the real `amplifier-ls serve` process over stdio, then measures round trips from a pygls
client:

- no-op: the custom `amplifier/ping` request, for which the server returns null at once.
  It is the cost of the transport and of pygls' message handling.
- cached inline completion: `textDocument/inlineCompletion` (automatic trigger, debounce set
  to 0) for a position whose prediction is already in the cache. The difference to the
  no-op is the server's own work per request: building the core document and the prompt,
  retrieving excerpts from the corpus, the cache lookup and post-processing.

The two kinds of request alternate, so that drift on a busy machine affects both alike.
The typing burst then sends a `didChange` and an automatic inline request per keystroke at
a steady interval with the default debounce, and counts the completions the fake served.
The numbers hold for this one run on this machine; only the ratios are meant to be compared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakes.openai_server import FakeOpenAIServer  # noqa: E402

CONTINUATION = " and the bees were back in the lavender by noon."
PAST_WRITING = "# Summer notes\n\nThe lavender opened late this year, and the bees found it within a day.\n"
DRAFT = "# Garden diary\n\nIn the morning the fog lifted"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def inline_params(uri: str, position: types.Position) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
    )


def make_client() -> LanguageClient:
    client = LanguageClient("server-overhead-benchmark", "1")
    for method in ("amplifier/status", types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE):
        client.feature(method)(lambda params: None)
    return client


async def start(client: LanguageClient, workspace: Path, options: dict[str, Any]) -> None:
    await client.start_io(sys.executable, "-m", "amplifier_ls", "serve")
    capabilities = types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16])
    )
    await client.initialize_async(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=workspace.as_uri(),
            initialization_options=options,
        )
    )
    client.initialized(types.InitializedParams())


async def time_round_trips(client: LanguageClient, uri: str, position: types.Position, count: int) -> tuple[list[float], list[float]]:
    ping_times: list[float] = []
    inline_times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        await client.protocol.send_request_async("amplifier/ping", None)
        ping_times.append(time.perf_counter() - started)

        started = time.perf_counter()
        result = await client.text_document_inline_completion_async(inline_params(uri, position))
        inline_times.append(time.perf_counter() - started)
        if not result or not result.items:
            raise RuntimeError("the cached inline completion returned no item")
    return ping_times, inline_times


async def typing_burst(client: LanguageClient, fake: FakeOpenAIServer, keystrokes: int, interval_s: float) -> dict[str, int]:
    uri = "file:///burst.md"
    text = "# Burst\n\nWe walked"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="markdown", version=1, text=text)
        )
    )
    before = fake.stats["completion_requests"]
    pending = []
    typed = " along the river at dusk"[:keystrokes].ljust(keystrokes, ".")
    for version, character in enumerate(typed, start=2):
        position = types.Position(line=2, character=len(text.split("\n")[-1]))
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(range=types.Range(position, position), text=character)],
            )
        )
        text += character
        end = types.Position(line=2, character=len(text.split("\n")[-1]))
        pending.append(asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(uri, end))))
        await asyncio.sleep(interval_s)
    results = await asyncio.gather(*pending, return_exceptions=True)
    return {
        "requests": len(results),
        "cancelled": sum(isinstance(result, JsonRpcRequestCancelled) for result in results),
        "answered": sum(isinstance(result, types.InlineCompletionList) for result in results),
        "backend_calls": fake.stats["completion_requests"] - before,
    }


async def run(requests: int, keystrokes: int, interval_ms: int) -> None:
    with tempfile.TemporaryDirectory() as folder, FakeOpenAIServer({"default": {"text": CONTINUATION, "delay_ms": 1}}) as fake:
        workspace = Path(folder) / "workspace"
        (workspace / "notes").mkdir(parents=True)
        (workspace / "notes" / "summer.md").write_text(PAST_WRITING, encoding="utf-8")
        options = {
            "backend": "openai",
            "model": "fake-model",
            "openai": {"base_url": fake.base_url},
            "cache": {"dir": str(Path(folder) / "cache")},
            "server": {"debounce_ms": 0},
        }
        client = make_client()
        await start(client, workspace, options)
        try:
            uri = (workspace / "diary.md").as_uri()
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(uri=uri, language_id="markdown", version=1, text=DRAFT)
                )
            )
            position = types.Position(line=2, character=len(DRAFT.split("\n")[-1]))
            await time_round_trips(client, uri, position, 20)
            served_before = fake.stats["completion_requests"]
            ping_times, inline_times = await time_round_trips(client, uri, position, requests)
            served_during = fake.stats["completion_requests"] - served_before

            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings={"amplifier": {**options, "server": {"debounce_ms": 250}}})
            )
            await client.protocol.send_request_async("amplifier/ping", None)
            burst = await typing_burst(client, fake, keystrokes, interval_ms / 1000)

            await client.shutdown_async(None)
            client.exit(None)
        finally:
            await client.stop()

    report(requests, ping_times, inline_times, served_during, burst, keystrokes, interval_ms)


def report(requests, ping_times, inline_times, served_during, burst, keystrokes, interval_ms) -> None:
    def milliseconds(value: float) -> str:
        return f"{value * 1000:.2f} ms"

    ping_p50, ping_p99 = percentile(ping_times, 0.5), percentile(ping_times, 0.99)
    inline_p50, inline_p99 = percentile(inline_times, 0.5), percentile(inline_times, 0.99)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}")
    print(f"Round trips, {requests} of each kind, alternating:")
    print(f"  amplifier/ping (no-op)          p50 {milliseconds(ping_p50)}  p99 {milliseconds(ping_p99)}  mean {milliseconds(statistics.mean(ping_times))}")
    print(f"  cached inline completion        p50 {milliseconds(inline_p50)}  p99 {milliseconds(inline_p99)}  mean {milliseconds(statistics.mean(inline_times))}")
    print(f"  ratio inline / no-op            p50 {inline_p50 / ping_p50:.1f}x  p99 {inline_p99 / ping_p99:.1f}x")
    print(f"  server's own work per cached completion (p50 difference): {milliseconds(inline_p50 - ping_p50)}")
    print(f"  backend calls while measuring cached completions: {served_during}")
    print(f"Typing burst: {keystrokes} keystrokes {interval_ms} ms apart, debounce 250 ms, one automatic request each:")
    print(
        f"  {burst['requests']} requests, {burst['cancelled']} cancelled, {burst['answered']} answered, "
        f"{burst['backend_calls']} backend calls"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="round trips of each kind (default: 500)")
    parser.add_argument("--keystrokes", type=int, default=20, help="keystrokes in the typing burst (default: 20)")
    parser.add_argument("--interval-ms", type=int, default=60, help="milliseconds between keystrokes (default: 60)")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.keystrokes, args.interval_ms))


if __name__ == "__main__":
    main()
