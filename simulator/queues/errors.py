"""The errors of Amazon SQS, one class per error, as the wire protocols name them.

    SqsError                           (LsimError) every error the queue service raises
    ├── QueueDoesNotExist              AWS.SimpleQueueService.NonExistentQueue     400
    ├── QueueNameExists                QueueAlreadyExists                          400
    ├── QueueDeletedRecently           AWS.SimpleQueueService.QueueDeletedRecently 400
    ├── PurgeQueueInProgress           AWS.SimpleQueueService.PurgeQueueInProgress 403
    ├── OverLimit                      OverLimit                                   403
    ├── InvalidParameterValue          InvalidParameterValue                       400
    ├── MissingParameter               MissingParameter                            400
    ├── InvalidAttributeName           InvalidAttributeName                        400
    ├── InvalidAttributeValue          InvalidAttributeValue                       400
    ├── ReceiptHandleIsInvalid         ReceiptHandleIsInvalid                      400
    ├── MessageNotInflight             AWS.SimpleQueueService.MessageNotInflight   400
    ├── InvalidMessageContents         InvalidMessageContents                      400
    ├── TooManyEntriesInBatchRequest   AWS.SimpleQueueService.TooManyEntriesInBatchRequest 400
    ├── EmptyBatchRequest              AWS.SimpleQueueService.EmptyBatchRequest    400
    ├── BatchEntryIdsNotDistinct       AWS.SimpleQueueService.BatchEntryIdsNotDistinct 400
    ├── BatchRequestTooLong            AWS.SimpleQueueService.BatchRequestTooLong  400
    ├── InvalidBatchEntryId            AWS.SimpleQueueService.InvalidBatchEntryId  400
    └── UnsupportedOperation           AWS.SimpleQueueService.UnsupportedOperation 400

`shape` is the error's name in the JSON protocol (`__type` = "com.amazonaws.sqs#" + shape), `query_code`
its code in the query protocol and in the `x-amzn-query-error` header, which is what boto3 shows as
`Error.Code`. Codes and statuses: botocore's SQS models (the last query model, 1.31.80, and the current
JSON one) and responses recorded against AWS (PurgeQueueInProgress is 403 there, 400 in the API
reference). Errors that are not in the model (InvalidParameterValue, MissingParameter) use the `__type`
names AWS sends for them.
The wire only renders these; the domain raises them with AWS's message.
"""

from __future__ import annotations

from ..errors import LsimError

JSON_TYPE_PREFIX = "com.amazonaws.sqs#"


class SqsError(LsimError):
    """An error of the SQS API; `message` is AWS's text for it."""

    shape: str = "InternalError"
    query_code: str = "InternalError"
    status: int = 500
    sender_fault: bool = False

    def __init__(self, message: str, *, query_message: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self._query_message = query_message

    @property
    def json_type(self) -> str:
        """The JSON protocol's `__type`."""
        return JSON_TYPE_PREFIX + self.shape

    @property
    def query_message(self) -> str:
        """The message in the query protocol, where AWS words a few errors differently."""
        return self._query_message or self.message


class _SenderError(SqsError):
    status = 400
    sender_fault = True


class QueueDoesNotExist(_SenderError):
    shape = "QueueDoesNotExist"
    query_code = "AWS.SimpleQueueService.NonExistentQueue"

    def __init__(self, message: str = "The specified queue does not exist.") -> None:
        super().__init__(message, query_message="The specified queue does not exist for this wsdl version.")


class QueueNameExists(_SenderError):
    shape = "QueueNameExists"
    query_code = "QueueAlreadyExists"


class QueueDeletedRecently(_SenderError):
    shape = "QueueDeletedRecently"
    query_code = "AWS.SimpleQueueService.QueueDeletedRecently"


class PurgeQueueInProgress(_SenderError):
    shape = "PurgeQueueInProgress"
    query_code = "AWS.SimpleQueueService.PurgeQueueInProgress"
    status = 403  # recorded against AWS (the API reference says 400)


class OverLimit(_SenderError):
    shape = "OverLimit"
    query_code = "OverLimit"
    status = 403


class InvalidParameterValue(_SenderError):
    shape = "InvalidParameterValueException"
    query_code = "InvalidParameterValue"


class MissingParameter(_SenderError):
    shape = "MissingRequiredParameterException"
    query_code = "MissingParameter"


class InvalidAttributeName(_SenderError):
    shape = "InvalidAttributeName"
    query_code = "InvalidAttributeName"


class InvalidAttributeValue(_SenderError):
    shape = "InvalidAttributeValue"
    query_code = "InvalidAttributeValue"


class ReceiptHandleIsInvalid(_SenderError):
    shape = "ReceiptHandleIsInvalid"
    query_code = "ReceiptHandleIsInvalid"


class MessageNotInflight(_SenderError):
    shape = "MessageNotInflight"
    query_code = "AWS.SimpleQueueService.MessageNotInflight"


class InvalidMessageContents(_SenderError):
    shape = "InvalidMessageContents"
    query_code = "InvalidMessageContents"


class TooManyEntriesInBatchRequest(_SenderError):
    shape = "TooManyEntriesInBatchRequest"
    query_code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


class EmptyBatchRequest(_SenderError):
    shape = "EmptyBatchRequest"
    query_code = "AWS.SimpleQueueService.EmptyBatchRequest"


class BatchEntryIdsNotDistinct(_SenderError):
    shape = "BatchEntryIdsNotDistinct"
    query_code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"


class BatchRequestTooLong(_SenderError):
    shape = "BatchRequestTooLong"
    query_code = "AWS.SimpleQueueService.BatchRequestTooLong"


class InvalidBatchEntryId(_SenderError):
    shape = "InvalidBatchEntryId"
    query_code = "AWS.SimpleQueueService.InvalidBatchEntryId"


class UnsupportedOperation(_SenderError):
    shape = "UnsupportedOperation"
    query_code = "AWS.SimpleQueueService.UnsupportedOperation"
