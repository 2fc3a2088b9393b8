#!/usr/bin/env python3
"""Generate SigV4 test vectors for Coffer's verifier with botocore's own signers.

Writes testdata/sigv4-vectors/botocore-vectors.json (path relative to this file).

Every vector is produced by botocore (``SigV4Auth`` for the Authorization header form,
``SigV4QueryAuth`` for presigned URLs), either through a real botocore client (the request
the SDK really sends: real serializers, real headers) or through a hand-built ``AWSRequest``
for shapes a client would not produce on its own (GET Query, odd headers, odd paths).
The canonical request and string to sign are the ones botocore computed while signing
(captured by wrapping ``SigV4Auth.string_to_sign``), not recomputed here.

As a cross-check, each vector is also re-verified from its *wire form* (method, URL,
headers, body) with an independent, server-side style canonicalization written below
from the AWS documentation; the generator refuses to write a vector that this check
cannot reproduce, so every vector is verifiable from what a server actually receives.

Usage:  python3 tools/gen-sigv4-vectors.py   (needs botocore; deterministic output)
"""
from __future__ import annotations

import copy
import datetime
import hashlib
import hmac
import json
import os
import sys
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, urlsplit

import botocore
import botocore.auth
import botocore.session
from botocore.auth import SigV4Auth, SigV4QueryAuth, _host_from_url
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "sigv4-vectors", "botocore-vectors.json")

# Documented example keys (AWS docs / AWS SigV4 test suite). Never real credentials.
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AKID2 = "AKIAIOSFODNN7EXAMPLE"
SECRET2 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# Temporary credentials: ASIA prefix; a synthetic token containing '/', '+' and '='
# so that query-string encoding of X-Amz-Security-Token is exercised.
ASIA = "ASIAIOSFODNN7EXAMPLE"
ASIA_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
TOKEN = (
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+EXAMPLE"
    "TOKENa1b2c3d4e5f6/g7h8i9j0k+l1m2n3o4p5q6r7s8t9u0v1w2x3y4z5==")

# --------------------------------------------------------------------------------------
# Capture what botocore computes while signing.
# --------------------------------------------------------------------------------------
_captured: list[dict] = []
_orig_sts = SigV4Auth.string_to_sign
_orig_sig = SigV4Auth.signature


def _wrapped_sts(self, request, canonical_request):
    sts = _orig_sts(self, request, canonical_request)
    _captured.append({"canonical_request": canonical_request, "string_to_sign": sts})
    return sts


def _wrapped_sig(self, string_to_sign, request):
    sig = _orig_sig(self, string_to_sign, request)
    _captured[-1]["signature"] = sig
    return sig


SigV4Auth.string_to_sign = _wrapped_sts
SigV4Auth.signature = _wrapped_sig

_now = [datetime.datetime(2024, 1, 15, 9, 30, 0)]
botocore.auth.get_current_datetime = lambda *a, **k: _now[0]


def set_time(ts: str) -> str:
    _now[0] = datetime.datetime.strptime(ts, "%Y%m%dT%H%M%SZ")
    return ts


# --------------------------------------------------------------------------------------
# Wire-form helpers
# --------------------------------------------------------------------------------------
def _s(v) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def wire_headers(prepared_headers, url, body: bytes, extra_first=None):
    """Headers as they go on the wire: botocore's headers plus Host and Content-Length,
    which the HTTP layer adds after signing (botocore signs host from the URL)."""
    out = []
    names = {k.lower() for k in prepared_headers.keys()}
    if "host" not in names:
        out.append(["Host", _host_from_url(url)])
    for k, v in prepared_headers.items():
        out.append([_s(k), _s(v)])
    if "content-length" not in names and body:
        out.append(["Content-Length", str(len(body))])
    return out


def body_of(req) -> bytes:
    b = req.body
    if b is None:
        return b""
    if isinstance(b, str):
        return b.encode("utf-8")
    return bytes(b)


# --------------------------------------------------------------------------------------
# Independent server-side verification from the wire form (AWS docs, non-S3 rules).
# --------------------------------------------------------------------------------------
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


def uri_encode(s: str, keep_slash=False) -> str:
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in UNRESERVED or (keep_slash and c == "/"):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def remove_dot_segments_and_empty(path: str) -> str:
    segs = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segs:
                segs.pop()
            continue
        segs.append(seg)
    res = "/" + "/".join(segs)
    if path.endswith("/") and segs:
        res += "/"
    return res


