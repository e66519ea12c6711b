"""Hostile zips (hardening item 2): links that each look harmless chain out of the extraction folder,
and a later entry written through them would land beside it. Each zip is refused before anything is
stored or written, through every door: PublishLayerVersion over HTTP, a local layer zip in lsim.toml,
the registry, and the extraction of a blob already stored. No Docker."""

from __future__ import annotations

import io
import json
import os
import stat
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from simulator.archive import extract_zip, inspect_zip
from simulator.blocking import BlockingSimulator
from simulator.errors import InvalidParameterValueException
from simulator.layer_cache import LayerCache
from simulator.layers import LayerRegistry
from simulator.project import load_project, parse_project
from simulator.store import Store

from .test_api import Api, serve, write_project


@pytest.fixture(scope="module", autouse=True)
def _own_account(module_lsim_home: Path) -> Path:
    """These tests count the account's layer versions: the module has an account of its own."""
    return module_lsim_home


LINK = stat.S_IFLNK | 0o777
Entry = tuple[str, str] | tuple[str, str, int]  # (name, content) or (name, content or link target, mode)


def make_zip(*entries: Entry) -> bytes:
    """A zip with exactly these entries, in this order (duplicates too: zipfile only warns)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content, *mode in entries:
                info = zipfile.ZipInfo(name)
                info.external_attr = (mode[0] if mode else (0o040755 if name.endswith("/") else 0o100644)) << 16
                archive.writestr(info, content)
    return buffer.getvalue()


def link(name: str, target: str) -> Entry:
    return (name, target, LINK)


#: zips that write outside their folder on the old code (or would, one step further), each named
ESCAPES: dict[str, bytes] = {
    "chain of two": make_zip(link("a", "."), link("a/b", ".."), ("a/b/escape.txt", "owned")),
    "chain with a link to a link's parent": make_zip(
        link("a", "."), link("a/b", ".."), link("c", "b/.."), ("c/sentinel/escape.txt", "owned")
    ),
    "chain of five": make_zip(
        link("a", "."),
        link("a/b", ".."),
        link("a/b/c", "."),
        link("a/b/c/d", ".."),
        link("a/b/c/d/e", "sentinel"),
        ("a/b/c/d/e/escape.txt", "owned"),
    ),
    "link to a link to a link": make_zip(
        link("x", "y"), link("y", "z"), link("z", "w/.."), link("w", "."), ("x/escape.txt", "owned")
    ),
    "absolute link": make_zip(link("abs", "/tmp"), ("abs/escape.txt", "owned")),
    "target made later": make_zip(link("e", "x/.."), link("x", "."), ("e/sentinel/escape.txt", "owned")),
    "file after a link of the same name": make_zip(
        link("d", "."), link("d/t", "../sentinel/escape.txt"), ("t", "owned")
    ),
    "folder entry through links": make_zip(link("d", "."), link("d/e", ".."), ("d/e/sentinel/made/", "")),
    "dotdot in the name": make_zip(("python/../../sentinel/escape.txt", "owned")),
    "absolute name": make_zip(("/tmp/escape.txt", "owned")),
    "backslashes": make_zip(("..\\sentinel\\escape.txt", "owned")),
    "link over a file": make_zip(("f", "x"), link("f", "../sentinel/escape.txt")),
    "link loop": make_zip(link("l1", "l2"), link("l2", "l1"), ("ok.txt", "fine")),
}


@pytest.fixture
def box(tmp_path: Path) -> Path:
    """Where extractions go (box/x); box/sentinel stands beside them and must stay empty."""
    (tmp_path / "box" / "sentinel").mkdir(parents=True)
    return tmp_path / "box"


def everything(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def assert_nothing_outside(box: Path) -> None:
    assert list((box / "sentinel").iterdir()) == []
    assert not Path("/tmp/escape.txt").exists() and not (box.parent.parent / "escape.txt").exists()


@pytest.mark.parametrize("name", list(ESCAPES))
def test_a_hostile_zip_is_refused_at_publish_and_nothing_is_written(name: str, box: Path, tmp_path: Path) -> None:
    store = Store(box / ".lsim")
    project = parse_project({"functions": {}}, root=box)
    registry = LayerRegistry(store, project, LayerCache(store).extract_package)
    registry.publish_layer_version("kept", make_zip(("python/kept.py", "KEPT = 1\n")))
    before = everything(tmp_path)
    with pytest.raises(InvalidParameterValueException) as refused:
        registry.publish_layer_version("hostile", ESCAPES[name])
    assert "hostile" in str(refused.value) or "Could not unzip" in str(refused.value)
    assert everything(tmp_path) == before  # no blob, no extraction, nothing beside it
    assert_nothing_outside(box)
    assert [layer.layer_name for layer in registry.list_layers()] == ["kept"]  # what was stored stays


@pytest.mark.parametrize("name", list(ESCAPES))
def test_extracting_a_hostile_blob_writes_nothing_anywhere(name: str, box: Path, tmp_path: Path) -> None:
    """A blob stored before the check existed is checked again when it is extracted."""
    blob = tmp_path / "blob.zip"
    blob.write_bytes(ESCAPES[name])
    before = everything(tmp_path)
    with pytest.raises(InvalidParameterValueException):
        extract_zip(blob, box / "x")
    assert everything(tmp_path) == before
    assert_nothing_outside(box)


def test_links_and_folders_that_stay_inside_still_extract(box: Path) -> None:
    data = make_zip(
        ("python/", ""),
        ("python/lib/", ""),
        ("python/lib/libfoo.so.1", "ELF"),
        link("python/lib/libfoo.so", "libfoo.so.1"),
        link("python/lib64", "lib"),
        link("bin", "python/lib/../lib"),
        ("python/mod.py", "X = 1\n"),
        ("python/mod.py", "X = 2\n"),  # a later file of the same name wins, as unzip -o does
        ("./python/./dot.py", "D = 1\n"),
    )
    assert inspect_zip(data).files == 9
    source = box / "ok.zip"
    source.write_bytes(data)
    extract_zip(source, box / "x")
    x = box / "x"
    assert (x / "python/lib64").resolve() == (x / "python/lib").resolve()
    assert (x / "python/lib/libfoo.so").read_text() == "ELF"
    assert (x / "python/mod.py").read_text() == "X = 2\n" and (x / "python/dot.py").is_file()


def test_special_modes_become_plain_files(box: Path) -> None:
    """A device node or setuid bit in a zip's mode never reaches the disk: plain files, no setuid."""
    source = box / "modes.zip"
    source.write_bytes(make_zip(("dev", "x", stat.S_IFCHR | 0o666), ("suid", "x", stat.S_IFREG | 0o4755)))
    extract_zip(source, box / "x")
    for name in ("dev", "suid"):
        mode = os.lstat(box / "x" / name).st_mode
        assert stat.S_ISREG(mode) and not mode & (stat.S_ISUID | stat.S_ISGID)


