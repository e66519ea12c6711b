"""AWS Signature Version 4 on the server side: the shape of the Authorization header every AWS SDK and
the AWS CLI send (always required: a web page cannot send one without a CORS preflight, which lsim
refuses), and, when `lsim serve --verify-sigv4` asks for it, the signature itself, recomputed with the
canonical request algorithm (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).

Written here rather than imported from botocore: the server must not depend on a client library, and
only the verifying path pays for it. Errors are the ones Lambda's endpoint answers with.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from ..errors import LambdaError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "lambda"
#: the services `lsim serve` answers on its one port: Lambda's API and SQS's (api/sqs.py)
SERVICES = (SERVICE, "sqs")
#: how far a request's X-Amz-Date may be from the server's clock (AWS: 15 minutes)
CLOCK_SKEW = timedelta(minutes=15)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


class MissingAuthenticationTokenException(LambdaError):
    """No Authorization header: what lambda.REGION.amazonaws.com answers an unsigned request
    (403, `X-Amzn-ErrorType: MissingAuthenticationTokenException`, "Missing Authentication Token"; seen
    in brefphp/bref#1250)."""

    type = "MissingAuthenticationTokenException"
    status = 403


class IncompleteSignatureException(LambdaError):
    """An Authorization header that is not SigV4-shaped (Lambda's common errors: IncompleteSignature, 403)."""

    type = "IncompleteSignatureException"
    status = 403


class InvalidSignatureException(LambdaError):
    type = "InvalidSignatureException"
    status = 403


class UnrecognizedClientException(LambdaError):
    """An access key id lsim was not given (Lambda's common errors: UnrecognizedClient, 403)."""

    type = "UnrecognizedClientException"
    status = 403


MISSING_TOKEN = "Missing Authentication Token"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
UNRECOGNIZED_CLIENT = "The security token included in the request is invalid."


@dataclass(frozen=True, slots=True)
class Authorization:
    """A parsed `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=...,
    Signature=...` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse(header: str | None, amz_date: str | None) -> Authorization:
    """The Authorization header, or AWS's error for a missing or malformed one. Cheap: string splits
    only, as it runs on every request."""
    if not header:
        raise MissingAuthenticationTokenException(MISSING_TOKEN)
    algorithm, _, rest = header.partition(" ")
    parts: dict[str, str] = {}
    if algorithm == ALGORITHM:
        for part in rest.split(","):
            name, equals, value = part.strip().partition("=")
            if not equals:
                raise IncompleteSignatureException(
                    f"'{part.strip()}' not a valid key=value pair (missing equal-sign) in Authorization header: "
                    f"'{header}'."
                )
            parts[name] = value
    missing = [f"Authorization header requires '{name}' parameter." for name in
               ("Credential", "Signature", "SignedHeaders") if not parts.get(name)]  # fmt: skip
    if amz_date is None:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        raise IncompleteSignatureException(f"{' '.join(missing)} Authorization={header}")
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not scope[0] or len(scope[1]) != 8:
        raise IncompleteSignatureException(
            f"Credential should be scoped to a valid region, service and date: the Credential "
            f"'{parts['Credential']}' must read ACCESS_KEY_ID/YYYYMMDD/REGION/{SERVICE}/aws4_request"
        )
    if scope[3] not in SERVICES:
        raise InvalidSignatureException(f"Credential should be scoped to correct service: '{SERVICE}'. ")
    return Authorization(
        scope[0], scope[1], scope[2], scope[3], tuple(parts["SignedHeaders"].split(";")), parts["Signature"]
    )


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, and no empty segments: how SDKs normalise the path they sign (not S3)."""
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    normalised = "/" + "/".join(segments)
    if path.endswith("/") and segments:
        normalised += "/"
    return normalised


def canonical_query(raw_query: str) -> str:
    """Pairs decoded, then each name and value encoded with only A-Za-z0-9-_.~ left alone, sorted."""
    if not raw_query:
        return ""
    pairs = []
    for pair in raw_query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, list[str]],
    signed_headers: tuple[str, ...],
    payload_hash: str,
) -> str:
    """The canonical request: method, the path as sent encoded once more, the sorted query, the signed
    headers (values trimmed, runs of spaces made one, repeats joined by commas), their names, the payload
    hash. `headers` maps lower-case names to every value sent."""
    lines = [method.upper(), quote(_remove_dot_segments(raw_path), safe="/~"), canonical_query(raw_query)]
    for name in signed_headers:
        values = headers.get(name, [])
        lines.append(f"{name}:{','.join(' '.join(value.split()) for value in values)}")
    lines.append("")
    lines.append(";".join(signed_headers))
    lines.append(payload_hash)
    return "\n".join(lines)


