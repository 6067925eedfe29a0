#!/usr/bin/env python3
"""What relaying one message costs this machine's kernel, whatever the server.

A relay that does nothing but recv() each candidate-sized message (700 bytes) from
one loopback TCP socket and send() it on to another, the least any signaling server
must do per relayed message, with a sender pacing messages at a set rate and a
receiver reading them. Prints the relay's CPU time per message from os.times(), as
user and system time. The system time is the floor under any server's figure from
`scripts/load.sh` on the same machine: on loopback the kernel does the receiving
side's TCP work inside the relay's send(), which is also timed on its own.

    scripts/relay-floor.py [--messages N] [--rate MSG_PER_S]   (rate 0: as fast as it goes)
"""
import argparse
import os
import socket
import threading
import time

MESSAGE = b"x" * 700


def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def relay(from_sender, to_receiver, total_bytes):
    inbound, _ = from_sender.accept()
    outbound, _ = to_receiver.accept()
    for sock in (inbound, outbound):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = os.times()
    relayed = 0
    # The CPU time spent in send() alone, from the thread's own precise clock.
    sending_ns = 0
    while relayed < total_bytes:
        data = inbound.recv(65536)
        if not data:
            break
        before = time.thread_time_ns()
        outbound.sendall(data)
        sending_ns += time.thread_time_ns() - before
        relayed += len(data)
    end = os.times()
    return end.user - start.user, end.system - start.system, sending_ns / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=20_000)
    args = parser.parse_args()
    total = args.messages * len(MESSAGE)
    from_sender, to_receiver = listener(), listener()
    child = os.fork()
    if child == 0:
        user, system, sending = relay(from_sender, to_receiver, total)
        per = 1e6 / args.messages
        rate = f"{args.rate} msg/s" if args.rate else "unpaced"
        print(
            f"relay floor ({rate}, {args.messages} messages of {len(MESSAGE)} bytes): "
            f"{(user + system) * per:.2f} us per message "
            f"({user * per:.2f} us user, {system * per:.2f} us system); "
            f"send() alone {sending * per:.2f} us"
        )
        os._exit(0)
    sender = socket.create_connection(from_sender.getsockname())
    sender.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    receiver = socket.create_connection(to_receiver.getsockname())

    def drain():
        received = 0
        while received < total:
            data = receiver.recv(65536)
            if not data:
                break
            received += len(data)

    reader = threading.Thread(target=drain)
    reader.start()
    start = time.perf_counter()
    for n in range(args.messages):
        if args.rate:
            due = start + n / args.rate
            while time.perf_counter() < due:
                pass
        sender.sendall(MESSAGE)
    reader.join()
    os.waitpid(child, 0)


if __name__ == "__main__":
    main()