def test_a_zip_with_a_link_then_a_file_of_the_same_name_keeps_no_half_extraction(box: Path) -> None:
    """On the old code this zip lost its extraction silently (a FileExistsError taken for a race)."""
    source = box / "dup.zip"
    source.write_bytes(make_zip(("f", "x"), link("f", "elsewhere")))
    with pytest.raises(InvalidParameterValueException, match="same path as an earlier file"):
        extract_zip(source, box / "x")
    assert sorted(p.name for p in box.iterdir()) == ["dup.zip", "sentinel"]  # no extraction, no staging left


def test_a_local_layer_zip_in_lsim_toml_is_checked_the_same_way(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "sentinel").mkdir()
    (project / "src" / "app.py").write_text("def handler(e, c):\n    return e\n")
    (project / "evil.zip").write_bytes(ESCAPES["chain with a link to a link's parent"])
    (project / "lsim.toml").write_text(
        '[functions.f]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\nlayers = ["evil.zip"]\n'
    )
    lsim = BlockingSimulator(load_project(project), backend="process")
    try:
        with pytest.raises(InvalidParameterValueException, match="symbolic link"):
            lsim.simulator.layers.registry.resolve_all(lsim.simulator.function("f"))
    finally:
        lsim.close()
    assert list((project / "sentinel").iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = write_project(tmp_path_factory.mktemp("hardening-archive"))
    (folder / ".lsim" / "sentinel").mkdir(parents=True)
    yield from serve(folder, "process")


@pytest.mark.parametrize("name", ["chain of two", "target made later", "file after a link of the same name"])
def test_publish_layer_version_over_http_refuses_hostile_zips(api: Api, name: str) -> None:
    """The door the issue names: `lsim serve`, no credentials, boto3."""
    lsim_folder = api.lsim.simulator.store.folder
    before = everything(lsim_folder.parent)
    with pytest.raises(ClientError) as refused:
        api.client().publish_layer_version(LayerName="hostile", Content={"ZipFile": ESCAPES[name]})
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert "symbolic link" in error["Error"]["Message"] or "outside" in error["Error"]["Message"]
    assert list((lsim_folder / "sentinel").iterdir()) == []
    assert everything(lsim_folder.parent) == before
    assert json.loads(json.dumps(api.client().list_layers()["Layers"])) == []
