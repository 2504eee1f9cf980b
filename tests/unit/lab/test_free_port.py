"""`free_port`: a private lab's port comes from below the ephemeral range, so no process that
binds port 0 (a Jupyter kernel, a client connection) can be handed it before the lab binds it."""

from __future__ import annotations

import socket

from labkit.lab.process.manage import PICK_RANGE, free_port


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = open("/proc/sys/net/ipv4/ip_local_port_range").read().split()
        return int(low), int(high)
    except OSError:  # not Linux: the IANA range
        return 49152, 65535


def test_picked_ports_are_free_and_outside_the_ephemeral_range() -> None:
    low, high = ephemeral_range()
    assert PICK_RANGE[1] < low or PICK_RANGE[0] > high
    ports = {free_port() for _ in range(20)}
    assert len(ports) > 1  # picked at random, not one fixed port
    for port in ports:
        assert PICK_RANGE[0] <= port <= PICK_RANGE[1]
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # free: binds


def test_a_taken_port_is_never_picked() -> None:
    taken = []
    try:
        for _ in range(200):  # hold many ports in the range: every pick must avoid them
            s = socket.socket()
            s.bind(("127.0.0.1", free_port()))
            s.listen()
            taken.append(s)
        held = {s.getsockname()[1] for s in taken}
        assert len(held) == 200
        assert all(free_port() not in held for _ in range(50))
    finally:
        for s in taken:
            s.close()
