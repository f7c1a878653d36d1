"""The fake OpenAI-compatible server: its wire format, its script, and its command line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fakes.openai_server import FakeOpenAIServer, ScriptError

SCRIPT_PATH = Path(__file__).parent / "fakes" / "openai_server.py"
TEXT = "Short notes read well when every sentence carries one idea."


@pytest.fixture
def fake():
    with FakeOpenAIServer({"default": {"text": TEXT, "delay_ms": 0}}) as server:
        yield server


def sse_lines(response: httpx.Response) -> list[str]:
    return list(response.iter_lines())


def events(lines: list[str]) -> list[str]:
    return [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]


def test_stream_wire_format(fake):
    body = {"model": "fake-model", "prompt": "Notes:", "max_tokens": 100, "stream": True,
            "stream_options": {"include_usage": True}}
    with httpx.stream("POST", f"{fake.base_url}/completions", json=body) as response:
        lines = sse_lines(response)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["transfer-encoding"] == "chunked"
    assert lines[1::2] == [""] * (len(lines) // 2)
    data = events(lines)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert "".join(chunk["choices"][0]["text"] for chunk in chunks if chunk["choices"]) == TEXT
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 1, "completion_tokens": len(TEXT.split()), "total_tokens": 1 + len(TEXT.split())}
    assert fake.stats["completions_finished"] == 1


def test_stream_without_usage_request(fake):
    body = {"prompt": "Notes:", "max_tokens": 100, "stream": True}
    with httpx.stream("POST", f"{fake.base_url}/completions", json=body) as response:
        chunks = [json.loads(item) for item in events(sse_lines(response))[:-1]]

    assert all("usage" not in chunk for chunk in chunks)


def test_llama_cpp_flavor_final_chunk(fake):
    fake.set_script({"default": {"text": TEXT, "delay_ms": 0, "flavor": "llama.cpp"}})
    body = {"prompt": "Notes:", "max_tokens": 100, "stream": True}
    with httpx.stream("POST", f"{fake.base_url}/completions", json=body) as response:
        chunks = [json.loads(item) for item in events(sse_lines(response))[:-1]]

    final = chunks[-1]
    assert final["choices"][0] == {"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}
    assert final["usage"]["completion_tokens"] == len(TEXT.split())
    assert "timings" in final


def test_non_streamed_completion(fake):
    response = httpx.post(f"{fake.base_url}/completions", json={"prompt": "Notes:", "max_tokens": 3})

    payload = response.json()
    assert payload["object"] == "text_completion"
    assert payload["choices"][0]["text"] == "Short notes read"
    assert payload["choices"][0]["finish_reason"] == "length"
    assert payload["usage"]["completion_tokens"] == 3


def test_stop_strings_honoured(fake):
    response = httpx.post(f"{fake.base_url}/completions", json={"prompt": "x", "max_tokens": 100, "stop": ["every", "read"]})

    assert response.json()["choices"][0]["text"] == "Short notes "
    assert response.json()["choices"][0]["finish_reason"] == "stop"


def test_default_max_tokens(fake):
    fake.set_script({"default": {"text": " ".join(["word"] * 40)}})

    response = httpx.post(f"{fake.base_url}/completions", json={"prompt": "x"})

    assert response.json()["usage"]["completion_tokens"] == 16


def test_only_one_choice(fake):
    response = httpx.post(f"{fake.base_url}/completions", json={"prompt": "x", "n": 2})

    assert response.status_code == 400
    assert "n=1" in response.json()["error"]["message"]


def test_models_list(fake):
    payload = httpx.get(f"{fake.base_url}/models").json()

    assert payload["object"] == "list"
    assert [model["id"] for model in payload["data"]] == ["fake-model"]


def test_rules_first_match_wins(fake):
    rules = [
        {"when_prompt_contains": "alpha", "text": "From the alpha rule."},
        {"when_prompt_contains": "alp", "text": "From the second rule."},
    ]
    fake.set_script({"default": {"text": "Default."}, "rules": rules})

    def complete(prompt: str) -> str:
        return httpx.post(f"{fake.base_url}/completions", json={"prompt": prompt, "max_tokens": 50}).json()["choices"][0]["text"]

    assert complete("about alpha") == "From the alpha rule."
    assert complete("about alps") == "From the second rule."
    assert complete("about beta") == "Default."


def test_fail_times_then_served(fake):
    fake.set_script({"default": {"text": TEXT, "fail": {"status": 429, "retry_after": 2, "times": 2}}})
    url = f"{fake.base_url}/completions"

    responses = [httpx.post(url, json={"prompt": "x"}) for _ in range(3)]

    assert [response.status_code for response in responses] == [429, 429, 200]
    assert responses[0].headers["retry-after"] == "2"
    assert fake.stats["failures_sent"] == 2


def test_require_api_key(fake):
    fake.set_script({"require_api_key": "secret"})
    url = f"{fake.base_url}/completions"

    rejected = httpx.post(url, json={"prompt": "x"})
    accepted = httpx.post(url, json={"prompt": "x"}, headers={"Authorization": "Bearer secret"})

    assert rejected.status_code == 401
    assert accepted.status_code == 200


def test_openai_strict_rejections(fake):
    fake.set_script({"openai_strict": True})
    url = f"{fake.base_url}/completions"

    extra = httpx.post(url, json={"prompt": "x", "min_p": 0.1})
    stops = httpx.post(url, json={"prompt": "x", "stop": ["a", "b", "c", "d", "e"]})

    assert extra.status_code == 400
    assert "Unrecognized request argument supplied: min_p" in extra.json()["error"]["message"]
    assert stops.status_code == 400


def test_script_rejects_unknown_keys():
    with pytest.raises(ScriptError, match="colour"):
        FakeOpenAIServer({"default": {"colour": "blue"}})
    with pytest.raises(ScriptError, match="chunk"):
        FakeOpenAIServer({"rules": [{"chunk": "sentence"}]})


def test_control_endpoints(fake):
    httpx.post(f"{fake.base_url}/completions", json={"prompt": "x"})

    invalid = httpx.post(f"http://127.0.0.1:{fake.port}/_fake/script", json={"default": {"txt": "typo"}})
    replaced = httpx.post(f"http://127.0.0.1:{fake.port}/_fake/script", json={"default": {"text": "New text."}})
    after_replace = httpx.get(f"http://127.0.0.1:{fake.port}/_fake/stats").json()
    completion = httpx.post(f"{fake.base_url}/completions", json={"prompt": "x"}).json()
    reset = httpx.post(f"http://127.0.0.1:{fake.port}/_fake/reset")
    after_reset = httpx.get(f"http://127.0.0.1:{fake.port}/_fake/stats").json()

    assert invalid.status_code == 400
    assert "txt" in invalid.json()["error"]["message"]
    assert replaced.status_code == 200
    assert after_replace["completion_requests"] == 0
    assert completion["choices"][0]["text"] == "New text."
    assert reset.status_code == 200
    assert after_reset["completion_requests"] == 0
    assert after_reset["requests"] == []


def test_command_line(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"default": {"text": "From the script file.", "delay_ms": 0}}))
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT_PATH), "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = process.stdout.readline().split()
        assert ready[0] == "READY"
        base_url = ready[1]
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")

        text = httpx.post(f"{base_url}/completions", json={"prompt": "x", "max_tokens": 50}).json()["choices"][0]["text"]
        assert text == "From the script file."

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_command_line_invalid_script(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"rules": "not a list"}))

    result = subprocess.run(
        [sys.executable, str(SCRIPT_PATH), "--script", str(script)], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 2
    assert "rules must be a list" in result.stderr
    assert result.stdout == ""
