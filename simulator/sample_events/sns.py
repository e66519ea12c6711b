"""An SNS notification delivered to a subscribed function. https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html"""

from __future__ import annotations

from typing import Any

from ._common import Account, random_base64, request_id, token


def notification(
    account: Account,
    *,
    message: str = "Hello from SNS!",
    subject: str | None = "TestInvoke",
    topic_name: str = "my-topic",
    attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    topic = account.arn("sns", topic_name)
    subscription = f"{topic}:{request_id()}"
    endpoint = f"https://sns.{account.region}.amazonaws.com"
    return {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription,
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": account.iso(millis=True),
                    "Signature": random_base64(256),
                    "SigningCertUrl": f"{endpoint}/SimpleNotificationService-{token(32, '0123456789abcdef')}.pem",
                    "MessageId": request_id(),
                    "Message": message,
                    "MessageAttributes": {
                        name: {"Type": "String", "Value": value} for name, value in (attributes or {}).items()
                    },
                    "Type": "Notification",
                    "UnsubscribeUrl": f"{endpoint}/?Action=Unsubscribe&SubscriptionArn={subscription}",
                    "TopicArn": topic,
                    "Subject": subject,
                },
            }
        ]
    }
