"""Queues a project declares, in lsim.toml (`[queues.NAME]`) or in a template (`AWS::SQS::Queue`), checked
when the project is read and created (or brought up to date) when a Simulator starts.

In lsim.toml a key is an attribute's AWS name (VisibilityTimeout) or the same in snake_case
(visibility_timeout); values are TOML's own types. The dead-letter queue is named, not given by ARN:

    [queues.orders]
    visibility_timeout = 60
    redrive_policy = { dead_letter_queue = "orders-dlq", max_receive_count = 3 }
    [queues.orders-dlq]
    message_retention_period = 1209600

Every error names the file and the key, and says what SQS allows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ProjectFileError
from . import validation
from .errors import SqsError
from .models import ATTRIBUTE_NAMES, READ_ONLY, QueueAttributes, RedrivePolicy

if TYPE_CHECKING:
    from .service import QueueService

SETTABLE = tuple(name for name in ATTRIBUTE_NAMES if name not in READ_ONLY)
_SNAKE = {re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(): name for name in SETTABLE}


@dataclass(frozen=True)
class QueueDeclaration:
    """A declared queue: its name, its attributes as the API spells them (string values; RedrivePolicy's
    target as an ARN), its tags, and where it was declared (for errors)."""

    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoQueue", "false").lower() == "true"

    def fingerprint(self) -> str:
        """What the declaration says, to tell at start whether it changed since it was last applied."""
        return json.dumps({"attributes": self.attributes, "tags": self.tags}, sort_keys=True)


def queue_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account_id}:{name}"


def parse_toml_queues(
    tables: Mapping[str, Any], source: str, region: str, account_id: str
) -> dict[str, QueueDeclaration]:
    """`[queues.NAME]` tables into declarations, checked as SQS would check them."""
    declared: dict[str, QueueDeclaration] = {}
    for name, table in tables.items():
        where = f"{source}: queues.{name}"
        if not isinstance(table, Mapping):
            raise ProjectFileError(f"{where} must be a table ([queues.{name}])")
        attributes: dict[str, str] = {}
        tags: dict[str, str] = {}
        for key, value in table.items():
            if key == "tags":
                if not isinstance(value, Mapping):
                    raise ProjectFileError(f"{where}.tags must be a table of tag names to values")
                tags = {str(k): str(v) for k, v in value.items()}
                continue
            aws_name = key if key in SETTABLE else _SNAKE.get(key)
            if aws_name is None:
                raise ProjectFileError(
                    f"{where}.{key}: unknown key: a queue takes SQS's attributes ({', '.join(sorted(_SNAKE))}) and tags"
                )
            if aws_name == "FifoQueue" and value is False:
                continue  # a standard queue: SQS itself refuses FifoQueue=false, a project file need not
            if aws_name == "RedrivePolicy":
                attributes[aws_name] = _toml_redrive(value, f"{where}.{key}", region, account_id)
            else:
                attributes[aws_name] = _text(value)
        declared[name] = QueueDeclaration(name, attributes, tags, f"{where}")
    check(declared)
    return declared


def _toml_redrive(value: Any, where: str, region: str, account_id: str) -> str:
    """`{ dead_letter_queue = "NAME", max_receive_count = 3 }`, or AWS's own JSON (string or table)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping):
        raise ProjectFileError(f'{where}: give {{ dead_letter_queue = "NAME", max_receive_count = 3 }}')
    policy = dict(value)
    if "dead_letter_queue" in policy:
        policy["deadLetterTargetArn"] = queue_arn(region, account_id, str(policy.pop("dead_letter_queue")))
    for snake, camel in (("max_receive_count", "maxReceiveCount"), ("dead_letter_target_arn", "deadLetterTargetArn")):
        if snake in policy:
            policy[camel] = policy.pop(snake)
    unknown = set(policy) - {"deadLetterTargetArn", "maxReceiveCount"}
    if unknown:
        raise ProjectFileError(
            f"{where}.{sorted(unknown)[0]}: unknown key: a redrive policy has dead_letter_queue (a queue's name) "
            "and max_receive_count (1-1000)"
        )
    return json.dumps(policy, separators=(",", ":"))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def check(declared: Mapping[str, QueueDeclaration]) -> None:
    """The rules SQS applies at CreateQueue and SetQueueAttributes, with the declaration's place in the
    error; a dead-letter queue must be one of the project's queues, of the same type."""
    arns: dict[str, QueueDeclaration] = {}
    for declaration in declared.values():
        try:
            validation.check_queue_name(declaration.name, fifo=declaration.fifo)
        except SqsError as error:
            raise ProjectFileError(f"{declaration.source}: queue name {declaration.name!r}: {error.message}") from None
        for key, value in declaration.attributes.items():
            try:
                QueueAttributes.parse({key: value}, fifo=declaration.fifo)
            except SqsError as error:
                raise ProjectFileError(f"{declaration.source}.{key}: {error.message}") from None
        arns[declaration.name] = declaration
    for declaration in declared.values():
        text = declaration.attributes.get("RedrivePolicy")
        if not text:
            continue
        policy = RedrivePolicy.parse(text)
        target = policy.dead_letter_target_arn.rsplit(":", 1)[-1]
        found = arns.get(target)
        if found is None:
            known = ", ".join(sorted(arns)) or "none"
            raise ProjectFileError(
                f"{declaration.source}.RedrivePolicy: the dead-letter queue {target!r} is not declared (the project's "
                f"queues: {known}); declare it too"
            )
        if found.fifo != declaration.fifo:
            kind = "FIFO" if declaration.fifo else "standard"
            raise ProjectFileError(
                f"{declaration.source}.RedrivePolicy: the dead-letter queue of a {kind} queue must be {kind} too "
                f"({target} is not)"
            )


def apply_declarations(service: QueueService, declarations: Sequence[QueueDeclaration]) -> list[str]:
    """Create the project's declared queues that do not exist, and bring up to date those whose
    declaration changed since it was last applied (an attribute left out goes back to SQS's default;
    changes made through the API since stay until the declaration changes). Dead-letter queues are
    created before the redrive policies that name them. Returns what was done, one line each."""
    done: list[str] = []
    applied: dict[str, str | None] = {}
    for declaration in declarations:
        rows = service.store.query("SELECT declared FROM sqs_queues WHERE name = ?", (declaration.name,))
        applied[declaration.name] = rows[0]["declared"] if rows else None
        if not rows:
            without_redrive = {k: v for k, v in declaration.attributes.items() if k != "RedrivePolicy"}
            service.create_queue(declaration.name, without_redrive, declaration.tags)
            done.append(f"created queue {declaration.name}")
    for declaration in declarations:
        fingerprint = declaration.fingerprint()
        if applied[declaration.name] == fingerprint:
            continue
        wanted = QueueAttributes.parse(declaration.attributes, fifo=declaration.fifo).to_wire()
        wanted.pop("FifoQueue", None)
        wanted.setdefault("RedrivePolicy", "")
        for removable in ("Policy", "RedriveAllowPolicy", "KmsMasterKeyId"):
            wanted.setdefault(removable, "")
        service.set_attributes(declaration.name, wanted)
        with service.store.transaction() as db:
            db.execute(
                "UPDATE sqs_queues SET declared = ?, tags = ? WHERE name = ?",
                (fingerprint, json.dumps(declaration.tags), declaration.name),
            )
        if applied[declaration.name] is not None:
            done.append(f"updated queue {declaration.name} as {declaration.source} now declares it")
    return done
