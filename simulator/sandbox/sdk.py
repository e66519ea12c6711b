"""The AWS SDK for Python (boto3, botocore and their dependencies) that every Python runtime includes.

Every Lambda Python runtime ships boto3 and botocore, so code does ``import boto3`` at module level without
bundling it. AWS no longer documents one version per runtime ("The version of the AWS SDK included in the
Python runtime depends on the runtime version and your AWS Region",
https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html#python-sdk-included); lsim pins one recent
release per runtime (``SDK_VERSIONS``), and ``LSIM_BOTO3_VERSION`` picks another.

Where AWS puts it (https://docs.aws.amazon.com/lambda/latest/dg/python-image.html, "Dependency search path"):
python3.11 and later in ``/var/lang/lib/python3.X/site-packages``, python3.10 and earlier in ``/var/runtime``;
both after the function's code and its layers on ``sys.path``, so a function's or a layer's own boto3 wins.

It is installed once per machine from PyPI with pip (``--target``, wheels only, for the runtime's Python
version and platform) into the cache folder, and copied into the runtime image at build time; an image
built once needs neither PyPI nor the cache again.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
from dataclasses import dataclass

from ..errors import RuntimeUnavailableError
from . import rootfs

__all__ = ["SDK_VERSIONS", "Sdk", "sdk_folder", "sdk_for", "sdk_tree"]

#: runtime -> (boto3, botocore): the release lsim installs (PyPI, 2026), the same for every runtime, as AWS
#: updates its runtimes' SDK together
SDK_VERSIONS: dict[str, tuple[str, str]] = {
    runtime: ("1.44.8", "1.44.8") for runtime in ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
}


@dataclass(frozen=True)
class Sdk:
    boto3: str
    botocore: str
    folder: str  # where it goes in the image

    @property
    def key(self) -> str:
        """What identifies it in an image's hash: the versions and the place, not the files (hashing them
        on every lookup would cost a cold start)."""
        return f"boto3=={self.boto3} botocore=={self.botocore} in {self.folder}"


def sdk_folder(runtime: str) -> str:
    """``/var/runtime`` up to python3.10, ``/var/lang/lib/python3.X/site-packages`` from python3.11 on."""
    minor = int(runtime.removeprefix("python3."))
    return "/var/runtime" if minor <= 10 else f"/var/lang/lib/{runtime}/site-packages"


def sdk_for(runtime: str) -> Sdk:
    boto3, botocore = SDK_VERSIONS[runtime]
    override = os.environ.get("LSIM_BOTO3_VERSION", "").strip()
    if override:
        boto3, _, botocore = override.partition(",")
        botocore = botocore or boto3  # boto3 1.X.Y pairs with botocore 1.X.Y since 1.34
    return Sdk(boto3.strip(), botocore.strip(), sdk_folder(runtime))


def sdk_tree(runtime: str, architecture: str = "x86_64", say: rootfs.Progress = rootfs.quiet) -> pathlib.Path:
    """A folder with the runtime's SDK installed (``pip install --target``), from the cache or PyPI."""
    sdk = sdk_for(runtime)
    version = runtime.removeprefix("python")
    target = rootfs.cache_dir() / "sdk" / f"boto3-{sdk.boto3}-botocore-{sdk.botocore}-py{version}"
    if (target / "boto3").is_dir():
        return target
    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[architecture]
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    say(f"lsim: downloading boto3 {sdk.boto3} and botocore {sdk.botocore} for Python {version} from PyPI (once)")
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
        "--no-compile", "--target", str(partial), "--only-binary=:all:", "--implementation", "cp",
        "--python-version", version, "--platform", f"manylinux2014_{machine}",
        f"boto3=={sdk.boto3}", f"botocore=={sdk.botocore}",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as error:
        done = subprocess.CompletedProcess(command, 1, "", str(error))
    if done.returncode != 0 or not (partial / "boto3").is_dir():
        shutil.rmtree(partial, ignore_errors=True)
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise RuntimeUnavailableError(
            f"the {runtime} image includes boto3 {sdk.boto3} and botocore {sdk.botocore}, as Lambda's runtimes "
            f"do, but pip could not install them from PyPI ({' '.join(command[:3])} ...):\n{tail}\n"
            "Connect to PyPI once (lsim keeps them in its cache), or pick a version pip can reach with "
            "LSIM_BOTO3_VERSION=1.X.Y."
        )
    shutil.rmtree(partial / "bin", ignore_errors=True)  # jmespath's jp.py: not part of the runtime
    try:
        partial.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(partial, ignore_errors=True)
    return target
