"""A client that is not on loopback: a network namespace of the test's own, joined to
this machine by a veth pair (198.18.0.0/15, the range set aside for such tests). The
gateway listens on 0.0.0.0 and sees the namespace's address as its client's. Traffic
never leaves this machine.

When namespaces cannot be made (no CAP_NET_ADMIN, no iproute2), the machine's own
non-loopback address is used instead: a client connecting to it from here is seen at
that address. Only a machine with neither is skipped."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


def own_address() -> str | None:
    """A non-loopback IPv4 address of this machine (`hostname -I`; or the source
    address a UDP socket would use: connect() on UDP sends nothing)."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split()
        for a in out:
            if "." in a and not a.startswith("127."):
                return a
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.254", 9))
            a = s.getsockname()[0]
            return None if a.startswith("127.") or a == "0.0.0.0" else a
    except OSError:
        return None


class Peer:
    """Where a non-loopback client runs: `server` is the address it connects to,
    `client` the address the gateway sees; `command(argv)` runs argv there."""

    def __init__(self):
        self.ns: str | None = None
        self.host_if = ""
        tag = f"{os.getpid() % 100000}"
        self.server = self.client = ""
        self.how = ""
        if os.geteuid() == 0 and shutil.which("ip"):
            ns, host_if, peer_if = f"hooptls{tag}", f"hth{tag}", f"htn{tag}"
            net = 18 + (os.getpid() % 2), (os.getpid() >> 1) % 250 + 1
            server, client = f"198.{net[0]}.{net[1]}.1", f"198.{net[0]}.{net[1]}.2"
            steps = [
                ("netns", "add", ns),
                ("link", "add", host_if, "type", "veth", "peer", "name", peer_if),
                ("link", "set", peer_if, "netns", ns),
                ("addr", "add", f"{server}/30", "dev", host_if),
                ("link", "set", host_if, "up"),
                ("-n", ns, "addr", "add", f"{client}/30", "dev", peer_if),
                ("-n", ns, "link", "set", peer_if, "up"),
                ("-n", ns, "link", "set", "lo", "up"),
            ]
            self.ns, self.host_if = ns, host_if
            ok = all(_ip(*s).returncode == 0 for s in steps)
            if ok:
                self.server, self.client, self.how = server, client, f"network namespace {ns}"
                return
            self.close()
        addr = own_address()
        if addr:
            self.server = self.client = addr
            self.how = f"this machine's address {addr}"

    @property
    def available(self) -> bool:
        return bool(self.server)

    def command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv] if self.ns else argv

    def close(self) -> None:
        if self.ns:
            _ip("netns", "del", self.ns)
            _ip("link", "del", self.host_if)     # gone with the namespace, normally
            self.ns = None
