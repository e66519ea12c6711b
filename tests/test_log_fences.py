"""Each invocation's log holds exactly its own output, every time: what the runtime wrote (stdout and
stderr, with or without a newline, from any thread, right before it returned) up to the moment it asked for
its next event, and nothing of another invocation's. Driven through the real Lambda API with boto3
(`LogType=Tail`), sequentially and concurrently, on real containers and on the process backend.

Output written after the runtime has finished an invocation (a thread still printing) belongs to the next
invocation's log, as on Lambda, where the environment is frozen until then."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .test_api import Api, serve

APP = r'''
import sys, threading, time

_later = []  # threads of earlier invocations that print after their invocation ended


def speak(event, context):
    tag, mode = event["tag"], event["mode"]
    if mode == "plain":
        print(f"{tag} out")
        print(f"{tag} err", file=sys.stderr)
    elif mode == "partial":  # no newline at all, on either stream
        print(f"{tag} out-partial", end="")
        print(f"{tag} err-partial", end="", file=sys.stderr)
    elif mode == "burst":  # many lines, the last one right before returning
        for i in range(40):
            print(f"{tag} burst {i}")
        sys.stderr.write(f"{tag} last-err\n")
    elif mode == "thread":  # printed from threads the handler waits for
        def work(n):
            print(f"{tag} thread {n}")
            print(f"{tag} thread-err {n}", file=sys.stderr)
        threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elif mode == "mixed":
        sys.stdout.write(f"{tag} a")
        sys.stderr.write(f"{tag} b\n")
        sys.stdout.write(f"{tag} c\n")
    return {"tag": tag}


def linger(event, context):
    """Prints now, and once more from a thread after the handler has returned (after the runtime took its
    next event): the next invocation waits for that thread, so its line lands in the next one's log."""
    for thread in _later:
        thread.join()
    _later.clear()
    tag = event["tag"]
    print(f"{tag} during")

    def after():
        time.sleep(0.2)
        print(f"{tag} after")

    thread = threading.Thread(target=after)
    thread.start()
    _later.append(thread)
    return {"tag": tag}