def string_to_sign(amz_date: str, scope: str, request: str) -> str:
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def _parse_amz_date(value: str) -> datetime | None:
    for layout in ("%Y%m%dT%H%M%SZ", "%a, %d %b %Y %H:%M:%S GMT"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


class Verifier:
    """Checks signatures against the credentials `lsim serve --verify-sigv4` was given (access key id ->
    secret), and the temporary ones `issued` knows (access key id -> (secret, session token): the local
    credentials of the functions' roles, credentials.py), whose session token must come with them, as AWS
    requires of temporary credentials. `check_credentials` runs before the body is read; `verify` once it has
    been."""

    def __init__(
        self, credentials: Mapping[str, str], issued: Callable[[str], tuple[str, str | None] | None] | None = None
    ) -> None:
        self.credentials = dict(credentials)
        self.issued = issued
        self._keys: dict[tuple[str, str, str, str], bytes] = {}

    def secret(self, access_key_id: str) -> str | None:
        """The secret of a key id lsim accepts, or None."""
        secret = self.credentials.get(access_key_id)
        if secret is None and self.issued is not None and (temporary := self.issued(access_key_id)) is not None:
            secret = temporary[0]
        return secret

    def check_credentials(
        self,
        authorization: Authorization,
        amz_date: str,
        now: datetime | None = None,
        security_token: str | None = None,
    ) -> None:
        """Refuse an unknown key id, a temporary one without its session token (X-Amz-Security-Token), a badly
        formed or skewed date, and a signature that leaves out Host."""
        key_id = authorization.access_key_id
        if key_id not in self.credentials:
            temporary = self.issued(key_id) if self.issued is not None else None
            if temporary is None or (temporary[1] is not None and security_token != temporary[1]):
                raise UnrecognizedClientException(UNRECOGNIZED_CLIENT)
        when = _parse_amz_date(amz_date)
        if when is None:
            raise IncompleteSignatureException(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            )
        if "host" not in authorization.signed_headers:
            raise InvalidSignatureException("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        if when.strftime("%Y%m%d") != authorization.date:
            raise InvalidSignatureException(
                f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{authorization.date}' != '{when:%Y%m%d}', from '{amz_date}'."
            )
        now = now or datetime.now(UTC)
        stamp = "%Y%m%dT%H%M%SZ"
        if when < now - CLOCK_SKEW:
            raise InvalidSignatureException(
                f"Signature expired: {when:{stamp}} is now earlier than {now - CLOCK_SKEW:{stamp}} "
                f"({now:{stamp}} - 15 min.)"
            )
        if when > now + CLOCK_SKEW:
            raise InvalidSignatureException(
                f"Signature not yet current: {when:{stamp}} is still later than {now + CLOCK_SKEW:{stamp}} "
                f"({now:{stamp}} + 15 min.)"
            )

    def verify(
        self,
        authorization: Authorization,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Mapping[str, list[str]],
        amz_date: str,
        body: bytes,
    ) -> None:
        """Raise InvalidSignatureException unless the signature is the one the configured secret gives
        for this request, and the body is the one signed."""
        body_hash = hashlib.sha256(body).hexdigest()
        claimed = headers.get("x-amz-content-sha256")
        payload_hash = body_hash
        if claimed:
            payload_hash = claimed[0]
            if payload_hash not in (body_hash, UNSIGNED_PAYLOAD):
                raise InvalidSignatureException(
                    "The provided 'x-amz-content-sha256' header does not match what was computed."
                )
        request = canonical_request(method, raw_path, raw_query, headers, authorization.signed_headers, payload_hash)
        when = _parse_amz_date(amz_date)
        to_sign = string_to_sign(when.strftime("%Y%m%dT%H%M%SZ") if when else amz_date, authorization.scope, request)
        cache = (authorization.access_key_id, authorization.date, authorization.region, authorization.service)
        key = self._keys.get(cache)
        if key is None:
            secret = self.secret(authorization.access_key_id)
            if secret is None:
                raise UnrecognizedClientException(UNRECOGNIZED_CLIENT)
            key = signing_key(secret, authorization.date, authorization.region, authorization.service)
            self._keys[cache] = key
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, authorization.signature):
            raise InvalidSignatureException(
                f"{SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'{request}'\n\n"
                f"The String-to-Sign should have been\n'{to_sign}'\n"
            )
