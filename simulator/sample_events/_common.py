"""What every sample event shares: the account it comes from, fresh ids and AWS's timestamp formats."""

from __future__ import annotations

import base64
import random
import string
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Account:
    """The Region and account an event's ARNs, ids and URLs are made in, and the moment it happens."""

    region: str = "us-east-1"
    account_id: str = "123456789012"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        return "aws-us-gov" if self.region.startswith("us-gov-") else "aws"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )

    @property
    def epoch_ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    def iso(self, *, millis: bool = False) -> str:
        """2024-05-01T12:00:00Z, or with milliseconds (S3, SNS): 2024-05-01T12:00:00.123Z."""
        if millis:
            return self.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.now.microsecond // 1000:03d}Z"
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def clf(self) -> str:
        """API Gateway's requestTime: 01/May/2024:12:00:00 +0000."""
        return self.now.strftime("%d/%b/%Y:%H:%M:%S +0000")


def request_id() -> str:
    return str(uuid.uuid4())


def token(length: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    """Random characters, for ids such as an API id (`a1b2c3d4e5`) or an IAM unique id."""
    chooser = random.SystemRandom()
    return "".join(chooser.choice(alphabet) for _ in range(length))


def digits(length: int) -> str:
    return str(random.SystemRandom().randint(1, 9)) + token(length - 1, string.digits)


def random_base64(size: int) -> str:
    return base64.b64encode(random.SystemRandom().randbytes(size)).decode()


IAM_ID = string.ascii_uppercase + string.digits
