#!/usr/bin/env python3
"""pyledger: a small payments ledger over gRPC, guarded by short-lived JWTs.

This is a TEST TARGET for jitbench: a service in another language, with its own
conventions, that jitbench's external scenarios must handle without knowing
it. It is never an example of secure code (no TLS, no rate limits, revocations
kept in memory, a stub ledger).

Conventions, as its own team would document them:
  * one credential: a JWT in the `x-ledger-token` header, bare (no scheme);
  * ES256 only, checked with PyJWT against the PEM public key --public-key;
    `aud` must be --audience, `iss` must be --issuer, with --leeway seconds of
    clock tolerance; `exp`, `iat` and `sub` are required, and a token may live
    no longer than --max-lifetime seconds (exp - iat);
  * permissions are a list of strings in the `perms` claim (PERMS below);
  * refusals: no token -> UNAUTHENTICATED "missing credentials"; a token PyJWT
    rejects -> UNAUTHENTICATED with PyJWT's own message; a missing permission
    or a revoked token -> PERMISSION_DENIED;
  * revocation: POST /tokens/<jti>/revoke on a plain HTTP port (--revoke-listen).

Requests and replies are raw protobuf bytes (no generated stubs): every request
is ignored, a reply is field 1 as a varint (a balance, an entry id).

Once serving it prints one JSON line on stdout, {"addr": ..., "revoke_url": ...},
and it stops on SIGTERM, SIGINT or when its stdin closes.
"""

import argparse
import http.server
import json
import re
import signal
import sys
import threading
from concurrent import futures

import grpc
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

SERVICE = "ledger.v2.Ledger"
TOKEN_HEADER = "x-ledger-token"
# The permission each protected method needs; Ping needs none.
PERMS = {
    "GetBalance": "ledger:balance:read",
    "StreamEntries": "ledger:entries:read",
}
JTI = re.compile(r"^[A-Za-z0-9._~-]{1,128}$")


def varint_field1(n):
    """Encodes a message whose field 1 is the varint n (a non-negative int)."""
    out = bytearray(b"\x08")
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Guard:
    """Checks the one token of a call against the service's rules."""

    def __init__(self, args):
        with open(args.public_key, "rb") as f:
            self.key = load_pem_public_key(f.read())
        self.audience = args.audience
        self.issuer = args.issuer
        self.leeway = args.leeway
        self.max_lifetime = args.max_lifetime
        self.revoked = set()
        self.lock = threading.Lock()

    def revoke(self, jti):
        with self.lock:
            self.revoked.add(jti)

    def check(self, context, method):
        tokens = [v for k, v in context.invocation_metadata() if k == TOKEN_HEADER]
        if not tokens:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing credentials")
        if len(tokens) > 1:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "more than one x-ledger-token")
        try:
            claims = jwt.decode(
                tokens[0],
                self.key,
                algorithms=["ES256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.InvalidTokenError as e:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(e))
        except (TypeError, ValueError, OverflowError):
            # PyJWT lets some wrongly typed claims through to a comparison.
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "malformed token claims")
        exp, iat = claims["exp"], claims["iat"]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (exp, iat)):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "exp and iat must be integers")
        if exp - iat > self.max_lifetime:
            context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                f"token lifetime {exp - iat}s exceeds the {self.max_lifetime}s maximum",
            )
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "sub must be a non-empty string")
        with self.lock:
            revoked = claims.get("jti") in self.revoked
        if revoked:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "token revoked")
        perms = claims.get("perms")
        if not isinstance(perms, list) or PERMS[method] not in perms:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"missing permission {PERMS[method]}")
        return claims


def handlers(guard):
    def ping(request, context):
        return b""

    def get_balance(request, context):
        guard.check(context, "GetBalance")
        return varint_field1(4200)

    def stream_entries(request, context):
        guard.check(context, "StreamEntries")
        for entry in (101, 102, 103):
            yield varint_field1(entry)

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Ping": grpc.unary_unary_rpc_method_handler(ping),
            "GetBalance": grpc.unary_unary_rpc_method_handler(get_balance),
            "StreamEntries": grpc.unary_stream_rpc_method_handler(stream_entries),
        },
    )


def revoke_server(guard, listen):
    """An HTTP server answering POST /tokens/<jti>/revoke with 204."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            parts = self.path.split("/")
            if len(parts) != 4 or parts[0] or parts[1] != "tokens" or parts[3] != "revoke":
                self.send_error(404)
                return
            if not JTI.match(parts[2]):
                self.send_error(400, "bad jti")
                return
            guard.revoke(parts[2])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    host, port = listen.rsplit(":", 1)
    srv = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    p = argparse.ArgumentParser(description="pyledger, a jitbench test target")
    p.add_argument("--public-key", required=True, help="PEM public key of the token issuer (ES256)")
    p.add_argument("--audience", default="ledger.v2.Ledger")
    p.add_argument("--issuer", default="https://auth.ledger.test")
    p.add_argument("--leeway", type=int, default=20, help="clock tolerance, seconds")
    p.add_argument("--max-lifetime", type=int, default=900, help="longest exp - iat, seconds")
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--revoke-listen", default="127.0.0.1:0", help="HTTP revocation; empty for none")
    args = p.parse_args()

    guard = Guard(args)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((handlers(guard),))
    port = server.add_insecure_port(args.listen)
    if port == 0:
        sys.exit(f"pyledger: cannot listen on {args.listen}")
    server.start()
    started = {"addr": f"{args.listen.rsplit(':', 1)[0]}:{port}"}
    revoker = None
    if args.revoke_listen:
        revoker = revoke_server(guard, args.revoke_listen)
        host, rport = revoker.server_address[:2]
        started["revoke_url"] = f"http://{host}:{rport}"

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin():
        # A parent that dies closes our stdin: stop with it.
        while sys.stdin.buffer.read(4096):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps(started), flush=True)
    while not stop.wait(0.5):
        pass
    if revoker:
        revoker.shutdown()
    server.stop(grace=1).wait()


if __name__ == "__main__":
    main()
