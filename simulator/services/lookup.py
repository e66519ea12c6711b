"""Which function and version a request names: a name, `name:qualifier` or an ARN, and a Qualifier.

Every operation resolves its function here, once, with Lambda's rules and Lambda's answers: $LATEST, a
published version (its frozen configuration), or an alias routed by its weights; a reference to another
Region or account is answered as Lambda answers it. No I/O beyond the version registry's SQLite.
"""

from __future__ import annotations

import re

from ..config import FunctionConfig, ProjectConfig
from ..errors import AccessDeniedException, InvalidParameterValueException, ResourceNotFoundException
from ..invocation import LATEST
from ..versions import VersionRegistry

# arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>], or a partial form of it.
FUNCTION_REFERENCE = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:)?(?:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)
# botocore's Qualifier shape: pattern (|[a-zA-Z0-9$_-]+), length 1-128
QUALIFIER = re.compile(r"[a-zA-Z0-9$_-]{1,128}")
# AWS's answer to PutProvisionedConcurrencyConfig on $LATEST
UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."


def qualifier_of(reference: str) -> str | None:
    """The qualifier a function reference carries (`name:live`, an ARN with `:3`), if any."""
    match = FUNCTION_REFERENCE.match(reference)
    return match["qualifier"] if match else None


class FunctionLookup:
    """Resolves function references against the project and its versions and aliases."""

    def __init__(self, project: ProjectConfig, versions: VersionRegistry) -> None:
        self.project = project
        self.versions = versions

    def function(self, name: str) -> FunctionConfig:
        """$LATEST of a function: lsim.toml's, with the configuration updates made since."""
        return self.versions.latest(self.function_name(name))

    def resolve(
        self, reference: str, qualifier: str | None = None, *, route: bool = True
    ) -> tuple[FunctionConfig, str]:
        """(configuration, version) for a name, `name:qualifier` or ARN, and an optional Qualifier: $LATEST,
        a published version (its frozen configuration; `code` is None, the snapshot is mounted instead), or
        an alias, routed by its weights (`route=False`: the alias's own version, as GetFunction reports)."""
        reference = self.function_name(reference)
        match = FUNCTION_REFERENCE.match(reference)
        if match is None:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{reference}' at 'functionName' failed to satisfy "
                "constraint: give a function name (1-64 letters, digits, '-', '_'), name:qualifier or an ARN"
            )
        if qualifier is not None and not QUALIFIER.fullmatch(qualifier):
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+) and have "
                "length 1-128: give $LATEST, a version number or an alias name"
            )
        self._check_home(reference, match)
        if match["qualifier"] and qualifier and match["qualifier"] != qualifier:
            raise InvalidParameterValueException(
                "The derived qualifier from the function name does not match the specified qualifier."
            )
        name = match["name"]
        wanted = qualifier or match["qualifier"] or LATEST
        if wanted == LATEST:
            return self.function(name), LATEST
        if wanted.isdigit():
            return self.versions.version(name, wanted).config, wanted
        alias = self.versions.get_alias(name, wanted)
        version = self.versions.route(alias) if route else alias.function_version
        if version == LATEST:
            return self.function(name), LATEST
        return self.versions.version(name, version).config, version

    def function_name(self, reference: str) -> str:
        """A reference by another name `sam local` finds the function by (a template's logical ID when
        FunctionName names the function, `SubApp/FunctionA`, a CDK id), with its qualifier, as a reference
        by the function's name; any other reference as it is."""
        project = self.project
        if reference in project.functions or reference.startswith("arn:"):
            return reference
        name, colon, qualifier = reference.partition(":")
        names = project.function_ids.get(name)
        if name in project.functions or not names:
            return reference
        if len(names) > 1:
            paths = sorted(k for k, v in project.function_ids.items() if "/" in k and len(v) == 1 and v[0] in names)
            raise ResourceNotFoundException(
                f"Function not found: {project.function_arn(name)} ({name} finds several functions: "
                f"{', '.join(sorted(names))}; give one of their names"
                + (f" or paths: {', '.join(paths)})" if paths else ")")
            )
        return names[0] + colon + qualifier

    def published(self, function_name: str, qualifier: str | None) -> tuple[FunctionConfig, str, str]:
        """(function, version, qualifier) for a published version or alias, as provisioned concurrency
        needs one; $LATEST (or an alias of it) is refused as AWS refuses it."""
        if not qualifier or qualifier == LATEST:
            raise InvalidParameterValueException(UNPUBLISHED)
        function, version = self.resolve(function_name, qualifier, route=False)
        if version == LATEST:
            raise InvalidParameterValueException(UNPUBLISHED)
        return function, version, qualifier

    def _check_home(self, reference: str, match: re.Match[str]) -> None:
        """A reference that names a Region or account names where the function lives: lsim is one account
        in one Region ([settings] of lsim.toml), and answers for the others as Lambda does."""
        settings = self.project.settings
        if match["region"] and match["region"] != settings.region:
            # as Lambda answers GetFunction of a us-east-1 ARN sent to us-east-2 (reported in aws-cli's tracker)
            raise ResourceNotFoundException(
                f"Functions from '{match['region']}' are not reachable in this region ('{settings.region}') "
                f"(lsim simulates {settings.region}, lsim.toml [settings] region: use an ARN of that Region, or "
                "the function's name)"
            )
        if match["account"] and match["account"] != settings.account_id:
            raise AccessDeniedException(
                f"User: arn:aws:iam::{settings.account_id}:root is not authorized to access resource: {reference} "
                f"because no resource-based policy allows it (lsim simulates the account {settings.account_id}, "
                "lsim.toml [settings] account_id: use an ARN of that account, or the function's name)"
            )
