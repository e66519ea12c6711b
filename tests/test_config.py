"""The project file: AWS's defaults, AWS's limits, and errors that name the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.config import Limits
from simulator.errors import ProjectFileError
from simulator.project import find_project_file, load_project, parse_project


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    path = tmp_path / "lsim.toml"
    path.write_text(text)
    return path


BASE = '[functions.f]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'


def test_defaults_are_aws_defaults(tmp_path: Path) -> None:
    function = load_project(write(tmp_path, BASE)).functions["f"]
    assert (function.memory_size, function.timeout, function.ephemeral_storage) == (128, 3, 512)
    assert function.architecture == "x86_64" and function.layers == [] and function.environment == {}
    assert function.code == (tmp_path / "src").resolve()


def test_project_file_is_found_in_a_parent_folder(tmp_path: Path) -> None:
    write(tmp_path, BASE)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_project_file(nested) == tmp_path / "lsim.toml"


def test_no_project_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="no lsim.toml found .* pass --project PATH"):
        find_project_file(tmp_path)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("memory_size = 64", r"functions\.f\.memory_size: 64 MB is out of range: Lambda allows 128-10240 MB"),
        ("memory_size = 10241", r"functions\.f\.memory_size: 10241 MB is out of range"),
        ("timeout = 0", r"functions\.f\.timeout: 0 s is out of range: Lambda allows 1-900 seconds"),
        ("timeout = 901", r"functions\.f\.timeout: 901 s is out of range"),
        (
            "ephemeral_storage = 100",
            r"functions\.f\.ephemeral_storage: 100 MB is out of range: Lambda allows 512-10240",
        ),
        ('runtime2 = "x"', r"functions\.f\.runtime2: unknown key"),
        ('architecture = "sparc"', r"functions\.f\.architecture"),
        ('layers = ["a", "b", "c", "d", "e", "f"]', r"6 layers given: a function can use at most 5 layers"),
        (
            'environment = { AWS_REGION = "eu-west-1" }',
            r"reserved keys .* Reserved keys used in this request: AWS_REGION",
        ),
        ('environment = { "1BAD" = "x" }', r"environment variable name '1BAD' is invalid"),
        ('environment = { X = "x" }', r"environment variable name 'X' is invalid"),
        ('environment = { BIG = "' + "x" * 4100 + '" }', r"exceeded the 4KB limit"),
    ],
)
def test_values_outside_lambdas_rules_are_refused(tmp_path: Path, line: str, expected: str) -> None:
    text = BASE.replace('code = "src"\n', f'code = "src"\n{line}\n')
    if line.startswith("runtime2"):
        text = BASE + line + "\n"
    with pytest.raises(ProjectFileError, match=expected) as info:
        load_project(write(tmp_path, text))
    assert str(tmp_path / "lsim.toml") in str(info.value)


def test_runtime_lsim_cannot_run_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="runtime 'nodejs20.x' is not one lsim runs"):
        load_project(write(tmp_path, BASE.replace("python3.11", "nodejs20.x")))


def test_missing_code_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match=r"functions\.f\.code: folder .*nowhere does not exist"):
        load_project(write(tmp_path, BASE.replace('"src"', '"nowhere"')))


def test_zip_function_needs_handler_runtime_and_code(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="a zip function needs handler"):
        load_project(write(tmp_path, '[functions.f]\nruntime = "python3.11"\ncode = "src"\n'))


def test_image_function_takes_image_only(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, '[functions.img]\nimage = "me/fn:1"\n'))
    assert project.functions["img"].package_type == "Image"
    with pytest.raises(ProjectFileError, match="an image function takes 'image' only"):
        load_project(write(tmp_path, '[functions.img]\nimage = "me/fn:1"\nhandler = "a.b"\n'))


def test_limits_can_be_changed_for_what_if_runs(tmp_path: Path) -> None:
    project = load_project(
        write(tmp_path, "[limits]\nmemory_max_mb = 20000\n" + BASE + "memory_size = 16000\n")
    )
    assert project.limits.memory_max_mb == 20000
    assert project.functions["f"].memory_size == 16000


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="not valid TOML"):
        load_project(write(tmp_path, "[functions.f\n"))


def test_bad_function_name(tmp_path: Path) -> None:
    with pytest.raises(ProjectFileError, match="a function name is 1-64 characters"):
        parse_project({"functions": {"bad name": {"image": "x"}}}, root=tmp_path)


def test_limits_defaults_match_aws() -> None:
    limits = Limits()
    assert limits.sync_payload_bytes == 6 * 1024 * 1024
    assert limits.environment_max_bytes == 4096 and limits.layers_per_function == 5
    assert limits.memory_per_vcpu_mb == 1769 and limits.init_timeout_s == 10
