"""A real SMTP server for the integration tests: Debian's aiosmtpd behind a handler that stores
every accepted message in a directory. Run it with /usr/bin/python3 (the interpreter that has
aiosmtpd); tests/integration/mailservers.py (SmtpServer) starts and stops it.

    /usr/bin/python3 smtp_sink.py --dir DIR [--auth USER:PASSWORD] [--refuse ADDR ...]
                                  [--delay SECONDS]

It binds 127.0.0.1 on a free port and prints "listening on 127.0.0.1:PORT" once it accepts
connections. Message N is stored as DIR/N.eml (the DATA bytes exactly as received, after SMTP
dot-unstuffing) and then DIR/N.json ({"mail_from", "rcpt_tos", "auth_user"}); the .json file
appears last, so a reader that sees it sees the whole message.
"""

import argparse
import asyncio
import itertools
import json
import os
import socket
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword  # noqa: E402


class Sink:
    """aiosmtpd handler: refuses the configured recipients, waits --delay, stores the rest."""

    def __init__(self, directory, refuse, delay):
        self.directory = directory
        self.refuse = {a.lower() for a in refuse}
        self.delay = delay
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        n = next(self.counter)
        base = os.path.join(self.directory, "%06d" % n)
        content = envelope.original_content if envelope.original_content is not None else envelope.content
        with open(base + ".eml.tmp", "wb") as f:
            f.write(content)
        os.rename(base + ".eml.tmp", base + ".eml")
        user = None
        if session.auth_data is not None and isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode("utf-8", "replace")
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "auth_user": user}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 OK queued as %06d" % n


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
    return authenticate


async def serve(args):
    os.makedirs(args.dir, exist_ok=True)
    handler = Sink(args.dir, args.refuse, args.delay)
    kwargs = {"hostname": "sink.test", "data_size_limit": 64 * 1024 * 1024}
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs.update(authenticator=make_authenticator(user, password), auth_required=True,
                      auth_require_tls=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **kwargs), sock=sock)
    print("listening on 127.0.0.1:%d" % sock.getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--auth", help="USER:PASSWORD; when given, AUTH PLAIN/LOGIN is required")
    p.add_argument("--refuse", action="append", default=[], help="recipient answered with 550")
    p.add_argument("--delay", type=float, default=0.0, help="seconds to wait before accepting DATA")
    args = p.parse_args()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
