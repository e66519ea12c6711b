"""Layers: immutable versions in real SQLite and real blobs, merged at /opt in real containers."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import multiprocessing
import os
import stat
import zipfile
from pathlib import Path

import pytest

from simulator import shapes
from simulator.blocking import BlockingSimulator
from simulator.errors import (
    InvalidParameterValueException,
    RequestTooLargeException,
    ResourceNotFoundException,
)
from simulator.layer_cache import LayerCache
from simulator.layers import LayerRegistry
from simulator.project import parse_project
from simulator.store import Store

from .cli import Ran
from .cli import lsim as run_lsim
from .conftest import REPO


@pytest.fixture(autouse=True)
def _own_account(own_lsim_home: Path) -> Path:
    """These tests count an account's layer versions: each has an account of its own."""
    return own_lsim_home


def make_zip(files: dict[str, bytes | str], *, modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o100644)) << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def project_with(tmp_path: Path, **function: object) -> object:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return e\n")
    table = {"handler": "app.handler", "runtime": "python3.11", "code": "src", **function}
    return parse_project({"functions": {"f": table}}, root=tmp_path)


@pytest.fixture
def registry(tmp_path: Path) -> LayerRegistry:
    return LayerRegistry(Store(tmp_path / ".lsim"), project_with(tmp_path))  # type: ignore[arg-type]


