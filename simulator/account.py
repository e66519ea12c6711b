"""The simulated AWS account on this machine: what belongs to an account rather than to one project.

On AWS a layer version belongs to the account and Region that published it, and every function of that
account can use it. lsim keeps such things in a user-level folder, `$LSIM_HOME` (default `~/.lsim`, beside
`~/.aws` and `~/.aws-sam`, where a developer looks for AWS tools' state; one folder also keeps the
databases and the extracted layers on one file system, which merging layers by hard links needs), one
store per account and Region: `$LSIM_HOME/accounts/<account id>/<region>/` (state.db, blobs/). A project's
own state (functions, versions, aliases) stays in the project's `.lsim/`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import Settings
from .store import Store

HOME_ENV = "LSIM_HOME"


def lsim_home() -> Path:
    """lsim's user-level folder: `$LSIM_HOME`, else `~/.lsim`."""
    given = os.environ.get(HOME_ENV)
    return Path(given).expanduser() if given else Path.home() / ".lsim"


def account_folder(settings: Settings) -> Path:
    return lsim_home() / "accounts" / settings.account_id / settings.region


def account_store(settings: Settings) -> Store:
    """The store of the account and Region `settings` name (its layer versions)."""
    return Store(account_folder(settings))