def server_verify(method, url, headers, body: bytes, secret: str):
    """Recompute the signature the way a server must, from the request as received."""
    parts = urlsplit(url)
    hdrs: dict[str, list[str]] = {}
    for k, v in headers:
        hdrs.setdefault(k.lower(), []).append(v)
    # Parse the raw query string (no '+' -> space: SigV4 clients percent-encode spaces).
    raw_pairs = []
    if parts.query:
        for p in parts.query.split("&"):
            k, _, v = p.partition("=")
            raw_pairs.append((unquote(k), unquote(v)))
    q = dict(raw_pairs)
    presigned = "X-Amz-Signature" in q
    if presigned:
        algorithm = q["X-Amz-Algorithm"]
        cred = q["X-Amz-Credential"]
        signed_headers = q["X-Amz-SignedHeaders"]
        provided = q["X-Amz-Signature"]
        amz_date = q["X-Amz-Date"]
    else:
        auth = hdrs["authorization"][0]
        algorithm, _, rest = auth.partition(" ")
        fields = dict(x.strip().split("=", 1) for x in rest.split(","))
        cred = fields["Credential"]
        signed_headers = fields["SignedHeaders"]
        provided = fields["Signature"]
        if "x-amz-date" in hdrs:
            amz_date = hdrs["x-amz-date"][0]
        else:  # fall back to the Date header (RFC 1123)
            amz_date = parsedate_to_datetime(hdrs["date"][0]).strftime("%Y%m%dT%H%M%SZ")
    assert algorithm == "AWS4-HMAC-SHA256"
    akid, date, region, service, term = cred.split("/")
    assert term == "aws4_request" and date == amz_date[:8]
    # 1. canonical URI: normalise, then encode the path as received once more
    #    (non-S3 services: the client encoded it once, the canonical form encodes it again).
    path = parts.path or "/"
    canon_uri = uri_encode(remove_dot_segments_and_empty(path), keep_slash=True)
    # 2. canonical query: every parameter except X-Amz-Signature, RFC 3986 encoded, sorted
    #    by encoded name then encoded value.
    enc = sorted((uri_encode(k), uri_encode(v)) for k, v in raw_pairs if k != "X-Amz-Signature")
    canon_query = "&".join(f"{k}={v}" for k, v in enc)
    # 3. canonical headers: only those named in SignedHeaders; values trimmed, inner runs of
    #    spaces collapsed, repeated headers joined with ','.
    names = signed_headers.split(";")
    assert names == sorted(names) and "host" in names
    canon_headers = "".join(
        n + ":" + ",".join(" ".join(v.split()) for v in hdrs[n]) + "\n" for n in names)
    # 4. payload hash: x-amz-content-sha256 if sent, otherwise SHA-256 of the body.
    payload = hdrs.get("x-amz-content-sha256", [hashlib.sha256(body).hexdigest()])[0]
    creq = "\n".join([method, canon_uri, canon_query, canon_headers, signed_headers, payload])
    scope = f"{date}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])

    def h(k, m):
        return hmac.new(k, m.encode("utf-8"), hashlib.sha256).digest()

    k = h(h(h(h(("AWS4" + secret).encode("utf-8"), date), region), service), "aws4_request")
    sig = hmac.new(k, sts.encode("utf-8"), hashlib.sha256).hexdigest()
    return creq, sts, sig, provided


# --------------------------------------------------------------------------------------
# Vector builders
# --------------------------------------------------------------------------------------
vectors: list[dict] = []


def creds_json(c: Credentials):
    d = {"access_key_id": c.access_key, "secret_access_key": c.secret_key}
    if c.token:
        d["session_token"] = c.token
    return d


def record(vid, desc, kind, service, region, creds, ts, method, url, headers, body,
           signer, expires=None, notes=None, source="manual AWSRequest"):
    cap = _captured[-1]
    creq, sts, sig, provided = server_verify(method, url, headers, body, creds.secret_key)
    assert provided == cap["signature"], (vid, "wire signature != botocore signature")
    assert creq == cap["canonical_request"], (vid, "canonical request differs", creq, cap["canonical_request"])
    assert sts == cap["string_to_sign"], (vid, "string to sign differs")
    assert sig == cap["signature"], (vid, "signature differs")
    try:
        body_text = body.decode("utf-8")
        body_field = {"body": body_text}
    except UnicodeDecodeError:  # pragma: no cover - all current bodies are UTF-8
        import base64
        body_field = {"body_base64": base64.b64encode(body).decode()}
    v = {
        "id": vid,
        "description": desc,
        "kind": kind,
        "signer": signer,
        "source": source,
        "service": service,
        "region": region,
        "credentials": creds_json(creds),
        "timestamp": ts,
        "timestamp_iso8601": datetime.datetime.strptime(ts, "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "request": {"method": method, "url": url, "headers": headers, **body_field},
        "expected": {
            "canonical_request": cap["canonical_request"],
            "string_to_sign": cap["string_to_sign"],
            "signature": cap["signature"],
        },
    }
    if expires is not None:
        v["expires_seconds"] = expires
    if signer.endswith("SigV4Auth"):
        v["expected"]["authorization"] = next(h for n, h in headers if n.lower() == "authorization")
    if notes:
        v["notes"] = notes
    vectors.append(v)


def sign_manual(vid, desc, kind, service, region, creds, ts, method, url, headers=None,
                body=b"", presign_expires=None, notes=None, context=None):
    set_time(ts)
    req = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    if context:
        req.context.update(context)
    if presign_expires is None:
        SigV4Auth(creds, service, region).add_auth(req)
        signer = "botocore.auth.SigV4Auth"
    else:
        SigV4QueryAuth(creds, service, region, expires=presign_expires).add_auth(req)
        signer = "botocore.auth.SigV4QueryAuth"
    prepared = req.prepare()
    b = body_of(prepared)
    hdrs = wire_headers(prepared.headers, prepared.url, b)
    record(vid, desc, kind, service, region, creds, ts, prepared.method, prepared.url, hdrs, b,
           signer, expires=presign_expires, notes=notes)


_session = botocore.session.get_session()
_session.set_config_variable("retry_mode", "standard")
_sent: list = []


def _before_send(request, **kw):
    _sent.append(request)

    class _Raw:
        def stream(self, *a, **k):
            yield b""

    # Short-circuit the HTTP layer; the (unparseable) response is irrelevant.
    return AWSResponse(request.url, 500, {}, _Raw())


def client(service, region, creds, endpoint_url=None):
    c = _session.create_client(
        service, region_name=region, endpoint_url=endpoint_url,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}))
    c.meta.events.register("before-send", _before_send)
    return c


