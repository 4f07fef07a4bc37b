#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Talks to memguardd's D-Bus interface the way busctl cannot: with file descriptors, forged
headers, deliberately wrong arguments, raw bytes, and as a signal listener on the peer-to-peer
control socket. For tests/integration/bus.sh and client.sh; needs python3-dbus (and python3-gi for
"listen").

    mgbus.py ADDRESS COMMAND [ARGS...]

ADDRESS is socket:PATH (the control socket, peer to peer) or system (the bus in
$DBUS_SYSTEM_BUS_ADDRESS, or the real one).

Commands:
  register PID [--profile P] [--limit KEY=SIG:VALUE]... [--fd pidfd|devnull] [--argc N]
           [--arg-size BYTES] [-- ARGV...]
        RegisterJob with a pidfd of PID (whoever owns it); prints the job id. --argc/--arg-size
        make an argv of N arguments of BYTES bytes each instead of ARGV (default: the pid).
  spawn [register options] -- COMMAND...
        Starts COMMAND (as whoever runs this, detached, stdio on /dev/null), registers it and
        prints "ID PID"; COMMAND keeps running after this exits.
  call [--interface IFACE] [--path PATH] METHOD [SIGNATURE VALUES...]
        Any method with arguments of basic types (t u i x d s o b); prints the reply. busctl
        cannot show an AccessDenied error's own message (it says "Access denied"); this can.
  forge-sender SENDER ID
        GetJob(ID) with the message's sender header set to SENDER.
  listen SECONDS [--subscribe]
        Prints "listening", then every org.memguard.Manager1 signal as "Member arg...", for SECONDS;
        --subscribe calls Subscribe first.
  own NAME
        Asks the bus for NAME.
  garbage
        Connects and sends bytes that are not D-Bus.
  idle SECONDS
        Connects, says nothing, holds the connection for SECONDS (prints "connected").
  hold N SECONDS
        The same with N connections at once (prints "holding N").
  compare-xml LIVE.xml DOC.xml INTERFACE
        The methods, signals and properties of INTERFACE, with their signatures, are the same in
        both files.

