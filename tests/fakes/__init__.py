"""Fakes of external services for tests: real servers on 127.0.0.1 that speak the real wire format.

`openai_server` is an OpenAI-compatible completions server (vLLM and llama.cpp server
flavours). Tests import it as `fakes.openai_server`, because pytest puts tests/ on sys.path
(tests/ has no __init__.py). A test that drives another process runs it as a script:
`python tests/fakes/openai_server.py --port 0`.

`anthropic_server` is a Messages API with the documented streaming events, run as a script
with `python tests/fakes/anthropic_server.py --port 0`.
"""
