"""Socket filter programs (SEC("socket")) run on a raw packet socket we open:
AF_PACKET with ETH_P_ALL sees every frame in both directions, on one interface
or all. The filter returns 0, so nothing is queued to the socket: it only
exists to run the program."""

from __future__ import annotations

import socket
import struct

ETH_P_ALL = 0x0003
SO_ATTACH_BPF = 50


def attach_socket_filter(prog_fd: int, interface: str | None) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        # Attach before binding, so no frame reaches the socket unfiltered.
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_BPF, struct.pack("i", prog_fd))
        if interface:
            sock.bind((interface, ETH_P_ALL))
    except OSError:
        sock.close()
        raise
    return sock
