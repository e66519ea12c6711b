"""A function's LoggingConfig: log format, application and system log levels, log group, as Lambda keeps them.

The API's shape (botocore's LoggingConfig) has four optional members; what Lambda answers follows from the
format: with Text there are no level keys, with JSON both levels default to INFO. Levels need JSON: asking
for one with Text is refused. lsim.toml writes the same table in snake_case:
`logging_config = {log_format = "JSON", application_log_level = "DEBUG"}`.
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html
https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

LogFormat = Literal["JSON", "Text"]
ApplicationLogLevel = Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
SystemLogLevel = Literal["DEBUG", "INFO", "WARN"]
LOG_FORMATS = ("JSON", "Text")
APPLICATION_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SYSTEM_LOG_LEVELS = ("DEBUG", "INFO", "WARN")
LOG_GROUP = re.compile(r"[\.\-_/#A-Za-z0-9]{1,512}")  # botocore: LogGroup
#: the API's members and lsim.toml's keys
MEMBERS = {
    "LogFormat": "log_format",
    "ApplicationLogLevel": "application_log_level",
    "SystemLogLevel": "system_log_level",
    "LogGroup": "log_group",
}
#: Lambda's refusal of a level with the Text format, as CloudFormation relayed it (aws-cdk#28045, 2023-11)
LEVELS_NEED_JSON = (
    'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or change the '
    'LogFormat to "Json" and try again.'
)
#: severity, least first: a level sends "the selected level of detail and lower" (the more severe ones)
_APPLICATION_RANK = {name: rank for rank, name in enumerate(APPLICATION_LOG_LEVELS)}
_SYSTEM_RANK = {name: rank for rank, name in enumerate(SYSTEM_LOG_LEVELS)}


class LoggingConfig(BaseModel):
    """What the user set; the effective values (`format`, `application_level`...) apply Lambda's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_format: LogFormat | None = None
    application_log_level: ApplicationLogLevel | None = None
    system_log_level: SystemLogLevel | None = None
    log_group: str | None = None

    @field_validator("log_group")
    @classmethod
    def _log_group(cls, value: str | None) -> str | None:
        if value is not None and not LOG_GROUP.fullmatch(value):
            raise ValueError("a log group name is 1-512 characters of letters, digits and . - _ / #")
        return value

    @model_validator(mode="after")
    def _levels_need_json(self) -> LoggingConfig:
        if self.format == "Text" and (self.application_log_level or self.system_log_level):
            raise ValueError(LEVELS_NEED_JSON)
        return self

    @property
    def format(self) -> LogFormat:
        return self.log_format or "Text"

    @property
    def is_json(self) -> bool:
        return self.format == "JSON"

    @property
    def application_level(self) -> ApplicationLogLevel | None:
        """None with Text: nothing is filtered."""
        return (self.application_log_level or "INFO") if self.is_json else None

    @property
    def system_level(self) -> SystemLogLevel | None:
        return (self.system_log_level or "INFO") if self.is_json else None

    def group(self, function_name: str) -> str:
        return self.log_group or f"/aws/lambda/{function_name}"

    def shape(self, function_name: str) -> dict[str, str]:
        """The API's LoggingConfig, as Lambda answers it."""
        if not self.is_json:
            return {"LogFormat": "Text", "LogGroup": self.group(function_name)}
        return {
            "ApplicationLogLevel": self.application_level or "INFO",
            "LogFormat": "JSON",
            "LogGroup": self.group(function_name),
            "SystemLogLevel": self.system_level or "INFO",
        }

    def updated(self, changes: dict[str, Any]) -> dict[str, Any]:
        """UpdateFunctionConfiguration's LoggingConfig (lsim.toml's keys) over this one: the members given
        replace, the others stay, except that a switch to Text drops the levels (Lambda then shows none)."""
        merged = {**self.model_dump(exclude_none=True), **{k: v for k, v in changes.items() if v is not None}}
        if changes.get("log_format") == "Text":
            for key in ("application_log_level", "system_log_level"):
                if key not in changes or changes[key] is None:
                    merged.pop(key, None)
        return merged

    def application_allows(self, level: str | None) -> bool:
        """Whether a line of the application at `level` reaches the log. A line without a valid level
        counts as INFO (DG: "log messages without a level are assigned the log level INFO")."""
        threshold = self.application_level
        if threshold is None:
            return True
        rank = _APPLICATION_RANK.get(_application_level_name(level), _APPLICATION_RANK["INFO"])
        return rank >= _APPLICATION_RANK[threshold]

    def system_allows(self, level: str) -> bool:
        """Whether a platform event of `level` (DEBUG, INFO, WARN) reaches the log."""
        threshold = self.system_level
        return threshold is None or _SYSTEM_RANK[level] >= _SYSTEM_RANK[threshold]


def _application_level_name(level: str | None) -> str:
    """A log record's level in LoggingConfig's words (Python's WARNING and CRITICAL included)."""
    name = (level or "").upper()
    return {"WARNING": "WARN", "CRITICAL": "FATAL"}.get(name, name)


def from_api(members: dict[str, Any]) -> dict[str, Any]:
    """The API's LoggingConfig members in lsim.toml's keys."""
    return {MEMBERS[key]: value for key, value in members.items() if key in MEMBERS}
