"""A TOKEN authorizer: `Authorization: allow-<name>` is allowed, `deny` is denied, anything else is
Unauthorized (401), as API Gateway answers the literal "Unauthorized" error."""


def authorize(event, context):
    token = event["authorizationToken"]
    if token == "deny":
        return _policy("nobody", "Deny", event["methodArn"])
    if not token.startswith("allow-"):
        raise Exception("Unauthorized")
    name = token.removeprefix("allow-")
    policy = _policy(name, "Allow", event["methodArn"])
    policy["context"] = {"role": "admin"}
    return policy


def _policy(principal, effect, resource):
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