def sign_client(vid, desc, kind, service, region, creds, ts, op, params, endpoint_url=None,
                notes=None):
    set_time(ts)
    c = client(service, region, creds, endpoint_url)
    _sent.clear()
    try:
        getattr(c, op)(**params)
    except Exception:
        pass  # the fake response cannot be parsed; the request was captured
    req = _sent[0]
    b = body_of(req)
    # Drop per-invocation random headers that botocore adds *after* signing (unsigned).
    hdrs = [[k, v] for k, v in wire_headers(req.headers, req.url, b)
            if k.lower() not in ("amz-sdk-invocation-id",)]
    # User-Agent is never signed; pin it so the file does not depend on this machine.
    hdrs = [[k, f"Botocore/{botocore.__version__}" if k.lower() == "user-agent" else v] for k, v in hdrs]
    record(vid, desc, kind, service, region, creds, ts, req.method, req.url, hdrs, b,
           "botocore.auth.SigV4Auth", notes=notes,
           source=f"botocore {botocore.__version__} client.{op}() as sent on the wire (unsigned amz-sdk-invocation-id dropped, unsigned User-Agent pinned)")


def presign_client(vid, desc, kind, service, region, creds, ts, op, params, expires,
                   method=None, notes=None):
    set_time(ts)
    c = client(service, region, creds)
    url = c.generate_presigned_url(op, Params=params, ExpiresIn=expires, HttpMethod=method)
    # Without HttpMethod botocore signs with the operation's modelled method (POST for
    # Query services): the URL then only verifies when sent as POST with an empty body.
    m = _captured[-1]["canonical_request"].split("\n", 1)[0]
    assert method is None or m == method
    hdrs = [["Host", _host_from_url(url)]]
    record(vid, desc, kind, service, region, creds, ts, m, url, hdrs, b"",
           "botocore.auth.SigV4QueryAuth", expires=expires, notes=notes,
           source=f"botocore {botocore.__version__} client.generate_presigned_url('{op}')")


