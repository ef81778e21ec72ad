"""core.comm links against small instruments served in this process by gevent (a line
echo, a silent one, one that answers late, one that hangs up): the reconnect rule, the
lock, per-call timeouts, gevent-friendliness and errors naming device, address, request."""

import socket
import time

import gevent
import gevent.server
import pytest

from blisstango.core.comm import (
    Backoff,
    CommConfigError,
    CommunicationError,
    CommunicationTimeout,
    LinkDown,
    Serial,
    Tcp,
    Udp,
    link_from_config,
)
from blisstango.core.comm.waiting import FAST_REPLY, ReplyClock


class Peer:
    """A TCP instrument in this process: handler(line) -> reply bytes or None (silence)."""

    def __init__(self, handler, eol=b"\n"):
        self.handler, self.eol = handler, eol
        self.connections = 0
        self.server = gevent.server.StreamServer(("127.0.0.1", 0), self._serve)
        self.server.start()
        self.port = self.server.server_port

    def _serve(self, sock, _addr):
        self.connections += 1
        buf = b""
        while True:
            data = sock.recv(4096)
            if not data:
                return
            buf += data
            while self.eol in buf:
                line, buf = buf.split(self.eol, 1)
                reply = self.handler(line)
                if reply == "hangup":
                    sock.close()
                    return
                if reply is not None:
                    sock.sendall(reply)

    def stop(self):
        self.server.stop()


@pytest.fixture
def echo():
    peer = Peer(lambda line: b"echo " + line + b"\n")
    yield peer
    peer.stop()


def tcp(port, **kw):
    kw.setdefault("name", "dev1")
    kw.setdefault("timeout", 0.5)
    return Tcp("127.0.0.1", port, **kw)


def test_request_reply_lines_and_binary_blocks(echo):
    link = tcp(echo.port)
    assert not link.connected  # built without touching the instrument
    assert link.query("?POS 1") == "echo ?POS 1"
    assert link.write_readlines(b"a\nb\n", 2) == [b"echo a", b"echo b"]
    assert link.write_read(b"xyz\n", 5) == b"echo "  # exactly 5 bytes...
    assert link.read(4) == b"xyz\n"  # ...the rest stays for the next read
    link.write(b"c\n")
    assert link.readline() == b"echo c"
    assert link.connections == 1
    link.close()


def test_a_late_reply_is_never_taken_for_the_next_request():
    calls = [0]

    def slow_first(line):
        calls[0] += 1
        if calls[0] == 1:
            gevent.sleep(0.4)
        return b"reply to " + line + b"\n"

    peer = Peer(slow_first)
    link = tcp(peer.port, timeout=0.2, backoff=Backoff(first=0.01))
    with pytest.raises(CommunicationTimeout) as info:
        link.query("first")
    text = str(info.value)
    assert "dev1" in text and f"127.0.0.1:{peer.port}" in text and "'first'" in text and "0.2 s" in text
    gevent.sleep(0.5)  # the late reply to 'first' has arrived by now, on the dropped link
    assert link.query("second") == "reply to second"
    assert link.connections == 2
    peer.stop()


def test_per_call_timeout_overrides_the_link_default():
    peer = Peer(lambda line: (gevent.sleep(0.3), b"ok\n")[1])
    link = tcp(peer.port, timeout=0.1)
    assert link.query("x", timeout=1.0) == "ok"
    with pytest.raises(CommunicationTimeout, match="no answer within 0.1 s"):
        link.query("x")
    peer.stop()


def test_greenlets_never_get_each_others_replies(echo):
    link = tcp(echo.port, timeout=2.0)
    results = {}

    def ask(i):
        results[i] = [link.query(f"q{i}-{k}") for k in range(20)]

    gevent.joinall([gevent.spawn(ask, i) for i in range(10)], raise_error=True)
    for i, replies in results.items():
        assert replies == [f"echo q{i}-{k}" for k in range(20)]


def test_waiting_for_a_reply_lets_other_greenlets_run():
    peer = Peer(lambda line: (gevent.sleep(0.5), b"done\n")[1])
    link = tcp(peer.port, timeout=2.0)
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(1000)])
    assert link.query("slow") == "done"
    ticker.kill()
    assert len(ticks) >= 10  # the ticker ran while the request waited 0.5 s
    peer.stop()


def test_a_reply_is_waited_for_in_the_kernel_only_while_replies_come_fast():
    clock = ReplyClock()
    assert clock.budget() == FAST_REPLY  # a new link: worth a short wait in the kernel
    for _ in range(3):
        clock.observe(0.005)  # a load spike: a few late replies
    assert clock.budget() == FAST_REPLY
    for _ in range(10):
        clock.observe(0.005)  # replies late as a rule: every wait goes to the hub
    assert clock.budget() == 0.0
    for _ in range(10):
        clock.observe(0.00003)
    assert clock.budget() == FAST_REPLY


