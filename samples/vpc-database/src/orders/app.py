"""Store an order in the database inside the VPC and read it back.

The database's address comes from the environment, as an RDS endpoint would. A connection the security
groups do not allow is dropped, so it times out: keep the client's timeout short, as on Lambda.
"""

import os
import socket

DB_HOST = os.environ["DB_HOST"]
DB_PORT = int(os.environ.get("DB_PORT", "5432"))


def query(connection: socket.socket, command: str) -> str:
    connection.sendall(command.encode() + b"\n")
    return connection.makefile().readline().strip()


def handler(event, context):
    order_id, item = event["order_id"], event["item"]
    try:
        with socket.create_connection((DB_HOST, DB_PORT), timeout=2) as connection:
            query(connection, f"SET order:{order_id} {item}")
            stored = query(connection, f"GET order:{order_id}")
    except TimeoutError:
        # What a Lambda function sees when a security group drops its packets.
        return {"ok": False, "error": f"timed out connecting to {DB_HOST}:{DB_PORT}"}
    return {"ok": True, "order_id": order_id, "stored": stored, "function": context.function_name}
