"""The AWS credentials an execution environment gets, as Lambda gives a function its role's.

On AWS every environment has AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN: temporary
credentials of the execution role, which the SDKs find by themselves
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
lsim gives either
- local ones (the default): temporary-looking credentials it makes for the function's role, clearly fake
  (an ASIA key id, a session token that says lsim), unknown to AWS and accepted by lsim's own APIs
  (`lsim serve --verify-sigv4` knows them); or
- the developer's own (`[settings] credentials = "developer"`, `--credentials developer`), resolved as
  `sam local` resolves them: a named profile (`--profile`, `[settings] profile`, AWS_PROFILE) of
  ~/.aws/credentials and ~/.aws/config, else the shell's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
  AWS_SESSION_TOKEN, else the default profile; botocore's resolver when it is installed (SSO, assumed
  roles, credential_process), the files alone otherwise.

A secret is never printed: Credentials' repr hides it, and errors name the profile and the file, not keys.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ProjectFileError

#: the variables a function reads its credentials from; Lambda reserves them
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
#: the prefix of every session token lsim makes, so nobody mistakes one for AWS's
LOCAL_TOKEN_PREFIX = "lsim-local-session-token/"
_FIX = (
    "run `aws configure` (or `aws sso login`), set AWS_PROFILE, or use lsim's local credentials (credentials = "
    '"local", the default)'
)
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class Credentials:
    """An access key id, its secret and (for temporary credentials) a session token."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def environment(self) -> dict[str, str]:
        """As the environment variables Lambda sets."""
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


class LocalCredentials:
    """Makes each role's local credentials and remembers them, so that lsim's API can verify what a function
    signs with them. One issuer per simulator: its seed is random, so they change with every run, as
    temporary credentials do."""

    def __init__(self, seed: bytes | None = None) -> None:
        self._seed = seed or secrets.token_bytes(32)
        self._issued: dict[str, Credentials] = {}  # access key id -> credentials

    def for_role(self, role_arn: str) -> Credentials:
        """The role's credentials: the same for every environment of the role during this run. The key id
        has AWS's form for temporary credentials: ASIA and 16 characters of A-Z and 2-7."""
        digest = hmac.new(self._seed, role_arn.encode(), hashlib.sha256).digest()
        key_id = "ASIA" + "".join(_BASE32[b % 32] for b in digest[:16])
        secret = base64.b64encode(hashlib.sha256(digest + b"secret").digest()).decode()[:40]
        token = LOCAL_TOKEN_PREFIX + base64.b64encode(hashlib.sha512(digest + b"token").digest()).decode()
        credentials = Credentials(key_id, secret, token)
        self._issued[key_id] = credentials
        return credentials

    def issued(self, access_key_id: str) -> tuple[str, str | None] | None:
        """The secret and session token of credentials this issuer made (for a SigV4 verifier), or None."""
        found = self._issued.get(access_key_id)
        return (found.secret_access_key, found.session_token) if found is not None else None


def developer_credentials(profile: str | None = None, environ: Mapping[str, str] | None = None) -> Credentials:
    """The developer's credentials, found as SAM CLI finds them (it passes boto3's session credentials).
    Raise ProjectFileError saying where lsim looked when there are none."""
    environ = os.environ if environ is None else environ
    profile = profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")
    found = _from_botocore(profile, environ)
    if found is None:
        found = _from_files(profile, environ)
    if found is None:
        where = (
            f"profile {profile!r} of {_credentials_file(environ)} and {_config_file(environ)}"
            if profile
            else (
                f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, nor the default profile of {_credentials_file(environ)}"
            )
        )
        raise ProjectFileError(f'credentials = "developer": no AWS credentials found ({where}); {_FIX}')
    return found


def _from_botocore(profile: str | None, environ: Mapping[str, str]) -> Credentials | None:
    """botocore's whole resolver chain, when botocore is installed and reads this process's environment."""
    if environ is not os.environ:
        return None
    try:
        import botocore.exceptions
        import botocore.session
    except ImportError:
        return None
    try:
        session = botocore.session.Session(profile=profile)
        resolved = session.get_credentials()
        if resolved is None:
            return None
        frozen = resolved.get_frozen_credentials()
    except botocore.exceptions.BotoCoreError as error:
        raise ProjectFileError(
            f'credentials = "developer": no AWS credentials found (botocore: {error}); {_FIX}'
        ) from None
    if not frozen.access_key or not frozen.secret_key:
        return None
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token or None)


def _from_files(profile: str | None, environ: Mapping[str, str]) -> Credentials | None:
    """The shell's variables (no profile named), else the profile's keys in the credentials file, then in
    the config file (`[profile NAME]`, `[default]`)."""
    if profile is None and environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return Credentials(
            environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"], environ.get("AWS_SESSION_TOKEN") or None
        )
    name = profile or "default"
    for path, section in (
        (_credentials_file(environ), name),
        (_config_file(environ), name if name == "default" else f"profile {name}"),
    ):
        keys = _section(path, section)
        if keys.get("aws_access_key_id") and keys.get("aws_secret_access_key"):
            token = keys.get("aws_session_token") or keys.get("aws_security_token") or None
            return Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"], token)
    return None


def _section(path: Path, name: str) -> dict[str, str]:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, configparser.Error) as error:
        raise ProjectFileError(f"{path}: cannot read it: {type(error).__name__}") from None
    return {k: v.strip() for k, v in parser[name].items()} if parser.has_section(name) else {}


def _credentials_file(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials").expanduser()


def _config_file(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()


class FunctionCredentials:
    """What every environment of a simulator gets: its role's local credentials, or the developer's (resolved
    once, when the first environment is made)."""

    def __init__(self, source: str = "local", profile: str | None = None) -> None:
        self.source = source
        self.profile = profile
        self.local = LocalCredentials()
        self._developer: Credentials | None = None

    def for_role(self, role_arn: str) -> Credentials:
        if self.source != "developer":
            return self.local.for_role(role_arn)
        if self._developer is None:
            self._developer = developer_credentials(self.profile)
        return self._developer

    def issued(self, access_key_id: str) -> tuple[str, str | None] | None:
        """For lsim's API: the secret and session token of local credentials given to a function (the
        developer's are AWS's to check)."""
        return self.local.issued(access_key_id)
