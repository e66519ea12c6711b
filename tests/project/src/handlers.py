"""Handlers for the test-suite, one per Lambda behaviour under test."""

import json
import os
import sys
import time

INIT_AT = time.time()
CALLS = 0
print("init: handlers module imported")


def echo(event, context):
    print("echo got", json.dumps(event))
    return {"event": event, "greeting": os.environ.get("GREETING")}


def counter(event, context):
    global CALLS
    CALLS += 1
    return {"calls": CALLS, "init_at": INIT_AT, "pid": os.getpid()}


def _cgroup(*names):
    for name in names:
        try:
            with open(name) as f:
                return f.read().strip()
        except OSError:
            continue
    return None


def _writable(path):
    try:
        with open(os.path.join(path, ".lsim-probe"), "w") as f:
            f.write("x")
        os.remove(os.path.join(path, ".lsim-probe"))
        return True
    except OSError:
        return False


def inspect(event, context):
    tmp = os.statvfs("/tmp")
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "cwd": os.getcwd(),
        "sys_path": sys.path,
        "python": list(sys.version_info[:2]),
        "env": {k: v for k, v in os.environ.items()},
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "writable": {p: _writable(p) for p in ("/tmp", "/var/task", "/opt", "/", "/var/runtime")},
        "tmp_size_mb": tmp.f_blocks * tmp.f_frsize // (1024 * 1024),
        "docker_socket": os.path.exists("/var/run/docker.sock"),
        "cpu_quota": _cgroup("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu.max"),
        "memory_limit": _cgroup("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"),
        "nofile": _cgroup("/proc/self/limits"),
    }


def fail(event, context):
    raise ValueError("boom: " + str(event.get("why", "no reason")))


def sleepy(event, context):
    print("sleeping", event.get("seconds", 5))
    time.sleep(event.get("seconds", 5))
    return {"slept": event.get("seconds", 5)}


def hog(event, context):
    chunks = []
    for _ in range(event.get("mb", 512)):
        chunks.append(bytearray(1024 * 1024))
    return {"allocated_mb": len(chunks)}


def crash(event, context):
    print("about to exit", flush=True)
    os._exit(event.get("code", 3))


def big(event, context):
    return "x" * event.get("bytes", 7 * 1024 * 1024)


def unserializable(event, context):
    return {"when": object()}


def scratch(event, context):
    """/tmp as Lambda has it: disk (not memory), and it survives a reset of the environment."""
    if "write_mb" in event:
        with open("/tmp/big", "wb") as out:
            for _ in range(event["write_mb"]):
                out.write(b"\0" * (1024 * 1024))
            out.flush()
            os.fsync(out.fileno())
        size = os.path.getsize("/tmp/big")
        os.remove("/tmp/big")
        return {"written_mb": size // (1024 * 1024)}
    if "mark" in event:
        with open("/tmp/marker", "w") as out:
            out.write(event["mark"])
    if event.get("exit") is not None:
        os._exit(event["exit"])  # the runtime dies: Lambda resets the environment
    try:
        with open("/tmp/marker") as marker:
            return {"marker": marker.read()}
    except FileNotFoundError:
        return {"marker": None}
