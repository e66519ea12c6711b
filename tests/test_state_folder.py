"""Where lsim keeps a project's state, seen from the user's repository: `.lsim/` ignores itself in git, and
the pytest fixture's `--lsim-project` reads a relative path as pytest reads its own."""

from __future__ import annotations

import subprocess
from pathlib import Path

from simulator.lifetime import make_state_folder
from simulator.project import load_project
from simulator.store import Store

from .test_fixture import run_pytest, write_function

PROBE = (
    "from pathlib import Path\n\n"
    "def test_project(lsim):\n"
    "    print('PROJECT-ROOT', lsim.project.root.resolve())\n"
)


def test_a_new_state_folder_ignores_itself_in_git(tmp_path: Path) -> None:
    folder = write_function(tmp_path / "repo", "who")
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    store = Store.for_project(load_project(folder).root)
    store.put_blob(b"layer bytes")
    store.query("SELECT 1")
    assert (folder / ".lsim" / ".gitignore").read_text().splitlines()[-1] == "*"
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=folder,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert ".lsim" not in status and "lsim.toml" in status


def test_an_existing_state_folder_is_left_as_it_is(tmp_path: Path) -> None:
    """A user who removed the .gitignore (to commit something there) meant it."""
    (tmp_path / ".lsim").mkdir()
    make_state_folder(tmp_path / ".lsim")
    Store(tmp_path / ".lsim").query("SELECT 1")
    assert not (tmp_path / ".lsim" / ".gitignore").exists()


def _root_seen(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return next(line.split("PROJECT-ROOT ", 1)[1].split()[0] for line in result.stdout.splitlines()
                if "PROJECT-ROOT " in line)  # fmt: skip


def test_a_relative_lsim_project_option_is_relative_to_where_pytest_runs(tmp_path: Path) -> None:
    """pytest's rootdir is the ini file's folder (repo/); started in repo/tests, `--lsim-project ../infra`
    means repo/infra, as a shell would read it."""
    repo = tmp_path / "repo"
    write_function(repo / "infra", "who")
    write_function(repo / "tests" / "infra", "decoy")  # where the rootdir reading would have looked: absent
    (repo / "tests" / "infra" / "lsim.toml").unlink()
    (repo / "pytest.ini").write_text("[pytest]\n")
    (repo / "tests" / "test_probe.py").write_text(PROBE)
    result = run_pytest(repo / "tests", "-s", "--lsim-project", "../infra", "--lsim-backend", "process", "test_probe.py")
    assert _root_seen(result) == str((repo / "infra").resolve())


def test_a_relative_lsim_project_in_the_ini_file_is_relative_to_that_file(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_function(repo / "infra", "who")
    (repo / "tests").mkdir()
    (repo / "pytest.ini").write_text("[pytest]\nlsim_project = infra\nlsim_backend = process\n")
    (repo / "tests" / "test_probe.py").write_text(PROBE)
    result = run_pytest(repo / "tests", "-s", "test_probe.py")
    assert _root_seen(result) == str((repo / "infra").resolve())
