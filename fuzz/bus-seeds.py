#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the seeds of fuzz-bus into the directory given (fuzz/corpus/bus): D-Bus method calls on the
control socket, marshalled here so the seeds do not depend on a client library's choices. Each seed is
what follows the authentication: Hello, then one or more calls of the interface
(docs/org.memguard.Manager1.xml), some with arguments the daemon must refuse.

    fuzz/bus-seeds.py fuzz/corpus/bus
"""

import os
import struct
import sys

PATH = "/org/memguard/Manager1"
IFACE = "org.memguard.Manager1"


class Writer:
    def __init__(self):
        self.b = bytearray()

    def pad(self, n):
        while len(self.b) % n:
            self.b.append(0)

    def put(self, sig, v):
        """One value of a complete type; returns the rest of the signature."""
        c = sig[0]
        fixed = {"y": ("B", 1), "b": ("I", 4), "u": ("I", 4), "i": ("i", 4), "t": ("Q", 8),
                 "x": ("q", 8), "d": ("d", 8), "h": ("I", 4)}
        if c in fixed:
            fmt, n = fixed[c]
            self.pad(n)
            self.b += struct.pack("<" + fmt, v)
            return sig[1:]
        if c in "so":
            s = v.encode()
            self.pad(4)
            self.b += struct.pack("<I", len(s)) + s + b"\0"
            return sig[1:]
        if c == "g":
            s = v.encode()
            self.b += struct.pack("<B", len(s)) + s + b"\0"
            return sig[1:]
        if c == "v":
            vsig, val = v
            self.put("g", vsig)
            self.put(vsig, val)
            return sig[1:]
        if c == "a":
            elem = one_type(sig[1:])
            self.pad(4)
            at = len(self.b)
            self.b += b"\0\0\0\0"
            self.pad(8 if elem[0] in "tdx({" else alignment(elem[0]))
            start = len(self.b)
            for item in v:
                self.put(elem, item)
            struct.pack_into("<I", self.b, at, len(self.b) - start)
            return sig[1 + len(elem):]
        if c in "({":
            inner = one_type(sig)[1:-1]
            self.pad(8)
            for item in v:
                inner = self.put(inner, item)
            return sig[len(one_type(sig)):]
        raise ValueError(sig)


def alignment(c):
    return {"y": 1, "g": 1, "b": 4, "u": 4, "i": 4, "h": 4, "s": 4, "o": 4, "a": 4, "v": 1}.get(c, 8)


def one_type(sig):
    if sig[0] == "a":
        return "a" + one_type(sig[1:])
    if sig[0] in "({":
        close = ")" if sig[0] == "(" else "}"
        depth = 0
        for i, c in enumerate(sig):
            depth += c in "({"
            depth -= c in ")}"
            if depth == 0:
                return sig[:i + 1]
    return sig[0]


serial = 0


def call(member, sig="", args=(), path=PATH, iface=IFACE, fds=0):
    global serial
    serial += 1
    body = Writer()
    rest = sig
    for a in args:
        rest = body.put(rest, a)
    fields = [(1, ("o", path)), (3, ("s", member))]
    if iface:
        fields.append((2, ("s", iface)))
    if sig:
        fields.append((8, ("g", sig)))
    if fds:
        fields.append((9, ("u", fds)))
    h = Writer()
    h.b += struct.pack("<cBBBII", b"l", 1, 0, 1, len(body.b), serial)
    h.put("a(yv)", fields)
    h.pad(8)
    return bytes(h.b + body.b)


def hello():
    return call("Hello", path="/org/freedesktop/DBus", iface="org.freedesktop.DBus")


def limits(d):
    return [(k, v) for k, v in d]


SEEDS = {
    "hello": [],
    "list-jobs": [call("ListJobs")],
    "list-profiles": [call("ListProfiles")],
    "get-job": [call("GetJob", "t", [1])],
    "kill-job": [call("KillJob", "tb", [1, 1])],
    "freeze-thaw": [call("FreezeJob", "t", [7]), call("ThawJob", "t", [7])],
    "set-limit": [call("SetLimit", "tt", [1, 512 << 20])],
    "get-report": [call("GetReport", "ts", [1, "json"]), call("GetReport", "ts", [1, "yaml"])],
    "finish-job": [call("FinishJob", "ti", [1, 0])],
    "reload": [call("Reload")],
    "register-job": [call("RegisterJob", "hassa{sv}",
                          [0, ["python3", "train.py"], "default",
                           limits([("MaxMemory", ("t", 1 << 30)), ("KillThreshold", ("d", 0.9)),
                                   ("WarnAt", ("d", 0.8)), ("GraceUSec", ("t", 10000000)),
                                   ("IntervalUSec", ("t", 100000)), ("LimitExitCode", ("i", 3)),
                                   ("MaxProcessMemory", ("t", 1 << 29))])], fds=1)],
    "register-job-bad-limits": [call("RegisterJob", "hassa{sv}",
                                     [0, ["sh"], "", limits([("KillThreshold", ("d", 2.0)),
                                                             ("MaxMemory", ("s", "1G")), ("Bogus", ("t", 1))])],
                                     fds=1)],
    "register-job-out-of-range": [call("RegisterJob", "hassa{sv}",
                                       [0, ["sh", "-c", "make"], "batch",
                                        limits([("KillThreshold", ("d", 1.5)), ("LimitExitCode", ("i", 0))])],
                                       fds=1)],
    "register-job-no-fd": [call("RegisterJob", "hassa{sv}", [0, [], "", []])],
    "properties": [call("GetAll", "s", [IFACE], iface="org.freedesktop.DBus.Properties"),
                   call("Get", "ss", [IFACE, "DefaultProfile"], iface="org.freedesktop.DBus.Properties")],
    "job-properties": [call("GetAll", "s", ["org.memguard.Job1"], path=PATH + "/job/1",
                            iface="org.freedesktop.DBus.Properties")],
    "introspect": [call("Introspect", path="/", iface="org.freedesktop.DBus.Introspectable"),
                   call("Introspect", path=PATH + "/job", iface="org.freedesktop.DBus.Introspectable")],
    "managed-objects": [call("GetManagedObjects", path=PATH, iface="org.freedesktop.DBus.ObjectManager")],
    "add-match": [call("AddMatch", "s", ["type='signal',interface='org.memguard.Manager1'"],
                       path="/org/freedesktop/DBus", iface="org.freedesktop.DBus")],
    "wrong-signature": [call("GetJob", "s", ["1"]), call("KillJob", "t", [1])],
    "unknown-method": [call("DestroyEverything", "", [], iface=None)],
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, calls in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(hello() + b"".join(calls))


if __name__ == "__main__":
    main()
