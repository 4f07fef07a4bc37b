#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A hostile client of memguardd's control socket, in raw D-Bus bytes (dbus-python would refuse to
send what these send). For tests/integration/bus-limits.sh.

    wire-client.py SOCKET big N MIB       N connections, each announcing a call of MIB MiB and
                                         sending up to 1 MiB of it; prints, per connection,
                                         "closed" if the daemon hung up, else "open"
    wire-client.py SOCKET flood N SECS   one connection sending N Introspect calls and never reading
                                         the replies, for at most SECS; prints "sent K"
    wire-client.py SOCKET partial SECS   sends 10 bytes of a header and waits up to SECS for the
                                         daemon to hang up; prints "closed" or "open"
    wire-client.py SOCKET call           one ListJobs call, read back; prints "reply"
    wire-client.py SOCKET hold N SECS    N connections held for SECS, saying nothing; prints "holding K"
                                         (K: those the daemon kept)
"""

import os
import socket
import struct
import sys
import time


def pad(buf, n):
    return buf + b"\0" * (-len(buf) % n)


def field_str(code, sig, value):
    # a header field: (byte code, variant) as a struct, 8-aligned in the array
    v = value.encode()
    return pad(struct.pack("<B", code) + b"\x01" + sig.encode() + b"\0", 4) + struct.pack("<I", len(v)) + v + b"\0"


def method_call(serial, member, body_len=0, iface="org.memguard.Manager1"):
    fields = b""
    for f in (field_str(1, "o", "/org/memguard/Manager1"),
              field_str(2, "s", iface),
              field_str(3, "s", member)):
        fields = pad(fields, 8) + f
    head = struct.pack("<cBBBIII", b"l", 1, 0, 1, body_len, serial, len(fields))
    return pad(head + fields, 8)


def connect(path, after_begin=b""):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
    line = b""
    while not line.endswith(b"\r\n"):
        d = s.recv(1)
        if not d:
            raise SystemExit("the daemon hung up during authentication")
        line += d
    if not line.startswith(b"OK "):
        raise SystemExit("authentication refused: %r" % line)
    # What follows BEGIN goes in the same write, so the daemon sees both at once.
    s.sendall(b"BEGIN\r\n" + after_begin)
    return s


def hung_up(s, secs):
    s.settimeout(secs)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def cmd_big(path, n, mib):
    conns = []
    for _ in range(n):
        # The header goes with BEGIN, in one write: the check sees it before sd-bus can.
        s = connect(path, method_call(1, "ListJobs", mib << 20))
        s.settimeout(10)
        try:
            chunk = b"\0" * 65536
            for _ in range(16):   # 1 MiB of the body, minus nothing: the rest never comes
                s.sendall(chunk)
        except OSError:
            pass
        conns.append(s)
    for s in conns:
        print("closed" if hung_up(s, 10) else "open", flush=True)
    # Hold the open ones while the test reads the daemon's memory.
    if os.environ.get("HOLD_FILE"):
        open(os.environ["HOLD_FILE"], "w").close()
        time.sleep(float(os.environ.get("HOLD_SECS", "0")))


def cmd_flood(path, n, secs):
    s = connect(path)
    s.setblocking(False)
    sent, deadline = 0, time.monotonic() + secs
    buf = b""
    while sent < n and time.monotonic() < deadline:
        if not buf:
            # Introspect: a reply of some kilobytes, so replies fill the socket and then the daemon
            buf = method_call(sent + 1, "Introspect", iface="org.freedesktop.DBus.Introspectable")
        try:
            k = s.send(buf)
            buf = buf[k:]
            if not buf:
                sent += 1
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break
    print("sent %d" % sent, flush=True)
    if os.environ.get("HOLD_FILE"):
        open(os.environ["HOLD_FILE"], "w").close()
        time.sleep(float(os.environ.get("HOLD_SECS", "0")))


def cmd_partial(path, secs):
    s = connect(path, method_call(1, "ListJobs")[:10])
    print("closed" if hung_up(s, secs) else "open", flush=True)


def cmd_call(path):
    s = connect(path)
    s.sendall(method_call(1, "ListJobs"))
    s.settimeout(10)
    head = b""
    while len(head) < 16:
        d = s.recv(16 - len(head))
        if not d:
            raise SystemExit("no reply")
        head += d
    print("reply" if head[1] in (2, 3) else "unexpected %r" % head[:2], flush=True)


def cmd_hold(path, n, secs):
    conns = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        conns.append(s)
    time.sleep(0.5)
    kept = 0
    for s in conns:
        s.setblocking(False)
        try:
            kept += s.recv(1) != b""
        except BlockingIOError:
            kept += 1
        except OSError:
            pass
    print("holding %d" % kept, flush=True)
    time.sleep(secs)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "big":
        cmd_big(path, int(args[0]), int(args[1]))
    elif cmd == "flood":
        cmd_flood(path, int(args[0]), float(args[1]))
    elif cmd == "partial":
        cmd_partial(path, float(args[0]))
    elif cmd == "hold":
        cmd_hold(path, int(args[0]), float(args[1]))
    elif cmd == "call":
        cmd_call(path)
    else:
        sys.exit(__doc__)


main()
