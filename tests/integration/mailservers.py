"""Real mail servers for integration tests, started on 127.0.0.1 (free ports) and stopped by the test.

SmtpServer runs Debian's aiosmtpd (through tests/integration/smtp_sink.py, with /usr/bin/python3,
the interpreter that has aiosmtpd) and keeps every accepted message as a file; ImapServer runs
Debian's dovecot with its own configuration, users and maildir in a temporary directory.

    with SmtpServer(auth=("mailer", "s3cret"), refuse=["nobody@example.test"]) as smtp, \\
         ImapServer(user="inbox", password="pw") as imap:
        ... configure talentd with smtp.url, imap.url ...
        msgs = smtp.wait_for(1)              # [email.message.Message] with .mail_from, .rcpt_tos, .raw
        imap.append(b"From: ...\\r\\n\\r\\nreply\\r\\n")

Run this file (`python3 tests/integration/mailservers.py`) for a self-test that starts both,
sends one message with smtplib, appends one with imaplib, reads it back and prints OK.
Works as root (CI): dovecot's login and internal processes then run as dovenull/dovecot and the
mailbox belongs to nobody, because dovecot refuses to run those as root.
"""

import email
import glob
import imaplib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"
DOVECOT = "/usr/sbin/dovecot"


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """Popen preexec_fn: the server gets SIGTERM when the test process dies (a test killed by its
    timeout must not leave servers behind)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def wait_for_count(count, n, timeout):
    """Waits until count() reaches n; raises AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while count() < n:
        if time.monotonic() > deadline:
            raise AssertionError("expected %d messages, SMTP server got %d" % (n, count()))
        time.sleep(0.05)


