"""A tiny "database" for the sample: a key-value store over TCP, one command per line.

    SET key value  ->  OK
    GET key        ->  the value, or NIL
    PING           ->  PONG

It stands for the RDS instance a real function in a VPC talks to (PostgreSQL is not in lsim's offline
images; with a registry, `image = "postgres:16"` works the same way). Standard library only.
"""

import socketserver

DATA: dict[str, str] = {}


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for raw in self.rfile:
            words = raw.decode().strip().split(" ", 2)
            command = words[0].upper()
            if command == "SET" and len(words) == 3:
                DATA[words[1]] = words[2]
                answer = "OK"
            elif command == "GET" and len(words) == 2:
                answer = DATA.get(words[1], "NIL")
            elif command == "PING":
                answer = "PONG"
            else:
                answer = "ERR unknown command"
            self.wfile.write(answer.encode() + b"\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    print("database listening on port 5432", flush=True)
    Server(("0.0.0.0", 5432), Handler).serve_forever()
