#!/usr/bin/env python3
"""What a TLS server offers, as JSON: run on the host under test (loopback only).

For each protocol version asked for, one handshake offering only that version: accepted (with
the cipher) or refused, and by whom: ``server`` when the server answered with a
protocol_version alert (it does not speak that version), ``client`` when this side could not
even offer it (then the test proves nothing and says so). The client allows every version and
cipher (security level 0), so an old version is really offered. Then one handshake with the
defaults: the certificate's SHA-256 fingerprint and serial (hex), the ALPN protocol chosen from
h2 and http/1.1, and whether the chain verifies against ``--cafile`` for ``--server-name``.

Standard library only: it runs on the containers' own Python (3.10 and later).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import ssl
import sys
import warnings
from typing import Any

VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}
# What OpenSSL reports when the server refused the offered version, and when this side had
# no version left to offer.
SERVER_REFUSED = {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "WRONG_SSL_VERSION"}
CLIENT_CANNOT = {"NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE"}


def _der_length(der: bytes, pos: int) -> tuple[int, int]:
    """The length at ``pos`` (after a tag) and where the contents start."""
    first = der[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    return int.from_bytes(der[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def certificate_serial(der: bytes) -> str:
    """The serial number of a DER certificate, as lowercase hex without leading zeros."""
    # Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serial INTEGER ...
    _, pos = _der_length(der, 1)  # into Certificate
    _, pos = _der_length(der, pos + 1)  # into tbsCertificate
    if der[pos] == 0xA0:  # explicit version
        length, start = _der_length(der, pos + 1)
        pos = start + length
    if der[pos] != 0x02:
        raise ValueError("no serial number where a certificate has it")
    length, start = _der_length(der, pos + 1)
    return format(int.from_bytes(der[start : start + length], "big"), "x")


def _context(version: str | None, cafile: str | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        # TLS 1.0 and 1.1 are deprecated (a warning per use): offering them is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = VERSIONS[version]
        ctx.maximum_version = VERSIONS[version]
    return ctx


def try_version(host: str, port: int, server_name: str, version: str) -> dict[str, Any]:
    ctx = _context(version, None)
    try:
        with (
            socket.create_connection((host, port), timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            cipher = tls.cipher()
            return {
                "accepted": True,
                "version": tls.version(),
                "cipher": cipher[0] if cipher else None,
            }
    except ssl.SSLError as exc:
        reason = exc.reason or ""
        refused_by = (
            "server" if reason in SERVER_REFUSED else "client" if reason in CLIENT_CANNOT else "?"
        )
        return {"accepted": False, "refused_by": refused_by, "reason": reason, "error": str(exc)}
    except OSError as exc:  # the server closed the connection at once
        return {"accepted": False, "refused_by": "?", "reason": "", "error": str(exc)}


def certificate(host: str, port: int, server_name: str, cafile: str | None) -> dict[str, Any]:
    ctx = _context(None, None)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        alpn = tls.selected_alpn_protocol()
    if der is None:
        raise SystemExit("the server sent no certificate")
    found: dict[str, Any] = {
        "sha256": hashlib.sha256(der).hexdigest(),
        "serial": certificate_serial(der),
        "alpn": alpn,
        "verified": None,
    }
    if cafile:
        try:
            with (
                socket.create_connection((host, port), timeout=10) as raw,
                _context(None, cafile).wrap_socket(raw, server_hostname=server_name),
            ):
                found["verified"] = True
        except ssl.SSLError as exc:
            found["verified"] = False
            found["verify_error"] = str(exc)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--server-name", default="localhost")
    parser.add_argument("--versions", default="1.0,1.1,1.2,1.3")
    parser.add_argument("--cafile", help="verify the chain against these CA certificates")
    args = parser.parse_args(argv)
    result = {
        "versions": {
            v: try_version(args.host, args.port, args.server_name, v)
            for v in args.versions.split(",")
            if v
        },
        "certificate": certificate(args.host, args.port, args.server_name, args.cafile),
    }
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
