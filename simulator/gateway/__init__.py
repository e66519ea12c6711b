"""The HTTP front door, free of any HTTP server: API Gateway's REST and HTTP APIs and Lambda function URLs as
data (models.py), and their wire formats: the events they send a function and how its answer comes back.

    models.py       APIs, routes, authorizers, CORS and function URLs, and the route table (front_door)
    request.py      one HTTP request and one answer, as plain data
    routing.py      which route a method and path reach, by API Gateway's priorities
    events.py       the events: REST (payload 1.0), HTTP APIs (1.0 and 2.0), function URLs
    answers.py      the function's answer mapped back onto HTTP
    responses.py    every answer API Gateway or a function URL gives by itself (errors), in one place
    authorizers.py  Lambda authorizers: identity sources, events, policies, the result cache
    cors.py         preflights and the CORS headers added to answers

Sources are cited by key in the modules' docstrings and comments:
    AGD / AGD23  the API Gateway developer guide (docs.aws.amazon.com/apigateway/latest/developerguide), live
                 or as of its June 2023 GitHub copy (awsdocs/amazon-api-gateway-developer-guide)
    DG23         the Lambda developer guide's Oct 2023 GitHub copy (awsdocs/aws-lambda-developer-guide)
    BC           botocore's service models (apigateway, apigatewayv2, lambda): limits and defaults
    LSAL / LSAC  LocalStack's API Gateway test snapshots recorded against AWS
                 (tests/aws/services/apigateway/test_apigateway_lambda / _common.snapshot.json)
    LSL / LST    LocalStack's Lambda function URL snapshots recorded against AWS, and asserts in those tests
    RR           the Rust runtime's captured request fixtures (awslabs/aws-lambda-rust-runtime lambda-http)
    .NET         events AWS's .NET team captured from API Gateway in April 2025 (aws/aws-lambda-dotnet test
                 snapshots)
What no source confirms is marked "unverified" where it is decided.
"""