def _stop_process(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


class SmtpServer:
    """aiosmtpd on 127.0.0.1:port that stores every accepted message.

    auth:   (user, password) -> AUTH PLAIN/LOGIN is offered without TLS and required.
    refuse: recipient addresses answered with "550 5.1.1" at RCPT TO.
    delay:  seconds the server waits before answering each DATA (for burst tests).
    nice:   CPU niceness of the server process (the benchmark runs it at 10 to stand for a mail
            server on another machine: on a 2-core box it would otherwise take a core from talentd).
    """

    def __init__(self, auth=None, refuse=(), delay=0.0, nice=0):
        self.auth = auth
        self.refuse = list(refuse)
        self.delay = delay
        self.nice = nice
        self.host = "127.0.0.1"
        self.port = None
        self.proc = None
        self.dir = None

    @property
    def url(self):
        return "smtp://%s:%d" % (self.host, self.port)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="smtp-sink-")
        cmd = [SYSTEM_PYTHON, os.path.join(HERE, "smtp_sink.py"), "--dir", os.path.join(self.dir, "msgs")]
        if self.auth:
            cmd += ["--auth", "%s:%s" % self.auth]
        for addr in self.refuse:
            cmd += ["--refuse", addr]
        if self.delay:
            cmd += ["--delay", str(self.delay)]
        self.log_path = os.path.join(self.dir, "sink.log")
        if self.nice:
            cmd = ["nice", "-n", str(self.nice)] + cmd
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, preexec_fn=_die_with_parent)
        line = self.proc.stdout.readline().decode()
        if "listening on" not in line:
            _stop_process(self.proc)
            with open(self.log_path, errors="replace") as f:
                raise RuntimeError("smtp sink did not start: %r %s" % (line, f.read()[-2000:]))
        self.port = int(line.strip().rsplit(":", 1)[1])
        return self

    def stop(self):
        _stop_process(self.proc)
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def messages(self):
        """Every message accepted so far, in arrival order: email.message.Message objects with the
        extra attributes mail_from (str), rcpt_tos (list of str), raw (bytes exactly as received
        after dot-unstuffing), auth_user (str or None) and arrived_at (epoch seconds)."""
        out = []
        for meta_path in sorted(glob.glob(os.path.join(self.dir, "msgs", "*.json"))):
            with open(meta_path) as f:
                meta = json.load(f)
            with open(meta_path[:-5] + ".eml", "rb") as f:
                raw = f.read()
            msg = email.message_from_bytes(raw)
            msg.mail_from = meta["mail_from"]
            msg.rcpt_tos = meta["rcpt_tos"]
            msg.auth_user = meta["auth_user"]
            msg.raw = raw
            msg.arrived_at = os.path.getmtime(meta_path)
            out.append(msg)
        return out

    def arrival_times(self):
        """The arrival time (epoch seconds) of every message so far, sorted; cheaper than
        messages() for thousands."""
        return sorted(os.path.getmtime(p) for p in glob.glob(os.path.join(self.dir, "msgs", "*.json")))

    def count(self):
        return len(glob.glob(os.path.join(self.dir, "msgs", "*.json")))

    def wait_for(self, n, timeout=30.0):
        """Waits until at least n messages arrived and returns messages(); raises on timeout."""
        wait_for_count(self.count, n, timeout)
        return self.messages()

    def clear(self):
        """Forgets the messages received so far (numbering continues)."""
        for path in glob.glob(os.path.join(self.dir, "msgs", "*")):
            os.unlink(path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


_DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
instance_name = talentd-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:{base}/mail/%u
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {base}/passwd
}}
service anvil {{
  chroot =
  # No growing delay after failed logins (tests fail logins on purpose).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class ImapServer:
    """dovecot on 127.0.0.1:port with one user (user/password) and a maildir in a temp dir.

    url is imap://127.0.0.1:PORT; append() puts a message into a mailbox with imaplib, so a test
    can simulate replies and DSN bounces; messages() reads a mailbox back."""

    def __init__(self, user="inbox", password="inbox-password"):
        self.user = user
        self.password = password
        self.host = "127.0.0.1"
        self.port = None
        self.proc = None
        self.dir = None

    @property
    def url(self):
        return "imap://%s:%d" % (self.host, self.port)

    def _write_config(self):
        base = self.dir
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        if os.geteuid() == 0:
            # dovecot refuses to run login processes as root and root's UID 0 as a mail user: use
            # its own system users and let "nobody" own the mailbox. They must traverse base_dir.
            os.chmod(base, 0o755)
            internal_user, internal_group, login_user = "dovecot", "dovecot", "dovenull"
            mail = pwd.getpwnam("nobody")
            uid, gid = mail.pw_uid, mail.pw_gid
            os.chown(os.path.join(base, "mail"), uid, gid)
        else:
            me = pwd.getpwuid(os.getuid())
            internal_user = login_user = me.pw_name
            import grp
            internal_group = grp.getgrgid(os.getgid()).gr_name
            uid, gid = os.getuid(), os.getgid()
        with open(os.path.join(base, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s:%d:%d::%s/mail/%s\n" % (self.user, self.password, uid, gid, base, self.user))
        self.conf = os.path.join(base, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(_DOVECOT_CONF.format(base=base, port=self.port, internal_user=internal_user,
                                         internal_group=internal_group, login_user=login_user))

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="dovecot-test-")
        for attempt in range(3):
            self.port = free_port()
            self._write_config()
            with open(os.path.join(self.dir, "stderr.log"), "ab") as err:
                self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdout=err, stderr=err,
                                             preexec_fn=_die_with_parent)
            if self._wait_ready():
                return self
            _stop_process(self.proc)
        log = self.log()
        self.stop()
        raise RuntimeError("dovecot did not start: %s" % log[-3000:])

    def _wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as s:
                    s.settimeout(2)
                    if s.recv(200).startswith(b"* OK"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def log(self):
        text = ""
        for name in ("stderr.log", "dovecot.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def stop(self):
        _stop_process(self.proc)
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def connect(self):
        """A logged-in imaplib.IMAP4 client (the caller logs out)."""
        m = imaplib.IMAP4(self.host, self.port)
        m.login(self.user, self.password)
        return m

    def append(self, raw, mailbox="INBOX", flags=None):
        """Appends raw (bytes, CRLF line ends recommended) to mailbox; returns the new message's UID."""
        m = self.connect()
        try:
            if mailbox.upper() != "INBOX":
                m.create(mailbox)
            typ, data = m.append(mailbox, flags, None, raw)
            if typ != "OK":
                raise RuntimeError("APPEND failed: %r" % data)
            text = data[0].decode() if data and data[0] else ""
            if "APPENDUID" in text:
                return int(text.split("APPENDUID", 1)[1].split()[1].rstrip("]"))
            return None
        finally:
            m.logout()

    def messages(self, mailbox="INBOX"):
        """Every message in mailbox as raw bytes, in UID order (without setting \\Seen)."""
        m = self.connect()
        try:
            m.select(mailbox, readonly=True)
            typ, data = m.uid("SEARCH", None, "ALL")
            out = []
            for uid in data[0].split():
                typ, parts = m.uid("FETCH", uid, "(BODY.PEEK[])")
                out.append(parts[0][1])
            return out
        finally:
            m.logout()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _selftest():
    import smtplib
    with SmtpServer(auth=("mailer", "s3cret"), refuse=["refused@example.test"]) as smtp, \
            ImapServer(user="inbox", password="pw") as imap:
        body = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: hello\r\n\r\nline one\r\n.dot\r\n"
        with smtplib.SMTP(smtp.host, smtp.port) as c:
            c.login("mailer", "s3cret")
            refused = c.sendmail("a@example.test", ["b@example.test", "refused@example.test"], body)
        assert refused == {"refused@example.test": (550, b"5.1.1 <refused@example.test>: Recipient address "
                                                         b"rejected: User unknown")}, refused
        msgs = smtp.wait_for(1)
        assert len(msgs) == 1 and msgs[0].raw == body, msgs[0].raw
        assert msgs[0].mail_from == "a@example.test" and msgs[0].rcpt_tos == ["b@example.test"]
        assert msgs[0]["Subject"] == "hello" and msgs[0].auth_user == "mailer"
        with smtplib.SMTP(smtp.host, smtp.port) as c:
            try:
                c.login("mailer", "wrong")
                raise AssertionError("wrong password accepted")
            except smtplib.SMTPAuthenticationError as e:
                assert e.smtp_code == 535, e
        reply = b"From: b@example.test\r\nSubject: Re: hello\r\nIn-Reply-To: <x@y>\r\n\r\nthanks\r\n"
        uid = imap.append(reply)
        assert uid == 1, uid
        assert imap.messages() == [reply], imap.messages()
        print("OK smtp %s imap %s" % (smtp.url, imap.url))


if __name__ == "__main__":
    _selftest()
