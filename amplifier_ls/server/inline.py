"""Inline completions (`textDocument/inlineCompletion`, LSP 3.18): ghost text at the cursor.

An automatic request (sent by the editor while the user types) waits `server.debounce_ms`
first and produces one item. An invoked request (the user requested completions) starts at
once and produces up to `server.inline_candidates` items. Both reach as far as
`server.inline_horizon`.

Per document, only the newest request runs: a newer request, a change to the document and
`$/cancelRequest` cancel the older one, including its backend stream, and pygls answers it
with the RequestCancelled error (-32800). The handler is a coroutine so that this
cancellation reaches the backend call.

Every item's range is empty and sits at the cursor: the text is inserted there and nothing
is replaced, so the text after the cursor stays in place (post-processing has already cut
what would repeat it). The insert text may span several lines; the range never does.
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from ..errors import BackendError, BackendUnavailable, DocumentError
from ..pipeline import PredictionRequest
from .server import AmplifierServer

logger = logging.getLogger(__name__)


async def inline_completion(server: AmplifierServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    uri = params.text_document.uri
    task = asyncio.current_task()
    assert task is not None
    server.jobs.replace("inline", uri, task)

    await server.configured.wait()
    options = server.settings.server
    automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
    if automatic and options.debounce_ms > 0:
        await asyncio.sleep(options.debounce_ms / 1000)

    snapshot = server.documents.snapshot(uri)
    if snapshot is None:
        logger.warning("Inline completion requested for %s, which is not open", uri)
        return types.InlineCompletionList(items=[])
    request = PredictionRequest(
        document=snapshot.document,
        offset=snapshot.offset_at(params.position),
        mode="continue",
        horizon=options.inline_horizon,
        samples=1 if automatic else max(1, options.inline_candidates),
    )

    try:
        prediction = await server.predict(request)
    except DocumentError as error:
        logger.info("No inline completion for %s: %s", uri, error)
        return types.InlineCompletionList(items=[])
    except BackendUnavailable as error:
        logger.warning("No inline completion for %s: %s", uri, error)
        server.status.notify_user(str(error))
        return types.InlineCompletionList(items=[])
    except BackendError as error:
        logger.warning("No inline completion for %s: %s", uri, error)
        return types.InlineCompletionList(items=[])

    if prediction.status != "ok":
        logger.debug("No inline completion for %s: %s (%s)", uri, prediction.status, prediction.reason)
    cursor = snapshot.position_at(prediction.replace_start)
    where = types.Range(start=cursor, end=cursor)
    items = [types.InlineCompletionItem(insert_text=text, range=where) for text in prediction.texts]
    return types.InlineCompletionList(items=items)


def setup(server: AmplifierServer) -> None:
    server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(inline_completion)
    server.change_listeners.append(lambda uri: server.jobs.cancel(uri, ["inline"]))
