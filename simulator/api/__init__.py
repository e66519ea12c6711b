"""The Lambda HTTP API (`lsim serve`): AWS's REST paths, JSON shapes, status codes and error headers, so
that boto3 and the AWS CLI work unchanged against a local simulator. Split by role, as aiohttp is:

    model.py      what each operation's request carries (botocore's model)
    routes.py     the route table: (method, path) -> operation -> (service, method) + output shape
    requests.py   reading a request: bounded body, typed members, SigV4 header
    responses.py  writing JSON, Invoke's answer and errors
    app.py        the handler that ties them together
    server.py     binding a socket (loopback by default)
    front_door.py API Gateway's routes and function URLs over plain HTTP (the wire rules: simulator/gateway)

Wire format only: every rule of Lambda lives in the Simulator's services.
"""

from .app import LambdaApi, make_app
from .front_door import FrontDoorServer, start_front_door
from .server import DEFAULT_HOST, DEFAULT_PORT, ApiServer

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ApiServer", "FrontDoorServer", "LambdaApi", "make_app", "start_front_door"]