# --------------------------------------------------------------------------------------
# The vectors
# --------------------------------------------------------------------------------------
def build():
    std = Credentials(AKID, SECRET)
    alt = Credentials(AKID2, SECRET2)
    tmp = Credentials(ASIA, ASIA_SECRET, TOKEN)
    SM = "https://secretsmanager.us-east-1.amazonaws.com/"
    JSON_HDRS = {"Content-Type": "application/x-amz-json-1.1"}
    FORM = "application/x-www-form-urlencoded; charset=utf-8"

    # ---- AWS JSON 1.1: Secrets Manager, real client -----------------------------------
    sign_client("json-sm-getsecretvalue-client", "GetSecretValue from a real botocore client (JSON 1.1, X-Amz-Target signed)",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z",
                "get_secret_value", {"SecretId": "MyTestDatabaseSecret"})
    sign_client("json-sm-createsecret-unicode-client",
                "CreateSecret with a SecretString holding quotes, newlines, unicode and JSON (body bytes hashed as sent)",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z",
                "create_secret", {"Name": "prod/db/Ünïcödé-秘密", "ClientRequestToken": "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE",
                                  "SecretString": "{\"user\":\"admin\",\"pass\":\"p@ss w0rd!\\n\\t\\\"q\\\" €\"}",
                                  "Description": "  spaces   inside  "})
    sign_client("json-sm-putsecretvalue-binary-client", "PutSecretValue with SecretBinary (base64 in JSON body)",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z",
                "put_secret_value", {"SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:MyTestDatabaseSecret-a1b2c3",
                                     "SecretBinary": b"\x00\x01\xfe\xffbinary", "ClientRequestToken": "EXAMPLE2-90ab-cdef-fedc-ba987EXAMPLE"})
    sign_client("json-sm-listsecrets-session-token-client",
                "ListSecrets with temporary credentials: X-Amz-Security-Token header is signed",
                "json1.1", "secretsmanager", "us-east-1", tmp, "20240115T093000Z",
                "list_secrets", {"MaxResults": 10, "Filters": [{"Key": "name", "Values": ["prod/"]}]})
    sign_client("json-sm-describesecret-eu-west-1-client", "DescribeSecret in eu-west-1 (region in scope and host)",
                "json1.1", "secretsmanager", "eu-west-1", alt, "20240229T235959Z",
                "describe_secret", {"SecretId": "MySecret"})
    sign_client("json-sm-getsecretvalue-localhost-http-client",
                "Custom endpoint http://localhost:4566: Host header carries the non-default port and is signed with it",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z",
                "get_secret_value", {"SecretId": "MySecret"}, endpoint_url="http://localhost:4566")
    sign_client("json-sm-listsecrets-empty-client", "ListSecrets with no parameters: body is '{}'",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z",
                "list_secrets", {})

    # ---- AWS JSON 1.1: hand-built edge cases -----------------------------------------
    sign_manual("json-sm-date-header-instead-of-x-amz-date",
                "Date header (RFC 1123) instead of X-Amz-Date: the signed 'date' header supplies the request time",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z", "POST", SM,
                {**JSON_HDRS, "X-Amz-Target": "secretsmanager.GetSecretValue", "Date": "placeholder"},
                b'{"SecretId":"MySecret"}',
                notes="botocore replaces the Date value with the signing time; X-Amz-Date is then absent. The string to sign still uses the ISO 8601 basic form 20240115T093000Z.")
    sign_manual("json-sm-whitespace-header-values",
                "Signed custom headers with leading/trailing/inner runs of spaces and a quoted value: canonical form trims and collapses (Trimall)",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z", "POST", SM,
                {**JSON_HDRS, "X-Amz-Target": "secretsmanager.GetSecretValue",
                 "X-Custom-Spaces": "   leading and    inner   runs   ", "X-Custom-Quoted": '"a   b    c"',
                 "X-Custom-Tab": "tab\there"},
                b'{"SecretId":"MySecret"}',
                notes="Tabs count as whitespace for botocore's ' '.join(value.split()).")
    sign_manual("json-sm-x-amz-content-sha256-header",
                "X-Amz-Content-Sha256 sent (as aws-sdk-rust/CRT may do): its value is the payload hash in the canonical request",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z", "POST", SM,
                {**JSON_HDRS, "X-Amz-Target": "secretsmanager.GetSecretValue",
                 "X-Amz-Content-SHA256": hashlib.sha256(b'{"SecretId":"MySecret"}').hexdigest()},
                b'{"SecretId":"MySecret"}')
    sign_manual("json-sm-unsigned-extra-headers",
                "User-Agent and X-Amzn-Trace-Id present but not signed (botocore never signs them); only SignedHeaders count",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z", "POST", SM,
                {**JSON_HDRS, "X-Amz-Target": "secretsmanager.DescribeSecret",
                 "User-Agent": "aws-cli/2.15.0 Python/3.11", "X-Amzn-Trace-Id": "Root=1-65a4f7c2-EXAMPLE"},
                b'{"SecretId":"MySecret"}')
    sign_manual("json-sm-mixed-case-header-names",
                "Header names in odd case: canonical names are lower-cased and sorted",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z", "POST", SM,
                {"CONTENT-TYPE": "application/x-amz-json-1.1", "x-AMZ-target": "secretsmanager.GetSecretValue",
                 "X-Zeta": "z", "x-alpha": "a"},
                b'{"SecretId":"MySecret"}')
    sign_manual("json-sm-raw-utf8-body",
                "JSON body with raw (unescaped) UTF-8 as the JS/Go/Rust SDKs send it: the payload hash covers the UTF-8 bytes",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z", "POST", SM,
                {**JSON_HDRS, "X-Amz-Target": "secretsmanager.CreateSecret"},
                '{"Name":"prod/Ünïcödé-秘密","SecretString":"p@ss wörd €🚀"}'.encode("utf-8"))
    sign_manual("json-sm-midnight-scope-date",
                "Signed one second before midnight UTC on 31 Dec: scope date 20231231 must equal the date part of X-Amz-Date",
                "json1.1", "secretsmanager", "us-east-1", std, "20231231T235959Z", "POST", SM,
                {**JSON_HDRS, "X-Amz-Target": "secretsmanager.GetSecretValue"}, b'{"SecretId":"MySecret"}')

    # ---- AWS Query: IAM / STS POST form (real clients) ---------------------------------
    sign_client("query-iam-listusers-post-client", "IAM ListUsers, POST form body from a real botocore client",
                "query", "iam", "us-east-1", std, "20240115T093000Z", "list_users", {})
    sign_client("query-iam-createuser-tags-client",
                "IAM CreateUser with Path and Tags: list serialization Tags.member.N.Key/Value in the form body",
                "query", "iam", "us-east-1", std, "20240115T093000Z", "create_user",
                {"UserName": "Bob", "Path": "/division_abc/subdivision_xyz/",
                 "Tags": [{"Key": "Dept", "Value": "Accounting & Finance"}, {"Key": "Name", "Value": "Jöhn Dœ 日本"}]})
    sign_client("query-iam-putuserpolicy-json-client",
                "IAM PutUserPolicy: a JSON policy document (braces, quotes, colons, '*', spaces) form-encoded in the body",
                "query", "iam", "us-east-1", std, "20240115T093000Z", "put_user_policy",
                {"UserName": "Bob", "PolicyName": "AllAccess",
                 "PolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [
                     {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringLike": {"aws:username": "B*b ~+=&%"}}}]})})
    sign_client("query-sts-getcalleridentity-client", "STS GetCallerIdentity from a real client (regional endpoint sts.us-east-1)",
                "query", "sts", "us-east-1", std, "20240115T093000Z", "get_caller_identity", {})
    sign_client("query-sts-assumerole-session-token-client",
                "STS AssumeRole signed with temporary credentials (X-Amz-Security-Token header signed), inline Policy JSON",
                "query", "sts", "us-east-1", tmp, "20240115T093000Z", "assume_role",
                {"RoleArn": "arn:aws:iam::123456789012:role/demo", "RoleSessionName": "session@example.com",
                 "DurationSeconds": 3600, "Policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'})
    sign_client("query-sts-getcalleridentity-us-west-2-client", "STS in us-west-2: regional host and scope",
                "query", "sts", "us-west-2", alt, "20240115T093000Z", "get_caller_identity", {})

    # ---- AWS Query: hand-built GET requests -------------------------------------------
    def get_url(host, params):
        return f"https://{host}/?" + percent_encode_sequence(params)

    sign_manual("query-iam-listusers-get", "IAM ListUsers as GET with Action/Version in the query string",
                "query", "iam", "us-east-1", std, "20240115T093000Z", "GET",
                get_url("iam.amazonaws.com", {"Action": "ListUsers", "Version": "2010-05-08", "MaxItems": "5"}))
    sign_manual("query-iam-get-unusual-characters",
                "GET with values needing percent-encoding: space, '+', '*', '!', quote, '&', '=', '%', '/', '~', unicode",
                "query", "iam", "us-east-1", std, "20240115T093000Z", "GET",
                get_url("iam.amazonaws.com", {"Action": "ListUsers", "Version": "2010-05-08",
                                              "PathPrefix": "/a b+c*d!e'f(g)h&i=j%k/~l/é日本/"}),
                notes="Spaces are %20 (never '+'); '*' is %2A; '~' stays literal; UTF-8 bytes are upper-case hex.")
    sign_manual("query-iam-get-param-order",
                "GET whose parameters arrive unsorted; canonical order is by encoded name (byte order: upper case before lower case, member.10 before member.2)",
                "query", "iam", "us-east-1", std, "20240115T093000Z", "GET",
                "https://iam.amazonaws.com/?Version=2010-05-08&Action=TagUser&UserName=Bob"
                "&Tags.member.2.Key=b&Tags.member.2.Value=2&Tags.member.10.Key=a&Tags.member.10.Value=10"
                "&Tags.member.1.Key=c&Tags.member.1.Value=1&aLower=x&Zupper=y")
    sign_manual("query-iam-get-empty-value",
                "GET with an empty value (Marker=) and a parameter with no '=' at all: both canonicalise to 'Name='",
                "query", "iam", "us-east-1", std, "20240115T093000Z", "GET",
                "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08&Marker=&PathPrefix")
    sign_manual("query-sts-getcalleridentity-get-session-token",
                "STS GetCallerIdentity as GET with temporary credentials in the X-Amz-Security-Token header",
                "query", "sts", "us-east-1", tmp, "20240115T093000Z", "GET",
                get_url("sts.amazonaws.com", {"Action": "GetCallerIdentity", "Version": "2011-06-15"}))
    sign_manual("query-secretsmanager-post-form",
                "Secrets Manager over the Query protocol (Coffer extension): POST form Action=GetSecretValue&Version=2017-10-17",
                "query", "secretsmanager", "us-east-1", std, "20240115T093000Z", "POST", SM,
                {"Content-Type": FORM},
                b"Action=GetSecretValue&Version=2017-10-17&SecretId=prod%2Fdb%2Fpassword")
    sign_manual("query-iam-post-form-plus-space",
                "POST form body using '+' for spaces (as Python's urlencode does): the body is hashed byte-for-byte, only the form parser must map '+' to space",
                "query", "iam", "us-east-1", std, "20240115T093000Z", "POST", "https://iam.amazonaws.com/",
                {"Content-Type": FORM},
                b"Action=CreateUser&Version=2010-05-08&UserName=Bob&Tags.member.1.Key=Team&Tags.member.1.Value=Blue+Team%21")

    # ---- Path canonicalization (not produced by IAM/STS/SM clients, whose path is '/') --
    sign_manual("path-double-encoding",
                "Non-root path with percent-encoded octets: non-S3 canonical URI encodes the received path once more ('%20' -> '%2520')",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z", "POST",
                "https://secretsmanager.us-east-1.amazonaws.com/prefix/a%20b/c%3Ad/%E2%82%AC",
                {**JSON_HDRS, "X-Amz-Target": "secretsmanager.GetSecretValue"}, b'{"SecretId":"MySecret"}',
                notes="Only matters behind a reverse proxy with a path prefix; shows the non-S3 double-encoding rule.")
    sign_manual("path-dot-segments-and-double-slashes",
                "Path with '.', '..' and '//' segments: non-S3 services normalise it (RFC 3986 remove_dot_segments, empty segments dropped)",
                "json1.1", "secretsmanager", "us-east-1", std, "20240115T093000Z", "POST",
                "https://secretsmanager.us-east-1.amazonaws.com/./foo/../bar//baz/",
                {**JSON_HDRS, "X-Amz-Target": "secretsmanager.GetSecretValue"}, b'{"SecretId":"MySecret"}')

    # ---- Presigned URLs (SigV4QueryAuth) ---------------------------------------------
    presign_client("presign-sts-getcalleridentity-get-60s", "Presigned STS GetCallerIdentity URL for GET (EKS-token style), X-Amz-Expires=60",
                   "presigned", "sts", "us-east-1", std, "20240115T093000Z", "get_caller_identity", {}, 60, method="GET")
    presign_client("presign-sts-getcalleridentity-default-method-post",
                   "botocore generate_presigned_url without HttpMethod: signed for the modelled method POST (send as POST, empty body)",
                   "presigned", "sts", "us-east-1", std, "20240115T093000Z", "get_caller_identity", {}, 60,
                   notes="Same URL shape as the GET case, but the canonical request starts with POST: the verifier must use the request's actual method.")
    presign_client("presign-sts-getcalleridentity-session-token",
                   "Presigned STS GetCallerIdentity with temporary credentials: X-Amz-Security-Token is a signed query parameter",
                   "presigned", "sts", "us-east-1", tmp, "20240115T093000Z", "get_caller_identity", {}, 900, method="GET")
    presign_client("presign-iam-listusers-3600", "Presigned IAM ListUsers URL with an operation parameter, X-Amz-Expires=3600",
                   "presigned", "iam", "us-east-1", alt, "20240115T093000Z", "list_users", {"PathPrefix": "/a b/"}, 3600, method="GET")
    presign_client("presign-sts-max-expiry-604800", "Presigned URL with the maximum X-Amz-Expires of 604800 (7 days)",
                   "presigned", "sts", "us-east-1", std, "20240115T093000Z", "get_caller_identity", {}, 604800, method="GET")
    sign_manual("presign-sts-extra-signed-header-x-k8s-aws-id",
                "EKS-style presigned GetCallerIdentity with an extra signed header x-k8s-aws-id (X-Amz-SignedHeaders=host;x-k8s-aws-id)",
                "presigned", "sts", "us-east-1", std, "20240115T093000Z", "GET",
                "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
                {"x-k8s-aws-id": "my-cluster"}, presign_expires=60,
                notes="The header must be present on the request for the signature to verify.")
    sign_manual("presign-secretsmanager-query-get",
                "Presigned GET for Secrets Manager over Query (Coffer extension): Action=GetSecretValue in the URL",
                "presigned", "secretsmanager", "us-east-1", std, "20240115T093000Z", "GET",
                "https://secretsmanager.us-east-1.amazonaws.com/?Action=GetSecretValue&Version=2017-10-17&SecretId=prod%2Fdb",
                presign_expires=300)


# --------------------------------------------------------------------------------------
# Negative (and boundary) vectors: a positive vector plus one mutation or a server clock.
# Every vector is re-checked by server_check() below, which must reach the stated reason.
# --------------------------------------------------------------------------------------

NEG_OUT = os.path.join(HERE, "..", "sigv4-vectors", "negative-vectors.json")
MISMATCH_MSG = ("The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
SKEW = datetime.timedelta(minutes=15)
B = "%Y%m%dT%H%M%SZ"


def _hdrs(req):
    d = {}
    for k, v in req["headers"]:
        d.setdefault(k.lower(), []).append(v)
    return d


def server_check(req, server):
    """Server-side decision for one request: returns (reason, detail)."""
    parts = urlsplit(req["url"])
    h = _hdrs(req)
    q = {}
    for pair in (parts.query.split("&") if parts.query else []):
        k, _, v = pair.partition("=")
        q[unquote(k)] = unquote(v)
    body = req.get("body", "").encode("utf-8")
    if "authorization" not in h and "X-Amz-Algorithm" not in q:
        return "missing-authentication", None
    presigned = "authorization" not in h
    if presigned:
        fields = {"Credential": q.get("X-Amz-Credential"), "SignedHeaders": q.get("X-Amz-SignedHeaders"),
                  "Signature": q.get("X-Amz-Signature")}
        date = q.get("X-Amz-Date")
    else:
        alg, _, rest = h["authorization"][0].partition(" ")
        fields = dict(x.strip().split("=", 1) for x in rest.split(",") if "=" in x)
        date = h.get("x-amz-date", [None])[0]
        if date is None and "date" in h:
            date = parsedate_to_datetime(h["date"][0]).strftime(B)
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing or date is None:
        return "incomplete-signature", missing or ["date"]
    akid, sdate, region, service, term = fields["Credential"].split("/")
    secret = server["credentials"].get(akid)
    if secret is None:
        return "unknown-access-key", akid
    if sdate != date[:8]:
        return "credential-scope-date", (sdate, date)
    if region != server["region"]:
        return "credential-scope-region", region
    if service != server["service"]:
        return "credential-scope-service", server["service"]
    t = datetime.datetime.strptime(date, B)
    now = datetime.datetime.strptime(server["time"], B)
    if now - t > SKEW:
        return "signature-expired", (date, (now - SKEW).strftime(B), server["time"])
    if t - now > SKEW:
        return "signature-not-yet-current", (date, (now + SKEW).strftime(B), server["time"])
    if presigned and server.get("enforce_x_amz_expires") and now > t + datetime.timedelta(seconds=int(q["X-Amz-Expires"])):
        return "presigned-url-expired", q["X-Amz-Expires"]
    for name in fields["SignedHeaders"].split(";"):
        if name not in h:
            return "signed-header-missing", name
    creq, sts, sig, provided = server_verify(req["method"], req["url"], req["headers"], body, secret)
    if not hmac.compare_digest(sig, provided):
        return "signature-mismatch", {"canonical_request": creq, "string_to_sign": sts}
    return "valid", None


def aws_error(reason, detail, service):
    """The error AWS returns for this failure, per protocol (see notes/protocol-facts.md)."""
    if reason == "valid":
        return None
    if reason == "signature-mismatch":
        msg = MISMATCH_MSG
    elif reason == "signature-expired":
        msg = "Signature expired: %s is now earlier than %s (%s - 15 min.)" % detail
    elif reason == "signature-not-yet-current":
        msg = "Signature not yet current: %s is still later than %s (%s + 15 min.)" % detail
    elif reason == "credential-scope-region":
        msg = "Credential should be scoped to a valid region. "
    elif reason == "credential-scope-service":
        msg = "Credential should be scoped to correct service: '%s'. " % detail
    elif reason == "credential-scope-date":
        msg = "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP"
    elif reason == "unknown-access-key":
        msg = "The security token included in the request is invalid."
    else:
        msg = None
    sig_family = reason in ("signature-mismatch", "signature-expired", "signature-not-yet-current",
                            "credential-scope-region", "credential-scope-service", "credential-scope-date")
    query = json_ = None
    if sig_family:
        query = {"status": 403, "code": "SignatureDoesNotMatch", "message": msg}
        json_ = {"status": 400, "type": "InvalidSignatureException", "message": msg}
    elif reason == "unknown-access-key":
        query = {"status": 403, "code": "InvalidClientTokenId", "message": msg}
        json_ = {"status": 400, "type": "UnrecognizedClientException", "message": msg}
    elif reason == "missing-authentication":
        query = {"status": 403, "code": "MissingAuthenticationToken", "message": "Request is missing Authentication Token"}
        json_ = {"status": 400, "type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token",
                 "confidence": "status unverified for Secrets Manager"}
    elif reason in ("incomplete-signature", "signed-header-missing"):
        query = {"status": 400, "code": "IncompleteSignature", "message_example":
                 "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=..."}
        json_ = {"status": 400, "type": "IncompleteSignatureException",
                 "confidence": "code observed on other JSON services; message text varies"}
    elif reason == "presigned-url-expired":
        query = json_ = {"policy": "AWS ignores X-Amz-Expires outside S3 (aws/aws-sdk-go#2167, PR #2224): a presigned "
                                   "IAM/STS URL is accepted within 15 min of X-Amz-Date. Reject only if Coffer enforces "
                                   "X-Amz-Expires; then SignatureDoesNotMatch / InvalidSignatureException is the closest code."}
    return {"query_protocol": query, "json_protocol": json_}


negatives: list[dict] = []


def neg(vid, base_id, desc, mutate=None, server_time=None, server_region=None, server_service=None,
        known=None, expect_reason=None, enforce_expires=False, notes=None):
    base = next(v for v in vectors if v["id"] == base_id)
    req = copy.deepcopy(base["request"])
    if mutate:
        mutate(req)
    creds = known if known is not None else {base["credentials"]["access_key_id"]: base["credentials"]["secret_access_key"]}
    server = {"region": server_region or base["region"], "service": server_service or base["service"],
              "time": server_time or base["timestamp"], "credentials": creds}
    if enforce_expires:
        server["enforce_x_amz_expires"] = True
    reason, detail = server_check(req, server)
    assert reason == expect_reason, (vid, reason, detail)
    out = {"id": vid, "base_vector": base_id, "description": desc, "kind": base["kind"],
           "server": {"region": server["region"], "service": server["service"], "time": server["time"],
                      "credentials": [{"access_key_id": k, "secret_access_key": s} for k, s in creds.items()]},
           "request": req,
           "expect": {"valid": reason == "valid", "reason": reason,
                      "aws_error": aws_error(reason, detail, server["service"])}}
    if enforce_expires:
        out["server"]["enforce_x_amz_expires"] = True
    if reason == "signature-mismatch":
        out["expect"]["server_computed"] = detail
    if notes:
        out["notes"] = notes
    negatives.append(out)


def _set_header(name, value):
    def f(req):
        req["headers"] = [[k, value if k.lower() == name.lower() else v] for k, v in req["headers"]]
    return f


def _drop_header(name):
    def f(req):
        req["headers"] = [[k, v] for k, v in req["headers"] if k.lower() != name.lower()]
    return f


def _edit_auth(fn):
    def f(req):
        req["headers"] = [[k, fn(v) if k.lower() == "authorization" else v] for k, v in req["headers"]]
    return f


def _shift(ts, **kw):
    return (datetime.datetime.strptime(ts, B) + datetime.timedelta(**kw)).strftime(B)


def build_negative():
    T = "20240115T093000Z"
    std = Credentials(AKID, SECRET)
    # Extra signed-but-wrong-scope vectors, signed by botocore, kept out of the positive file.
    global vectors
    positives = vectors
    vectors = []
    sign_manual("scope-us-west-2", "helper", "json1.1", "secretsmanager", "us-west-2", std, T, "POST",
                "https://secretsmanager.us-east-1.amazonaws.com/",
                {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"},
                b'{"SecretId":"MySecret"}')
    sign_manual("scope-service-iam-to-sts", "helper", "query", "iam", "us-east-1", std, T, "POST",
                "https://sts.amazonaws.com/", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                b"Action=GetCallerIdentity&Version=2011-06-15")
    helpers = vectors
    vectors = positives + helpers

    neg("neg-json-body-tampered", "json-sm-getsecretvalue-client", "Body changed after signing (SecretId swapped)",
        mutate=lambda r: r.update(body=r["body"].replace("MyTestDatabaseSecret", "SomeOtherSecret!!!!!")),
        expect_reason="signature-mismatch")
    neg("neg-json-signed-header-changed", "json-sm-getsecretvalue-client", "Signed X-Amz-Target changed to DeleteSecret",
        mutate=_set_header("X-Amz-Target", "secretsmanager.DeleteSecret"), expect_reason="signature-mismatch")
    neg("neg-query-form-param-changed", "query-iam-createuser-tags-client", "Form body parameter changed (UserName)",
        mutate=lambda r: r.update(body=r["body"].replace("UserName=Bob", "UserName=Eve")), expect_reason="signature-mismatch")
    neg("neg-query-get-param-added", "query-iam-listusers-get", "Unsigned query parameter appended to a signed GET",
        mutate=lambda r: r.update(url=r["url"] + "&PathPrefix=%2Fadmin%2F"), expect_reason="signature-mismatch")
    neg("neg-wrong-secret", "query-sts-getcalleridentity-client", "Server holds a different secret for the access key",
        known={AKID: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY0"}, expect_reason="signature-mismatch")
    neg("neg-unknown-access-key-query", "query-iam-listusers-post-client", "Access key id unknown to the server (Query)",
        known={}, expect_reason="unknown-access-key")
    neg("neg-unknown-access-key-json", "json-sm-getsecretvalue-client", "Access key id unknown to the server (JSON)",
        known={}, expect_reason="unknown-access-key")
    neg("neg-clock-past-16min", "json-sm-getsecretvalue-client", "Server clock 16 minutes after X-Amz-Date",
        server_time=_shift(T, minutes=16), expect_reason="signature-expired")
    neg("neg-clock-future-16min", "query-sts-getcalleridentity-client", "Server clock 16 minutes before X-Amz-Date",
        server_time=_shift(T, minutes=-16), expect_reason="signature-not-yet-current")
    neg("ok-clock-past-14min", "json-sm-getsecretvalue-client", "Boundary: server clock 14 minutes after X-Amz-Date is accepted",
        server_time=_shift(T, minutes=14), expect_reason="valid")
    neg("ok-clock-future-14min", "query-sts-getcalleridentity-client", "Boundary: server clock 14 minutes before X-Amz-Date is accepted",
        server_time=_shift(T, minutes=-14), expect_reason="valid")
    neg("neg-scope-region", "scope-us-west-2", "Credential scope says us-west-2, server is us-east-1 (signature itself is correct)",
        expect_reason="credential-scope-region", server_region="us-east-1")
    neg("neg-scope-service", "scope-service-iam-to-sts", "Signed for service 'iam' but sent to STS",
        server_service="sts", expect_reason="credential-scope-service")
    neg("neg-scope-date", "json-sm-getsecretvalue-client", "X-Amz-Date moved to the next day; Credential date unchanged",
        mutate=_set_header("X-Amz-Date", "20240116T000100Z"), server_time="20240116T000100Z",
        expect_reason="credential-scope-date")
    neg("neg-no-authentication", "json-sm-getsecretvalue-client", "No Authorization header and no X-Amz-* query parameters",
        mutate=_drop_header("Authorization"), expect_reason="missing-authentication")
    neg("neg-no-authentication-query", "query-iam-listusers-post-client", "Unsigned Query request",
        mutate=_drop_header("Authorization"), expect_reason="missing-authentication")
    neg("neg-authorization-without-signature", "query-sts-getcalleridentity-client", "Authorization header lacks Signature=",
        mutate=_edit_auth(lambda a: a.split(", Signature=")[0]), expect_reason="incomplete-signature")
    neg("neg-authorization-without-credential", "json-sm-getsecretvalue-client", "Authorization header lacks Credential=",
        mutate=_edit_auth(lambda a: "AWS4-HMAC-SHA256 " + a.split(", ", 1)[1]), expect_reason="incomplete-signature")
    neg("neg-no-date", "json-sm-getsecretvalue-client", "Neither X-Amz-Date nor Date present",
        mutate=_drop_header("X-Amz-Date"), expect_reason="incomplete-signature")
    neg("neg-signed-header-absent", "json-sm-whitespace-header-values", "A header named in SignedHeaders is not in the request",
        mutate=_drop_header("X-Custom-Quoted"), expect_reason="signed-header-missing")
    neg("neg-presigned-param-tampered", "presign-iam-listusers-3600", "Presigned URL with an operation parameter changed",
        mutate=lambda r: r.update(url=r["url"].replace("PathPrefix=%2Fa%20b%2F", "PathPrefix=%2F")),
        expect_reason="signature-mismatch")
    neg("neg-presigned-signature-flipped", "presign-sts-getcalleridentity-get-60s", "Presigned URL with the last signature hex digit changed",
        mutate=lambda r: r.update(url=r["url"][:-1] + ("0" if r["url"][-1] != "0" else "1")), expect_reason="signature-mismatch")
    neg("neg-presigned-method-changed", "presign-sts-getcalleridentity-default-method-post",
        "URL presigned for POST (botocore default) sent as GET", mutate=lambda r: r.update(method="GET"),
        expect_reason="signature-mismatch")
    neg("ok-presigned-after-x-amz-expires-aws-semantics", "presign-sts-getcalleridentity-get-60s",
        "Presigned STS URL used 5 minutes after signing with X-Amz-Expires=60: AWS STS accepts it (X-Amz-Expires ignored outside S3)",
        server_time=_shift(T, minutes=5), expect_reason="valid",
        notes="aws/aws-sdk-go#2167 and PR #2224: only S3 honours X-Amz-Expires; other services use the fixed ~15 minute window.")
    neg("neg-presigned-after-x-amz-expires-strict", "presign-sts-getcalleridentity-get-60s",
        "Same request, for a verifier that enforces X-Amz-Expires (S3 semantics)",
        server_time=_shift(T, minutes=5), enforce_expires=True, expect_reason="presigned-url-expired")
    neg("neg-presigned-too-old", "presign-sts-max-expiry-604800",
        "Presigned URL with X-Amz-Expires=604800 used 16 minutes later: outside the 15-minute window for IAM/STS",
        server_time=_shift(T, minutes=16), expect_reason="signature-expired")
    vectors = positives


def write_negatives():
    doc = {
        "description": ("SigV4 failure and boundary cases for Coffer's verifier. Each entry is a positive vector from "
                        "botocore-vectors.json (base_vector) with one mutation or a different server clock/region/service. "
                        "'server' is what the verifier knows (its region, the service the endpoint serves, its clock, and "
                        "the access keys it holds). expect.reason is checked by tools/gen-sigv4-vectors.py; "
                        "expect.aws_error is AWS's observed error per protocol, see notes/protocol-facts.md for sources."),
        "generator": "tools/gen-sigv4-vectors.py",
        "count": len(negatives),
        "vectors": negatives,
    }
    with open(NEG_OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(negatives)} negative/boundary vectors to {os.path.normpath(NEG_OUT)}")


def main():
    build()
    doc = {
        "description": (
            "SigV4 vectors for IAM, STS (AWS Query) and Secrets Manager (AWS JSON 1.1), produced by botocore's "
            "SigV4Auth / SigV4QueryAuth and re-verified from the wire form by an independent server-side "
            "canonicalization (tools/gen-sigv4-vectors.py). Verify each request as received: "
            "method + url + headers + body, with the secret key from 'credentials', at time 'timestamp'."),
        "generator": "tools/gen-sigv4-vectors.py",
        "botocore_version": botocore.__version__,
        "schema": {
            "request.headers": "ordered [name, value] pairs as sent on the wire (Host and Content-Length added by the HTTP layer, unsigned unless listed in SignedHeaders)",
            "request.body": "UTF-8 body exactly as sent (hashed byte-for-byte)",
            "expected.canonical_request": "botocore's canonical request (lines joined by \\n, no trailing newline)",
            "expected.string_to_sign": "AWS4-HMAC-SHA256\\n<timestamp>\\n<scope>\\n<hex sha256 of canonical request>",
            "expected.signature": "lower-case hex HMAC-SHA256",
            "expires_seconds": "presigned only: X-Amz-Expires",
        },
        "count": len(vectors),
        "vectors": vectors,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(vectors)} vectors to {os.path.normpath(OUT)}")
    build_negative()
    write_negatives()


if __name__ == "__main__":
    sys.exit(main())