Exit status: 0; 1 when the daemon answered with an error ("ERROR.NAME: message" on stderr);
2 for a usage error.
"""

import os
import socket
import subprocess
import sys
import time

NAME = "org.memguard.Manager1"
PATH = "/org/memguard/Manager1"
IFACE = "org.memguard.Manager1"


def usage(msg):
    sys.stderr.write("mgbus.py: %s\n" % msg)
    sys.exit(2)


def connect(address, mainloop=None):
    import dbus
    import dbus.bus
    import dbus.connection

    if address == "system":
        addr = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/dbus/system_bus_socket")
        conn = dbus.bus.BusConnection(addr, mainloop=mainloop)
        return conn, NAME
    if address.startswith("socket:"):
        conn = dbus.connection.Connection("unix:path=" + address[len("socket:"):], mainloop=mainloop)
        # libdbus says it cannot pass file descriptors until the connection is authenticated.
        conn.call_blocking(None, PATH, "org.freedesktop.DBus.Peer", "Ping", "", ())
        return conn, None
    usage("ADDRESS must be socket:PATH or system")


def fail(e):
    import dbus

    if isinstance(e, dbus.DBusException):
        sys.stderr.write("%s: %s\n" % (e.get_dbus_name(), e.get_dbus_message()))
    else:
        sys.stderr.write("error: %s\n" % e)
    sys.exit(1)


def parse_value(sig, text):
    import dbus

    conv = {
        "t": dbus.UInt64, "u": dbus.UInt32, "i": dbus.Int32, "x": dbus.Int64,
        "d": lambda v: dbus.Double(float(v)), "s": dbus.String, "o": dbus.ObjectPath,
        "b": lambda v: dbus.Boolean(v == "true"),
    }
    if sig not in conv:
        usage("unsupported limit type %r" % sig)
    return conv[sig](text if sig in "sob" else (float(text) if sig == "d" else int(text)))


def register_args(args):
    """Parses the register options; returns (options, rest)."""
    opts = {"profile": "", "limits": [], "fd": "pidfd", "argc": None, "arg_size": 1}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            return opts, args[i + 1:]
        if a in ("--profile", "--limit", "--fd", "--argc", "--arg-size"):
            if i + 1 >= len(args):
                usage("%s needs a value" % a)
            v = args[i + 1]
            if a == "--profile":
                opts["profile"] = v
            elif a == "--limit":
                key, _, rest = v.partition("=")
                sig, _, val = rest.partition(":")
                opts["limits"].append((key, sig, val))
            elif a == "--fd":
                opts["fd"] = v
            elif a == "--argc":
                opts["argc"] = int(v)
            else:
                opts["arg_size"] = int(v)
            i += 2
            continue
        return opts, args[i:]
    return opts, []


def register(conn, dest, pid, opts, argv):
    import dbus

    if opts["fd"] == "pidfd":
        fd = os.pidfd_open(pid)
    else:
        fd = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    if opts["argc"] is not None:
        argv = ["a" * max(opts["arg_size"], 1)] * opts["argc"]
    elif not argv:
        argv = [str(pid)]
    limits = dbus.Dictionary({}, signature="sv")
    for key, sig, val in opts["limits"]:
        limits[key] = dbus.types.Dictionary() if sig == "" else parse_value(sig, val)
    try:
        job_id, _ = conn.call_blocking(dest, PATH, IFACE, "RegisterJob", "hassa{sv}",
                                       (dbus.types.UnixFd(fd), dbus.Array(argv, signature="s"),
                                        opts["profile"], limits), timeout=20)
    finally:
        os.close(fd)
    return int(job_id)


def cmd_register(address, args):
    if not args:
        usage("register needs a PID")
    pid = int(args[0])
    opts, argv = register_args(args[1:])
    conn, dest = connect(address)
    try:
        print(register(conn, dest, pid, opts, argv))
    except Exception as e:  # noqa: BLE001 -- every failure is reported the same way
        fail(e)


def cmd_spawn(address, args):
    opts, command = register_args(args)
    if not command:
        usage("spawn needs a command after --")
    conn, dest = connect(address)
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        job_id = register(conn, dest, child.pid, opts, command)
    except Exception as e:  # noqa: BLE001
        child.kill()
        child.wait()
        fail(e)
    print(job_id, child.pid)
    sys.stdout.flush()
    # The child is detached: it outlives us, reparented to the nearest subreaper.
    os._exit(0)


def cmd_call(address, args):
    iface, path = IFACE, PATH
    while args and args[0] in ("--interface", "--path"):
        if len(args) < 2:
            usage("%s needs a value" % args[0])
        if args[0] == "--interface":
            iface = args[1]
        else:
            path = args[1]
        args = args[2:]
    if not args:
        usage("call needs a METHOD")
    method, sig, values = args[0], (args[1] if len(args) > 1 else ""), args[2:]
    if len(sig) != len(values):
        usage("call: the signature %r needs %d values" % (sig, len(sig)))
    conn, dest = connect(address)
    try:
        reply = conn.call_blocking(dest, path, iface, method, sig,
                                   tuple(parse_value(t, v) for t, v in zip(sig, values)), timeout=20)
    except Exception as e:  # noqa: BLE001
        fail(e)
    print(reply)


def cmd_forge_sender(address, args):
    import dbus
    import dbus.lowlevel

    if len(args) != 2:
        usage("forge-sender needs SENDER ID")
    conn, dest = connect(address)
    msg = dbus.lowlevel.MethodCallMessage(dest, PATH, IFACE, "GetJob")
    msg.append(dbus.UInt64(int(args[1])), signature="t")
    msg.set_sender(args[0])
    try:
        reply = conn.send_message_with_reply_and_block(msg, 10000)
    except Exception as e:  # noqa: BLE001
        fail(e)
    print("User=%s" % reply.get_args_list()[0].get("User"))


def cmd_listen(address, args):
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib

    seconds = float(args[0]) if args else 10
    loop = GLib.MainLoop()
    conn, _ = connect(address, mainloop=DBusGMainLoop())

    def on_signal(*sig_args, **kw):
        words = [kw["member"]] + [str(a) for a in sig_args]
        print(" ".join(words))
        sys.stdout.flush()

    conn.add_signal_receiver(on_signal, dbus_interface=IFACE, path=PATH, member_keyword="member")
    if address == "system":
        # A round trip after AddMatch, so the match is in place before we say so.
        conn.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", "", ())
    if "--subscribe" in args[1:]:
        # The signals with a job's numbers come to subscribers only on the system bus (and need no
        # asking on the socket, where Subscribe changes nothing).
        conn.call_blocking(NAME, PATH, IFACE, "Subscribe", "", ())
    print("listening")
    sys.stdout.flush()
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()


def cmd_own(address, args):
    import dbus.bus

    conn, _ = connect(address)
    try:
        r = conn.request_name(args[0], dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    except Exception as e:  # noqa: BLE001
        fail(e)
    print("request_name: %d" % r)


def unix_connect(address):
    if not address.startswith("socket:"):
        usage("this needs ADDRESS socket:PATH")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(address[len("socket:"):])
    return s


def cmd_garbage(address, args):
    s = unix_connect(address)
    # A NUL, then lines that are no SASL command, then a message header with a crazy length.
    s.sendall(b"\0GARBAGE\r\nAUTH BOGUS\r\n" + b"l\x01\x00\x01\xff\xff\xff\x7f" + os.urandom(256))
    s.settimeout(5)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
    print("sent")


def cmd_idle(address, args):
    s = unix_connect(address)
    print("connected")
    sys.stdout.flush()
    time.sleep(float(args[0]) if args else 10)
    s.close()


def cmd_hold(address, args):
    import resource

    if len(args) != 2:
        usage("hold needs N SECONDS")
    n, seconds = int(args[0]), float(args[1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 32
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            sys.stderr.write("error: %d descriptors needed, the hard limit is %d\n" % (want, hard))
            sys.exit(1)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    held = [unix_connect(address) for _ in range(n)]
    print("holding %d" % len(held))
    sys.stdout.flush()
    time.sleep(seconds)


def members(path, interface):
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    found = set()
    for iface in root.iter("interface"):
        if iface.get("name") != interface:
            continue
        for m in iface:
            if m.tag == "method":
                ins = "".join(a.get("type") for a in m.findall("arg") if a.get("direction", "in") == "in")
                outs = "".join(a.get("type") for a in m.findall("arg") if a.get("direction") == "out")
                found.add("method %s(%s) -> (%s)" % (m.get("name"), ins, outs))
            elif m.tag == "signal":
                found.add("signal %s(%s)" % (m.get("name"), "".join(a.get("type") for a in m.findall("arg"))))
            elif m.tag == "property":
                found.add("property %s %s %s" % (m.get("name"), m.get("type"), m.get("access")))
    return found


def cmd_compare_xml(address, args):
    if len(args) != 3:
        usage("compare-xml needs LIVE.xml DOC.xml INTERFACE")
    live, doc = members(args[0], args[2]), members(args[1], args[2])
    if not live:
        sys.stderr.write("%s: no interface %s\n" % (args[0], args[2]))
        sys.exit(1)
    for m in sorted(live - doc):
        sys.stderr.write("only in the daemon: %s\n" % m)
    for m in sorted(doc - live):
        sys.stderr.write("only in the documentation: %s\n" % m)
    if live != doc:
        sys.exit(1)
    print("%d members match" % len(live))


COMMANDS = {
    "register": cmd_register, "spawn": cmd_spawn, "call": cmd_call, "forge-sender": cmd_forge_sender, "listen": cmd_listen,
    "own": cmd_own, "garbage": cmd_garbage, "idle": cmd_idle, "hold": cmd_hold, "compare-xml": cmd_compare_xml,
}


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in COMMANDS:
        usage("usage: mgbus.py ADDRESS COMMAND [ARGS...] (see the top of this file)")
    COMMANDS[sys.argv[2]](sys.argv[1], sys.argv[3:])


if __name__ == "__main__":
    main()