'''

# A custom runtime (provided.al2023) in shell: it prints a line, and pieces without a newline on both
# streams, right before it posts the response.
BOOTSTRAP = r"""#!/bin/sh
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
    headers=$(mktemp); body=$(mktemp)
    curl -sS -D "$headers" -o "$body" "$API/invocation/next"
    id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | tr -d '[:space:]' | cut -d: -f2)
    tag=$(sed 's/.*"tag": *"\([A-Z0-9]*\)".*/\1/' "$body")
    rm -f "$headers" "$body"
    echo "$tag out"
    printf '%s err-partial' "$tag" >&2
    printf '%s out-partial' "$tag"
    printf '{"tag": "%s"}' "$tag" | curl -sS -X POST --data-binary @- "$API/invocation/$id/response" >/dev/null
done
"""

PROJECT = """
[functions.speak]
handler = "app.speak"
runtime = "{runtime}"
code = "src"

[functions.linger]
handler = "app.linger"
runtime = "{runtime}"
code = "src"

[functions.custom]
handler = "unused"
runtime = "provided.al2023"
code = "custom"
memory_size = 1769  # one whole vCPU: the shell forks a dozen processes an invocation
"""

# How many tagged pieces each mode prints (a piece is one occurrence of the tag).
PIECES = {"plain": 2, "partial": 2, "burst": 41, "thread": 6, "mixed": 3}
MODES = list(PIECES)
PIECES["custom"] = 3
TAG = re.compile(r"T\d{4}")


def write_project(folder: Path, runtime: str = "python3.11") -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP)
    (folder / "custom").mkdir()
    (folder / "custom" / "bootstrap").write_text(BOOTSTRAP)
    (folder / "custom" / "bootstrap").chmod(0o755)
    (folder / "lsim.toml").write_text(PROJECT.replace("{runtime}", runtime))
    return folder


@pytest.fixture(scope="module")
def docker_logs_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(write_project(tmp_path_factory.mktemp("fences-docker")), "docker")


@pytest.fixture(scope="module")
def process_logs_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(write_project(tmp_path_factory.mktemp("fences-process")), "process")


def tail(client: Any, function: str, payload: dict[str, Any]) -> str:
    response = client.invoke(FunctionName=function, Payload=json.dumps(payload).encode(), LogType="Tail")
    assert "FunctionError" not in response, response["Payload"].read()
    return base64.b64decode(response["LogResult"]).decode()


def check(log: str, tag: str, mode: str) -> list[str]:
    """What is wrong with one invocation's log: another invocation's output, or its own missing."""
    problems = []
    tags = TAG.findall(log)
    if strangers := sorted(set(tags) - {tag}):
        problems.append(f"{tag} ({mode}) holds output of {strangers}")
    if tags.count(tag) != PIECES[mode]:
        problems.append(f"{tag} ({mode}) holds {tags.count(tag)} of its {PIECES[mode]} pieces")
    if problems:
        problems.append(log)
    return problems


def calls(first: int, count: int, modes: list[str]) -> list[tuple[str, str]]:
    return [(f"T{n:04d}", modes[n % len(modes)]) for n in range(first, first + count)]


def run_many(api: Api, sequential: int, concurrent: int, function: str = "speak") -> list[str]:
    """Problems of `sequential` calls one after the other, then `concurrent` ones from 6 threads."""
    client = api.client(max_pool_connections=8)
    modes = ["custom"] if function == "custom" else MODES

    def one(call: tuple[str, str]) -> list[str]:
        tag, mode = call
        return check(tail(client, function, {"tag": tag, "mode": mode}), tag, mode)

    problems: list[str] = []
    for call in calls(0, sequential, modes):
        problems += one(call)

    with ThreadPoolExecutor(6) as pool:
        for found in pool.map(one, calls(sequential, concurrent, modes)):
            problems += found
    return problems


@pytest.mark.docker
def test_every_tail_holds_exactly_its_own_output_on_docker(docker_logs_api: Api) -> None:
    problems = run_many(docker_logs_api, sequential=40, concurrent=40)
    assert not problems, "\n".join(problems)


@pytest.mark.docker
def test_every_tail_of_a_custom_runtime_holds_exactly_its_own_output(docker_logs_api: Api) -> None:
    problems = run_many(docker_logs_api, sequential=20, concurrent=20, function="custom")
    assert not problems, "\n".join(problems)


def test_every_tail_holds_exactly_its_own_output_on_the_process_backend(process_logs_api: Api) -> None:
    problems = run_many(process_logs_api, sequential=30, concurrent=30)
    assert not problems, "\n".join(problems)


def _lingering(api: Api) -> None:
    client = api.client()
    logs = [tail(client, "linger", {"tag": f"T{n:04d}"}) for n in range(5)]
    for n, log in enumerate(logs):
        assert f"T{n:04d} during" in log, log
        assert f"T{n:04d} after" not in log, log  # printed once the runtime had moved on
        if n:
            assert f"T{n - 1:04d} after" in log, log  # it shows in the next invocation's log


@pytest.mark.docker
def test_output_after_the_invocation_ended_goes_to_the_next_log_on_docker(docker_logs_api: Api) -> None:
    _lingering(docker_logs_api)


def test_output_after_the_invocation_ended_goes_to_the_next_log_on_the_process_backend(
    process_logs_api: Api,
) -> None:
    _lingering(process_logs_api)


@pytest.mark.docker
def test_the_serve_console_shows_an_event_invocations_output_without_a_newline(tmp_path: Path) -> None:
    """`lsim serve` prints each line of a function's output as it ends, and a line without a newline when
    the invocation ends: an Event invocation's `print(..., end="")` shows, on both streams."""
    import time
    import urllib.request

    from .lsim_processes import serve as serve_process
    from .test_api import SIGNED

    served = serve_process(write_project(tmp_path), quiet=False)
    try:
        for tag, mode in (("T0900", "partial"), ("T0901", "plain")):
            request = urllib.request.Request(
                f"{served.url}/2015-03-31/functions/speak/invocations",
                data=json.dumps({"tag": tag, "mode": mode}).encode(),
                method="POST",
                headers={**SIGNED, "X-Amz-Invocation-Type": "Event"},
            )
            with urllib.request.urlopen(request, timeout=60) as answer:
                assert answer.status == 202
        wanted = ["T0900 out-partial", "T0900 err-partial", "T0901 out", "T0901 err"]
        bound = time.monotonic() + 120  # a bound, not an expectation: a cold start on a busy machine
        while time.monotonic() < bound and not all(any(p in line for line in served.lines) for p in wanted):
            time.sleep(0.05)
    finally:
        served.stop()
    shown = [line for line in served.lines if line.startswith("  speak | ")]
    for piece in wanted:  # each on a line of its own invocation, not glued to the next one's output
        tag = piece.split()[0]
        assert any(piece in line and set(TAG.findall(line)) == {tag} for line in shown), (piece, served.lines)


@pytest.mark.docker
def test_without_the_rights_to_mark_the_pipes_logs_wait_for_quiet_and_say_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Marking a container's pipes needs root with the engine on this machine; without it (as if), each
    invocation's log still holds its output, by the old quiet window, and lsim says once what that costs."""
    from simulator.blocking import BlockingSimulator
    from simulator.project import load_project
    from simulator.sandbox import docker as docker_sandbox

    monkeypatch.setattr(docker_sandbox, "write_mark", lambda pid, mark: False)
    said: list[str] = []
    with BlockingSimulator(load_project(write_project(tmp_path)), backend="docker", warn=said.append) as lsim:
        results = [lsim.invoke("speak", {"tag": f"T{n:04d}", "mode": "plain"}, log_type="Tail") for n in range(3)]
    for n, result in enumerate(results):
        assert f"T{n:04d} out" in result.logs, result.logs
    assert len([line for line in said if "cannot mark its containers' output pipes" in line]) == 1, said


def test_a_mark_is_found_however_the_output_is_cut_into_chunks() -> None:
    from simulator.sandbox.fence import MarkScanner, new_mark

    mark = new_mark()
    stream = b"line one\npartial\x00not a mark" + mark + b"after\x00" + mark[:5] + b"x" + mark
    for cut in range(len(stream) + 1):
        for step in (1, 3, len(stream)):
            scanner = MarkScanner(mark)
            pieces: list[bytes | None] = []
            for chunk in [stream[:cut], *(stream[i : i + step] for i in range(cut, len(stream), step))]:
                pieces += scanner.feed(chunk)
            text = b"".join(b"|MARK|" if piece is None else piece for piece in pieces) + scanner.rest()
            assert text == b"line one\npartial\x00not a mark|MARK|after\x00" + mark[:5] + b"x|MARK|", (cut, step)