# -- publishing ---------------------------------------------------------------------------------------
def test_publish_returns_what_aws_returns(registry: LayerRegistry) -> None:
    data = make_zip({"python/mod.py": "X = 1\n"})
    layer = registry.publish_layer_version(
        "my-layer", data, description="d", compatible_runtimes=["python3.11"], compatible_architectures=["x86_64"]
    )
    shape = shapes.layer_version(layer)
    assert shape["LayerArn"] == "arn:aws:lambda:us-east-1:123456789012:layer:my-layer"
    assert shape["LayerVersionArn"] == "arn:aws:lambda:us-east-1:123456789012:layer:my-layer:1"
    assert shape["Version"] == 1 and shape["Description"] == "d"
    assert shape["Content"]["CodeSha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert shape["Content"]["CodeSize"] == len(data)
    assert shape["CompatibleRuntimes"] == ["python3.11"] and shape["CompatibleArchitectures"] == ["x86_64"]
    assert shape["CreatedDate"].endswith("+0000")
    assert registry.publish_layer_version("my-layer", data).version == 2


def test_the_same_zip_is_stored_once(registry: LayerRegistry) -> None:
    data = make_zip({"python/a.py": "A = 1\n"})
    for name in ("one", "two", "two"):
        registry.publish_layer_version(name, data)
    blobs = [p for p in registry.store.blobs.rglob("*") if p.is_file()]
    assert len(blobs) == 1


def test_version_numbers_are_never_reused(registry: LayerRegistry) -> None:
    data = make_zip({"python/a.py": "A = 1\n"})
    registry.publish_layer_version("l", data)
    registry.publish_layer_version("l", data)
    registry.delete_layer_version("l", 2)
    assert registry.publish_layer_version("l", data).version == 3
    assert [v.version for v in registry.list_layer_versions("l")] == [3, 1]
    with pytest.raises(ResourceNotFoundException):
        registry.get_layer_version("l", 2)


def _publish_many(folder: str, count: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    registry = LayerRegistry(Store(Path(folder) / ".lsim"), project_with(Path(folder)))  # type: ignore[arg-type]
    queue.put([registry.publish_layer_version("shared", make_zip({"python/x.py": str(os.getpid())})).version
               for _ in range(count)])  # fmt: skip


def test_concurrent_publishes_from_two_processes_never_collide(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_publish_many, args=(str(tmp_path), 15, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    versions = queue.get(timeout=60) + queue.get(timeout=60)
    for worker in workers:
        worker.join(60)
    assert sorted(versions) == list(range(1, 31))


def test_list_layers_shows_the_latest_matching_version(registry: LayerRegistry) -> None:
    registry.publish_layer_version("a", make_zip({"python/a.py": "1"}), compatible_runtimes=["python3.11"])
    registry.publish_layer_version("a", make_zip({"python/a.py": "2"}), compatible_runtimes=["python3.13"])
    registry.publish_layer_version("b", make_zip({"python/b.py": "1"}))
    listed = shapes.list_layers(registry.list_layers())["Layers"]
    assert [(item["LayerName"], item["LatestMatchingVersion"]["Version"]) for item in listed] == [("a", 2), ("b", 1)]
    only_311 = registry.list_layers(compatible_runtime="python3.11")
    assert [(v.layer_name, v.version) for v in only_311] == [("a", 1), ("b", 1)]


# -- bad input ----------------------------------------------------------------------------------------
def test_not_a_zip(registry: LayerRegistry) -> None:
    with pytest.raises(InvalidParameterValueException, match="Could not unzip uploaded file"):
        registry.publish_layer_version("l", b"this is not a zip")


@pytest.mark.parametrize(
    "entry",
    ["../escape.txt", "python/../../escape.txt", "/abs/escape.txt"],
)
def test_entries_that_escape_are_refused_and_nothing_is_written(tmp_path: Path, registry: LayerRegistry, entry: str) -> None:
    with pytest.raises(InvalidParameterValueException, match="outside its folder"):
        registry.publish_layer_version("l", make_zip({entry: "x", "python/ok.py": "y"}))
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()
    assert registry.list_layers() == []


def test_a_zip_with_corrupt_data_is_refused_at_publish(tmp_path: Path) -> None:
    store = Store(tmp_path / ".lsim")
    registry = LayerRegistry(store, project_with(tmp_path), LayerCache(store).extract_package)  # type: ignore[arg-type]
    data = bytearray(make_zip({"python/data.txt": "x" * 5000}))
    data[data.index(b"PK\x01\x02") - 20] ^= 0xFF  # flip a byte of the compressed data: its CRC no longer matches
    with pytest.raises(InvalidParameterValueException, match="Could not unzip uploaded file"):
        registry.publish_layer_version("broken", bytes(data))
    assert registry.list_layers() == []  # nothing recorded


def test_symlink_pointing_outside_is_refused(registry: LayerRegistry) -> None:
    data = make_zip({"python/link": "../../../etc/passwd"}, modes={"python/link": stat.S_IFLNK | 0o777})
    with pytest.raises(InvalidParameterValueException, match="points outside the archive"):
        registry.publish_layer_version("l", data)


def test_zip_over_50_mb_is_refused(registry: LayerRegistry) -> None:
    data = make_zip({"python/big.bin": os.urandom(51 * 1024 * 1024)})
    with pytest.raises(RequestTooLargeException, match="Request must be smaller than 52428800 bytes"):
        registry.publish_layer_version("l", data)


def test_unzipped_over_250_mb_is_refused(registry: LayerRegistry) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("python/zeros", "w") as out:
        for _ in range(251):
            out.write(bytes(1024 * 1024))
    with pytest.raises(InvalidParameterValueException, match="Unzipped size must be smaller than 262144000 bytes"):
        registry.publish_layer_version("l", buffer.getvalue())


@pytest.mark.parametrize("name", ["bad name", "slash/name", "dots.name", ""])
def test_layer_name_outside_the_pattern(registry: LayerRegistry, name: str) -> None:
    with pytest.raises(InvalidParameterValueException, match=r"\[a-zA-Z0-9-_\]\+"):
        registry.publish_layer_version(name, make_zip({"python/a.py": "1"}))


def test_unknown_compatible_runtime_or_architecture(registry: LayerRegistry) -> None:
    with pytest.raises(InvalidParameterValueException, match="compatibleRuntimes"):
        registry.publish_layer_version("l", make_zip({"a": "1"}), compatible_runtimes=["cobol85"])
    with pytest.raises(InvalidParameterValueException, match="compatibleArchitectures"):
        registry.publish_layer_version("l", make_zip({"a": "1"}), compatible_architectures=["sparc"])


# -- attaching ----------------------------------------------------------------------------------------
def attach(tmp_path: Path, registry: LayerRegistry, layers: list[str], **function: object) -> list[str]:
    project = project_with(tmp_path, layers=layers, **function)
    attaching = LayerRegistry(registry.store, project)  # type: ignore[arg-type]
    return [v.arn for v in attaching.resolve_all(project.functions["f"])]  # type: ignore[attr-defined]


def test_attach_by_arn_and_by_name_and_version(tmp_path: Path, registry: LayerRegistry) -> None:
    registry.publish_layer_version("a", make_zip({"python/a.py": "1"}))
    registry.publish_layer_version("b", make_zip({"python/b.py": "1"}))
    arns = attach(tmp_path, registry, ["arn:aws:lambda:us-east-1:123456789012:layer:a:1", "b:1"])
    assert arns == ["arn:aws:lambda:us-east-1:123456789012:layer:a:1", "arn:aws:lambda:us-east-1:123456789012:layer:b:1"]


def test_attaching_an_unknown_version(tmp_path: Path, registry: LayerRegistry) -> None:
    with pytest.raises(InvalidParameterValueException, match=r"Layer version .*:layer:ghost:3 does not exist"):
        attach(tmp_path, registry, ["ghost:3"])


def test_incompatible_runtime_or_architecture_is_refused_at_attach(tmp_path: Path, registry: LayerRegistry) -> None:
    registry.publish_layer_version("only313", make_zip({"a": "1"}), compatible_runtimes=["python3.13"])
    registry.publish_layer_version("onlyarm", make_zip({"a": "2"}), compatible_architectures=["arm64"])
    with pytest.raises(InvalidParameterValueException, match="not compatible with the function's runtime python3.11"):
        attach(tmp_path, registry, ["only313:1"])
    with pytest.raises(InvalidParameterValueException, match="not compatible with the function's architecture x86_64"):
        attach(tmp_path, registry, ["onlyarm:1"])


def test_a_deleted_version_keeps_working_for_functions_already_using_it(tmp_path: Path, registry: LayerRegistry) -> None:
    registry.publish_layer_version("old", make_zip({"python/o.py": "1"}))
    attach(tmp_path, registry, ["old:1"])  # f uses it
    registry.delete_layer_version("old", 1)
    assert attach(tmp_path, registry, ["old:1"]) == ["arn:aws:lambda:us-east-1:123456789012:layer:old:1"]
    newcomer = parse_project(
        {"functions": {"g": {"handler": "app.handler", "runtime": "python3.11", "code": "src", "layers": ["old:1"]}}},
        root=tmp_path,
    )
    with pytest.raises(InvalidParameterValueException, match="cannot be attached anew"):
        LayerRegistry(registry.store, newcomer).resolve_all(newcomer.functions["g"])


def test_more_than_five_layers(tmp_path: Path, registry: LayerRegistry) -> None:
    from simulator.config import FunctionConfig

    function = FunctionConfig.model_construct(name="f", runtime="python3.11", architecture="x86_64", code=None,
                                              layers=[f"l{i}:1" for i in range(6)])  # fmt: skip
    with pytest.raises(InvalidParameterValueException, match="Cannot reference more than 5 layers"):
        registry.resolve_all(function)


def test_function_plus_layers_over_250_mb(tmp_path: Path, registry: LayerRegistry) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("python/zeros", "w") as out:
        for _ in range(200):
            out.write(bytes(1024 * 1024))
    registry.publish_layer_version("big", buffer.getvalue())
    (tmp_path / "src").mkdir(exist_ok=True)
    with open(tmp_path / "src" / "blob.bin", "wb") as f:
        f.truncate(60 * 1024 * 1024)  # sparse: 60 MB that take no disk
    with pytest.raises(InvalidParameterValueException, match="Function code combined with layers exceeds"):
        attach(tmp_path, registry, ["big:1"])


def test_a_local_folder_is_published_when_it_changes(tmp_path: Path, registry: LayerRegistry) -> None:
    folder = tmp_path / "mylayer" / "python"
    folder.mkdir(parents=True)
    (folder / "m.py").write_text("V = 1\n")
    first = attach(tmp_path, registry, ["mylayer"])
    again = attach(tmp_path, registry, ["mylayer"])
    (folder / "m.py").write_text("V = 2\n")
    changed = attach(tmp_path, registry, ["mylayer"])
    assert first == again == ["arn:aws:lambda:us-east-1:123456789012:layer:mylayer:1"]
    assert changed == ["arn:aws:lambda:us-east-1:123456789012:layer:mylayer:2"]


# -- the /opt cache -----------------------------------------------------------------------------------
def test_layers_merge_in_order_later_wins_and_merges_are_reused(registry: LayerRegistry) -> None:
    first = registry.publish_layer_version("first", make_zip({"python/shared.py": "WHO = 'first'\n", "bin/one": "#!/bin/sh\n"},
                                                               modes={"bin/one": 0o100755}))  # fmt: skip
    second = registry.publish_layer_version("second", make_zip({"python/shared.py": "WHO = 'second'\n", "lib/two.so": "x"}))
    cache = LayerCache(registry.store)
    opt = cache.opt_dir([first, second])
    assert opt is not None
    assert (opt / "python" / "shared.py").read_text() == "WHO = 'second'\n"
    assert (opt / "bin" / "one").stat().st_mode & 0o111  # executables stay executable
    assert (opt / "lib" / "two.so").exists()
    reversed_opt = cache.opt_dir([second, first])
    assert reversed_opt is not None and (reversed_opt / "python" / "shared.py").read_text() == "WHO = 'first'\n"
    inode = (opt / "python" / "shared.py").stat().st_ino
    assert cache.opt_dir([first, second]) == opt and (opt / "python" / "shared.py").stat().st_ino == inode
    assert cache.opt_dir([first]) == cache.extract(first)  # one layer: mounted as extracted, no merge


# -- in real execution environments -------------------------------------------------------------------
LAYERED_HANDLER = """
import os, subprocess, shared, sitepkg_mod
def handler(event, context):
    return {
        "shared": shared.WHO,
        "sitepkg": sitepkg_mod.WHERE,
        "tool": subprocess.run(["layer-tool"], capture_output=True, text=True).stdout.strip(),
        "ld": os.environ["LD_LIBRARY_PATH"],
        "opt": sorted(os.listdir("/opt")),
    }
"""


@pytest.mark.docker
def test_function_sees_its_layers_at_opt_as_on_lambda(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(LAYERED_HANDLER)
    (tmp_path / "one.zip").write_bytes(make_zip({
        "python/shared.py": "WHO = 'one'\n",
        "python/lib/python3.11/site-packages/sitepkg_mod.py": "WHERE = 'site-packages'\n",
        "bin/layer-tool": "#!/bin/sh\necho tool from /opt/bin\n",
    }, modes={"bin/layer-tool": 0o100755}))  # fmt: skip
    (tmp_path / "two.zip").write_bytes(make_zip({"python/shared.py": "WHO = 'two'\n"}))
    (tmp_path / "lsim.toml").write_text(
        '[functions.layered]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
        'layers = ["one.zip", "two.zip"]\n'
    )
    from simulator.project import load_project

    with BlockingSimulator(load_project(tmp_path), backend="docker") as lsim:
        result = lsim.invoke("layered")
    assert result.ok, result.body
    assert result.payload["shared"] == "two"  # the later layer wins
    assert result.payload["sitepkg"] == "site-packages"
    assert result.payload["tool"] == "tool from /opt/bin"
    assert result.payload["ld"].endswith(":/opt/lib")
    assert result.payload["opt"] == ["bin", "python"]


@pytest.mark.docker
def test_custom_runtime_from_a_layer() -> None:
    from simulator.project import load_project

    with BlockingSimulator(load_project(REPO / "samples" / "custom-runtime"), backend="docker") as lsim:
        result = lsim.invoke("echo-sh", {"via": "layer"})
    assert result.ok and result.payload["echo"] == {"via": "layer"}


@pytest.mark.docker
def test_sample_layer_built_from_requirements(tmp_path: Path) -> None:
    sample = REPO / "samples" / "layer-requirements"
    built = lsim(sample, "layer", "build", "deps", "--requirements", "requirements.txt")
    assert built.returncode == 0, built.stderr
    done = lsim(sample, "invoke", "when", "--payload", '{"date": "27 Nov 2026 14:30"}')
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["weekday"] == "Friday" and payload["dateutil_from"].startswith("/opt/python/")


# -- the CLI ------------------------------------------------------------------------------------------
def lsim(cwd: Path, *args: str) -> Ran:
    return run_lsim(*args, cwd=cwd)


def test_seed_workflow_from_the_command_line(tmp_path: Path) -> None:
    """mkdir python && pip install X -t python/ && zip -r layer.zip python/ -> publish -> list -> get -> delete."""
    (tmp_path / "lsim.toml").write_text("")
    python = tmp_path / "python"
    python.mkdir()
    (python / "seedmod.py").write_text("VALUE = 42\n")
    with zipfile.ZipFile(tmp_path / "layer.zip", "w") as archive:
        archive.write(python / "seedmod.py", "python/seedmod.py")
    published = lsim(tmp_path, "layer", "publish", "seed", "--zip", "layer.zip", "--compatible-runtimes", "python3.11",
                     "--compatible-runtimes", "python3.13", "--description", "seed layer")  # fmt: skip
    assert published.returncode == 0, published.stderr
    shape = json.loads(published.stdout)
    assert shape["LayerVersionArn"].endswith(":layer:seed:1") and shape["CompatibleRuntimes"] == ["python3.11", "python3.13"]
    assert json.loads(lsim(tmp_path, "layer", "list").stdout)["Layers"][0]["LayerName"] == "seed"
    assert json.loads(lsim(tmp_path, "layer", "get", shape["LayerVersionArn"]).stdout)["Description"] == "seed layer"
    assert json.loads(lsim(tmp_path, "layer", "get", "seed:1").stdout)["Version"] == 1
    assert lsim(tmp_path, "layer", "delete", "seed", "1").returncode == 0
    gone = lsim(tmp_path, "layer", "get", "seed:1")
    assert gone.returncode == 2 and "ResourceNotFoundException" in gone.stderr
    bad = lsim(tmp_path, "layer", "publish", "seed", "--zip", "lsim.toml")
    assert bad.returncode == 2 and "Could not unzip uploaded file" in bad.stderr


def test_layer_build_from_requirements_and_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "lsim.toml").write_text("")
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    built = lsim(tmp_path, "layer", "build", "deps", "--requirements", "requirements.txt", "--python", "3.12")
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(tmp_path / "deps.zip") as archive:
        assert "python/six.py" in archive.namelist()
    (tmp_path / "prepared" / "bin").mkdir(parents=True)
    (tmp_path / "prepared" / "bin" / "tool").write_text("#!/bin/sh\n")
    assert lsim(tmp_path, "layer", "build", "tools", "--from", "prepared").returncode == 0
    with zipfile.ZipFile(tmp_path / "tools.zip") as archive:
        assert archive.namelist() == ["bin/tool"]


def test_layer_build_names_the_package_without_a_wheel(tmp_path: Path) -> None:
    (tmp_path / "lsim.toml").write_text("")
    (tmp_path / "requirements.txt").write_text("docopt==0.6.2\n")  # published as a source archive only
    built = lsim(tmp_path, "layer", "build", "deps", "--requirements", "requirements.txt")
    assert built.returncode == 2
    assert "no wheel of docopt==0.6.2 for manylinux2014_x86_64 and Python 3.11" in built.stderr
