#!/usr/bin/env python3
"""Minimal JetStream administration over the plain NATS protocol, for
bench/nats.sh (no nats CLI on Debian 12):

  nats_admin.py HOST:PORT stream-create NAME SUBJECT
  nats_admin.py HOST:PORT stream-msgs NAME
  nats_admin.py HOST:PORT backlog STREAM CONSUMER PARTITIONS
      prints num_pending + num_ack_pending summed over CONSUMER-0..N-1
      (-1 while a consumer does not exist yet)
"""
import json
import socket
import sys


def request(addr, subject, payload):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        f = s.makefile("rb")
        f.readline()  # INFO
        body = json.dumps(payload).encode()
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n'
                  b"SUB _INBOX.bench 1\r\n"
                  + f"PUB {subject} _INBOX.bench {len(body)}\r\n".encode() + body + b"\r\n"
                  b"PING\r\n")
        while True:
            line = f.readline()
            if not line:
                raise SystemExit("connection closed")
            if line.startswith(b"MSG "):
                size = int(line.split()[-1])
                data = f.read(size + 2)[:size]
                return json.loads(data)
            if line.startswith(b"-ERR"):
                raise SystemExit(line.decode().strip())


def main():
    addr, cmd = sys.argv[1], sys.argv[2]
    if cmd == "stream-create":
        name, subject = sys.argv[3], sys.argv[4]
        r = request(addr, f"$JS.API.STREAM.CREATE.{name}",
                    {"name": name, "subjects": [subject], "storage": "file",
                     "retention": "limits", "discard": "old", "num_replicas": 1,
                     "duplicate_window": 120_000_000_000})
        if "error" in r:
            raise SystemExit(json.dumps(r["error"]))
    elif cmd == "stream-msgs":
        r = request(addr, f"$JS.API.STREAM.INFO.{sys.argv[3]}", {})
        print(r.get("state", {}).get("messages", -1))
    elif cmd == "backlog":
        stream, consumer, n = sys.argv[3], sys.argv[4], int(sys.argv[5])
        total = 0
        for k in range(n):
            r = request(addr, f"$JS.API.CONSUMER.INFO.{stream}.{consumer}-{k}", {})
            if "error" in r:
                print(-1)
                return
            total += r["num_pending"] + r["num_ack_pending"]
        print(total)
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