def test_a_hang_up_drops_the_link_then_the_back_off_then_it_connects_again():
    peer = Peer(lambda line: "hangup" if line == b"bye" else b"ok\n")
    link = tcp(peer.port, backoff=Backoff(first=0.3, longest=1.0))
    assert link.query("hello") == "ok"
    with pytest.raises(CommunicationError, match="closed the connection") as info:
        link.query("bye")
    assert "next attempt in 0.3 s" in str(info.value)
    with pytest.raises(LinkDown, match=r"unreachable \(the device closed the connection\)"):
        link.query("too soon")  # fails at once during the back-off
    time.sleep(0.35)
    assert link.query("hello again") == "ok"
    assert link.connections == 2
    peer.stop()


def test_refused_connection_names_device_address_and_request():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    link = tcp(port, backoff=Backoff(first=0.05))
    t0 = time.monotonic()
    with pytest.raises(CommunicationError) as info:
        link.query("?VER")
    assert time.monotonic() - t0 < 0.4
    text = str(info.value)
    assert text.startswith("dev1: sending '?VER' to tcp 127.0.0.1:") and "cannot connect: connection refused" in text


def test_a_host_that_does_not_answer_times_out_naming_it():
    with socket.socket() as listener:  # accepts connections (the kernel's backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        link = tcp(listener.getsockname()[1], timeout=0.3)
        t0 = time.monotonic()
        with pytest.raises(CommunicationTimeout) as info:
            link.query("*IDN?")
        assert 0.3 <= time.monotonic() - t0 < 2.0
        assert "dev1: sending '*IDN?' to tcp 127.0.0.1:" in str(info.value)
        assert "no answer within 0.3 s" in str(info.value)


def test_on_connect_hook_failure_is_what_callers_get_until_the_next_attempt(echo):
    calls = []

    def check(link):
        calls.append(1)
        raise RuntimeError("dev1: not the instrument expected")

    link = tcp(echo.port, on_connect=check, backoff=Backoff(first=10))
    for _ in range(3):
        with pytest.raises(RuntimeError, match="not the instrument expected"):
            link.query("x")
    assert len(calls) == 1 and not link.connected


def test_udp_datagrams():
    def serve(data, address):
        server.sendto(b"echo " + data, address)

    server = gevent.server.DatagramServer(("127.0.0.1", 0), serve)
    server.start()
    link = Udp("127.0.0.1", server.server_port, name="dev2", timeout=0.5)
    assert link.query("?VER") == "echo ?VER"
    assert link.write_read(b"abc") == b"echo abc"
    server.stop()


def test_config_from_yaml_and_its_errors_name_the_object():
    link = link_from_config({"tcp": {"url": "iceid311:5000", "timeout": 3}}, "ice1", eol=b"\n")
    assert isinstance(link, Tcp) and (link.host, link.port, link.timeout, link.name) == ("iceid311", 5000, 3.0, "ice1")
    assert link_from_config({"tcp": {"url": "host"}}, "x", default_port=5000).port == 5000
    link = link_from_config({"serial": {"url": "/dev/ttyS0", "baudrate": 19200, "parity": "E"}}, "cryo1")
    assert isinstance(link, Serial) and (link.baudrate, link.parity) == (19200, "E")
    assert isinstance(link_from_config({"udp": {"url": "h:5"}}, "u"), Udp)
    cases = [
        ({}, "no communication given"),
        ({"tcp": {"url": "a:1"}, "serial": {"url": "/dev/x"}}, "several communications given (tcp, serial)"),
        ({"tcp": {}}, "`tcp` needs a url"),
        ({"tcp": {"url": "host:http"}}, "port 'http' is not a number"),
        ({"tcp": {"url": "host:70000"}}, "port 70000 is outside 1..65535"),
        ({"tcp": {"url": "host"}}, "has no port"),
        ({"tcp": {"url": "h:1", "timeout": -1}}, "timeout -1 must be above 0 s"),
        ({"serial": {"url": "/dev/ttyS0", "baudrate": "fast"}}, "baudrate 'fast' is not a number"),
        ({"serial": {"url": "/dev/ttyS0", "parity": "X"}}, "parity 'X' is not one of none, even, odd"),
        ({"serial": {"url": "/dev/ttyS0", "bytesize": 9}}, "bytesize 9 is not one of 5, 6, 7, 8"),
        ({"serial": {"url": "/dev/ttyS0", "stopbits": 3}}, "stopbits 3 is not one of 1, 1.5, 2"),
    ]
    for config, message in cases:
        with pytest.raises(CommConfigError) as info:
            link_from_config(config, "obj7")
        assert str(info.value).startswith("obj7: ") and message in str(info.value), str(info.value)


def test_a_serial_port_that_does_not_exist_is_named_and_nothing_stays_open(tmp_path):
    link = Serial(str(tmp_path / "ttyUSB9"), name="cryo1", baudrate=9600, backoff=Backoff(first=0.05))
    with pytest.raises(CommunicationError) as info:
        link.query("*IDN?")
    text = str(info.value)
    assert text.startswith("cryo1: sending '*IDN?' to serial ") and "ttyUSB9" in text
    assert "cannot connect: no such device" in text
    assert not link.connected
