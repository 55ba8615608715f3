"""Postfix's smtp-sink as the benchmark's SMTP server.

The sequences benchmark measures how fast talentd hands messages to a mail server and what that
costs the API meanwhile. A mail server in production runs on its own host; here it shares two
cores with talentd, so its CPU cost per message shows up as API latency that talentd did not
cause. aiosmtpd (what the integration tests use, for its inspection hooks) spends about 1 ms of
CPU per message in Python, half a core at 500 messages/s. smtp-sink is Postfix's C test server:
one event-driven process, about 75 microseconds of CPU per message here, speaking real ESMTP.
It keeps no messages: with -c it prints its running message count, which a thread here reads
(through a pty, where smtp-sink's output is not held in a buffer) and stamps with the time it
saw each count, giving the arrival times. Its -d option (a file per message) would cost about
1 ms of CPU per message, no better than aiosmtpd.

It runs under SCHED_IDLE: it stands for a mail server on another machine, so it may use only
CPU that talentd leaves idle (nice 10 still let it take a share from requests).

Installed by `make bench` (package postfix, preseeded "No configuration" so no MTA is set up).
"""
import os
import pty
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mailservers import _die_with_parent, _stop_process, free_port, wait_for_count  # noqa: E402

SMTP_SINK = "/usr/sbin/smtp-sink"
MESSAGE_COUNT = re.compile(rb"mesg=(\d+)")  # in its -c records: "sess=3 quit=3 mesg=120\r"


class PostfixSink:
    """smtp-sink on 127.0.0.1 counting accepted messages, at the lowest CPU priority."""

    def __init__(self):
        self.host = "127.0.0.1"
        self.port = None
        self.proc = None
        self._lock = threading.Lock()
        self._times = []  # wall-clock time at which each message was seen counted
        self._seen = 0  # smtp-sink's count when last read
        self._output = b""

    @property
    def url(self):
        return "smtp://%s:%d" % (self.host, self.port)

    def start(self):
        if not os.access(SMTP_SINK, os.X_OK):
            raise RuntimeError("%s is missing: `make bench` installs it (package postfix)" % SMTP_SINK)
        cmd = ["chrt", "--idle", "0", SMTP_SINK, "-c"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]  # smtp-sink will not run as root
        for _ in range(5):  # the free port can be taken between probing and binding
            self.port = free_port()
            leader, follower = pty.openpty()
            self.proc = subprocess.Popen(cmd + ["%s:%d" % (self.host, self.port), "256"], stdout=follower,
                                         stderr=follower, preexec_fn=_die_with_parent)
            os.close(follower)
            threading.Thread(target=self._read_counts, args=(leader,), daemon=True).start()
            if self._wait_listening():
                return self
            self.stop()
        raise RuntimeError("smtp-sink did not start: %r" % self._output[-2000:])

    def _read_counts(self, fd):
        """Reads records like "sess=3 quit=3 mesg=120\r" until smtp-sink exits."""
        pending = b""
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                now = time.time()
                pending += chunk
                records = pending.split(b"\r")
                pending = records.pop()
                counts = [int(m.group(1)) for m in map(MESSAGE_COUNT.search, records) if m]
                with self._lock:
                    self._output = (self._output + chunk)[-4096:]
                    if counts and counts[-1] > self._seen:
                        self._times += [now] * (counts[-1] - self._seen)
                        self._seen = counts[-1]
        except OSError:
            pass  # EIO: the pty closed with the process
        finally:
            os.close(fd)

    def _wait_listening(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    return s.recv(256).startswith(b"220")
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self):
        _stop_process(self.proc)
        self.proc = None

    def count(self):
        with self._lock:
            return len(self._times)

    def clear(self):
        with self._lock:
            self._times = []

    def arrival_times(self):
        """The time (epoch seconds) each message was seen arriving, in order: the same as
        SmtpServer.arrival_times()."""
        with self._lock:
            return list(self._times)

    def wait_for(self, n, timeout=30.0):
        wait_for_count(self.count, n, timeout)
