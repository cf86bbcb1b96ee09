#!/usr/bin/env python3
"""The kernel's cost of one small TCP send on loopback: the floor under `herald serve`'s CPU per
notification.

    python3 bench/sendto_floor.py [--sockets 1000] [--rate 100000] [--seconds 5] [--size 300]

A sender process writes `size`-byte messages to `sockets` loopback TCP connections in turn, at
`rate` messages per second in total (so each connection gets one every sockets/rate seconds,
as each subscriber of bench/fanout.sh does), while a receiver process reads them with epoll.
It prints one JSON line with the sender's *kernel* CPU time per message (its user time is
Python's and is reported apart). That kernel time is what any server pays per notification
when it writes each notification with its own `send`: on loopback it includes the receiver's
TCP receive path and its wake-up, which the kernel runs in the sender's context.
"""

import argparse
import json
import os
import resource
import selectors
import socket
import time


def receiver(listener, sockets, ready_w, done_r):
    conns = []
    for _ in range(sockets):
        conn, _ = listener.accept()
        conn.setblocking(False)
        conns.append(conn)
    sel = selectors.EpollSelector()
    for conn in conns:
        sel.register(conn, selectors.EVENT_READ)
    sel.register(done_r, selectors.EVENT_READ)
    os.write(ready_w, b"r")
    received = 0
    while True:
        for key, _ in sel.select():
            if key.fileobj is done_r:
                os.write(ready_w, received.to_bytes(8, "little"))
                return
            try:
                received += len(key.fileobj.recv(65536))
            except BlockingIOError:
                pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", type=int, default=300)
    args = parser.parse_args()

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(args.sockets)
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    child = os.fork()
    if child == 0:
        receiver(listener, args.sockets, ready_w, done_r)
        os._exit(0)
    senders = []
    for _ in range(args.sockets):
        s = socket.create_connection(listener.getsockname())
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        senders.append(s)
    os.read(ready_r, 1)

    message = b"x" * args.size
    batch = max(1, args.rate // 1000)  # messages per millisecond tick
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()
    sent = 0
    tick = start
    while time.monotonic() - start < args.seconds:
        for _ in range(batch):
            senders[sent % args.sockets].send(message)
            sent += 1
        tick += batch / args.rate
        pause = tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(0.2)
    os.write(done_w, b"d")
    received = int.from_bytes(os.read(ready_r, 8), "little")
    os.waitpid(child, 0)
    print(
        json.dumps(
            {
                "sockets": args.sockets,
                "size": args.size,
                "sent": sent,
                "per_second": round(sent / elapsed),
                "received_bytes_ok": received == sent * args.size,
                "sender_kernel_us_per_send": round((after.ru_stime - before.ru_stime) * 1e6 / sent, 3),
                "sender_user_us_per_send": round((after.ru_utime - before.ru_utime) * 1e6 / sent, 3),
                "loadavg_1m": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()
