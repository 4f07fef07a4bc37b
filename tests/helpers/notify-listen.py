#!/usr/bin/env python3
# Listens on an AF_UNIX datagram socket like systemd's NOTIFY_SOCKET and appends every message it
# receives to a file, one message per line (newlines inside a message become '|'), until killed.
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    f.write("listening\n")
    while True:
        data = s.recv(4096).decode(errors="replace")
        f.write(data.replace("\n", "|") + "\n")
