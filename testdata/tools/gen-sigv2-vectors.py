#!/usr/bin/env python3
"""Generate AWS Signature Version 2 (Query API) test vectors for Coffer's verifier.

Writes testdata/sigv2-vectors/vectors.json (path relative to this file).

Sources of truth, in order:
  * the worked example from the AWS documentation (Amazon EMR developer guide /
    AWS General Reference "Signature Version 2 signing process": DescribeJobFlows,
    expected Signature i91nKc4PWAt0JJIdXwz9HxZCJDdiy6cf/Mj6vPxyYIs=);
  * botocore's ``SigV2Auth`` (HmacSHA256, Timestamp) for the IAM / STS / Secrets Manager
    vectors: the signature and the canonical query string are botocore's output;
  * for variants botocore cannot produce (SignatureMethod=HmacSHA1, Expires instead of
    Timestamp) an independent implementation of the documented algorithm below, which is
    first checked against the AWS example and against every botocore vector.

String to sign (AWS docs):
    HTTPVerb + "\\n" + lowercase(Host header, port only if non-default) + "\\n" +
    HTTPRequestURI (absolute path, '/' if empty) + "\\n" + CanonicalizedQueryString
CanonicalizedQueryString: all parameters except Signature, from the GET query or the
POST form body, sorted by name with natural byte ordering, names and values
RFC 3986-encoded (unreserved A-Z a-z 0-9 - _ . ~ kept, upper-case hex, space = %20),
joined as name=value with '&'.  Signature = Base64(HMAC-<alg>(secret, string_to_sign)).

Usage:  python3 tools/gen-sigv2-vectors.py   (needs botocore; deterministic output)
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import time
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import botocore
import botocore.auth
from botocore.auth import SigV2Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "sigv2-vectors", "vectors.json")

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DOC_AKID = "AKIAIOSFODNN7EXAMPLE"
DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ASIA = "ASIAIOSFODNN7EXAMPLE"
ASIA_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
TOKEN = ("IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+EXAMPLE"
         "TOKENa1b2c3d4e5f6/g7h8i9j0k+l1m2n3o4p5q6r7s8t9u0v1w2x3y4z5==")


# --------------------------------------------------------------------------------------
# Independent implementation of the documented algorithm (used as a cross-check, and for
# HmacSHA1 / Expires variants that botocore does not produce).
# --------------------------------------------------------------------------------------
UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


def enc(s: str) -> str:
    return "".join(c if c in UNRESERVED else "".join("%%%02X" % b for b in c.encode("utf-8"))
                   for c in s)


def canonical_query(params: list[tuple[str, str]]) -> str:
    pairs = [(enc(k), enc(v)) for k, v in params if k != "Signature"]
    # Natural byte ordering of the names; encoded names sort like the UTF-8 names
    # because unreserved characters and '%XX' keep the byte order of ASCII names.
    pairs.sort(key=lambda kv: kv[0].encode())
    return "&".join(f"{k}={v}" for k, v in pairs)


def string_to_sign(method: str, host: str, path: str, params) -> str:
    return f"{method}\n{host.lower()}\n{path or '/'}\n{canonical_query(params)}"


def sign(secret: str, sts: str, method: str) -> str:
    digest = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}[method]
    return base64.b64encode(hmac.new(secret.encode(), sts.encode("utf-8"), digest).digest()).decode()


# --------------------------------------------------------------------------------------
vectors: list[dict] = []


def add(vid, desc, source, method, url, params, secret, sig_method, sts, signature,
        body_encoding=None, notes=None, access_key=None, session_token=None):
    parts = urlsplit(url)
    host = parts.netloc
    path = parts.path or "/"
    # Independent cross-check of every vector.
    mine = string_to_sign(method, host, path, params)
    assert mine == sts, (vid, mine, sts)
    assert sign(secret, mine, sig_method) == signature, (vid, "signature mismatch")
    all_params = list(params) + [("Signature", signature)]
    if method == "GET":
        wire_url = f"{parts.scheme}://{host}{path}?" + "&".join(f"{enc(k)}={enc(v)}" for k, v in all_params)
        body = ""
        headers = [["Host", host]]
    else:
        wire_url = f"{parts.scheme}://{host}{path}"
        if body_encoding == "form-plus":  # what Python's urlencode (and botocore's AWSRequest) sends
            body = urlencode(all_params)
        else:
            body = "&".join(f"{enc(k)}={enc(v)}" for k, v in all_params)
        headers = [["Host", host], ["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"],
                   ["Content-Length", str(len(body.encode()))]]
    v = {
        "id": vid,
        "description": desc,
        "source": source,
        "method": method,
        "host": host,
        "path": path,
        "params": [[k, val] for k, val in params],
        "credentials": {"access_key_id": access_key or dict(params).get("AWSAccessKeyId"),
                        "secret_access_key": secret},
        "signature_method": sig_method,
        "expected": {"string_to_sign": sts, "signature": signature},
        "request": {"method": method, "url": wire_url, "headers": headers, "body": body},
    }
    if session_token:
        v["credentials"]["session_token"] = session_token
    if notes:
        v["notes"] = notes
    vectors.append(v)


_fixed = [time.gmtime(0)]
_real_gmtime = time.gmtime


def _fake_gmtime(*a):
    return _fixed[0] if not a else _real_gmtime(*a)


def botocore_v2(vid, desc, method, url, params: dict, creds: Credentials, ts: str, notes=None):
    """Sign with botocore.auth.SigV2Auth at a fixed Timestamp; record its output."""
    _fixed[0] = time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")
    botocore.auth.time.gmtime = _fake_gmtime
    try:
        p = dict(params)
        if method == "GET":
            req = AWSRequest(method="GET", url=url, params=p)
        else:
            req = AWSRequest(method="POST", url=url, data=p)
        SigV2Auth(creds).add_auth(req)
        signed = req.params if method == "GET" else req.data
        signature = signed["Signature"]
        # botocore's own canonical query string (calc_signature returns it)
        qs, sig2 = SigV2Auth(creds).calc_signature(req, {k: v for k, v in signed.items() if k != "Signature"})
        assert sig2 == signature
    finally:
        botocore.auth.time.gmtime = _real_gmtime
    parts = urlsplit(url)
    sts = f"{method}\n{parts.netloc}\n{parts.path or '/'}\n{qs}"
    ordered = [(k, str(v)) for k, v in signed.items() if k != "Signature"]
    add(vid, desc, f"botocore {botocore.__version__} botocore.auth.SigV2Auth", method, url, ordered,
        creds.secret_key, "HmacSHA256", sts, signature,
        body_encoding="form-plus" if method == "POST" else None, notes=notes,
        access_key=creds.access_key, session_token=creds.token)


def independent(vid, desc, method, url, params: list, secret, sig_method, notes=None, session_token=None):
    parts = urlsplit(url)
    sts = string_to_sign(method, parts.netloc, parts.path or "/", params)
    add(vid, desc, "independent implementation of the AWS-documented SigV2 algorithm (tools/gen-sigv2-vectors.py)",
        method, url, params, secret, sig_method, sts, sign(secret, sts, sig_method), notes=notes,
        session_token=session_token)


def build():
    std = Credentials(AKID, SECRET)
    tmp = Credentials(ASIA, ASIA_SECRET, TOKEN)
    T = "2024-01-15T09:30:00Z"

    # 1. The documented AWS example (expected signature published by AWS).
    doc_params = [("Action", "DescribeJobFlows"), ("Version", "2009-03-31"), ("AWSAccessKeyId", DOC_AKID),
                  ("SignatureVersion", "2"), ("SignatureMethod", "HmacSHA256"), ("Timestamp", "2011-10-03T15:19:30")]
    doc_sts = ("GET\nelasticmapreduce.amazonaws.com\n/\nAWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Action=DescribeJobFlows"
               "&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2011-10-03T15%3A19%3A30&Version=2009-03-31")
    add("aws-doc-emr-describejobflows",
        "Worked example from the AWS docs (EMR DescribeJobFlows): string to sign and signature as published",
        "AWS documentation: Amazon EMR Developer Guide 'Generate a signature' / AWS General Reference 'Signature Version 2 signing process'",
        "GET", "https://elasticmapreduce.amazonaws.com/", doc_params, DOC_SECRET, "HmacSHA256",
        doc_sts, "i91nKc4PWAt0JJIdXwz9HxZCJDdiy6cf/Mj6vPxyYIs=",
        notes="Published signature i91nKc4PWAt0JJIdXwz9HxZCJDdiy6cf/Mj6vPxyYIs= (URL-encoded in the doc as i91nKc4PWAt0JJIdXwz9HxZCJDdiy6cf%2FMj6vPxyYIs%3D). Timestamp has no 'Z' in the doc example.")

    IAM = "https://iam.amazonaws.com/"
    STS = "https://sts.amazonaws.com/"
    SM = "https://secretsmanager.us-east-1.amazonaws.com/"

    # 2-14. botocore SigV2Auth (HmacSHA256 + Timestamp)
    botocore_v2("iam-listusers-get", "IAM ListUsers as GET", "GET", IAM,
                {"Action": "ListUsers", "Version": "2010-05-08"}, std, T)
    botocore_v2("iam-listusers-post", "IAM ListUsers as POST form (body encoded by urlencode: ':' as %3A)", "POST", IAM,
                {"Action": "ListUsers", "Version": "2010-05-08", "MaxItems": "100"}, std, T)
    botocore_v2("iam-createuser-path", "IAM CreateUser with a Path: '/' is encoded as %2F in the canonical query", "POST", IAM,
                {"Action": "CreateUser", "Version": "2010-05-08", "UserName": "Bob", "Path": "/division_abc/subdivision_xyz/"}, std, T)
    botocore_v2("iam-putuserpolicy-json", "IAM PutUserPolicy with a JSON policy document (braces, quotes, colons, '*', spaces, newlines)",
                "POST", IAM,
                {"Action": "PutUserPolicy", "Version": "2010-05-08", "UserName": "Bob", "PolicyName": "All",
                 "PolicyDocument": '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]\n}'},
                std, T)
    botocore_v2("iam-tag-unicode-values", "IAM TagUser with UTF-8 values (é, 日本, emoji): percent-encoded UTF-8 bytes, upper-case hex",
                "POST", IAM,
                {"Action": "TagUser", "Version": "2010-05-08", "UserName": "Bob",
                 "Tags.member.1.Key": "Name", "Tags.member.1.Value": "Jöhn Dœ 日本 🚀"}, std, T)
    botocore_v2("iam-reserved-characters", "Values with space, '+', '*', '~', '!', quote, '(', ')', '&', '=', '%': space is %20 (never '+'), '~' stays",
                "GET", IAM,
                {"Action": "ListUsers", "Version": "2010-05-08", "PathPrefix": "/a b+c*d~e!f'g(h)i&j=k%l/"}, std, T)
    botocore_v2("iam-sort-byte-order", "Parameter sorting by byte order: upper case before lower case, Tags.member.10 before Tags.member.2",
                "GET", IAM,
                {"Action": "TagUser", "Version": "2010-05-08", "UserName": "Bob",
                 "Tags.member.2.Key": "b", "Tags.member.2.Value": "2", "Tags.member.10.Key": "a", "Tags.member.10.Value": "10",
                 "Tags.member.1.Key": "c", "Tags.member.1.Value": "1", "aLower": "x", "Zupper": "y"}, std, T)
    botocore_v2("iam-empty-value", "Empty parameter value: still serialised as 'Marker=' in the canonical query", "GET", IAM,
                {"Action": "ListUsers", "Version": "2010-05-08", "Marker": ""}, std, T)
    botocore_v2("sts-getcalleridentity-get", "STS GetCallerIdentity as GET (global endpoint)", "GET", STS,
                {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, std, T)
    botocore_v2("sts-assumerole-post", "STS AssumeRole POST with inline Policy JSON and DurationSeconds", "POST", STS,
                {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::123456789012:role/demo",
                 "RoleSessionName": "session@example.com", "DurationSeconds": "3600",
                 "Policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'}, std, T)
    botocore_v2("sts-getsessiontoken-securitytoken", "Temporary credentials: SecurityToken parameter is part of the signed query", "POST", STS,
                {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, tmp, T)
    botocore_v2("secretsmanager-query-get", "Secrets Manager over Query (Coffer extension), GET with Version=2017-10-17", "GET", SM,
                {"Action": "GetSecretValue", "Version": "2017-10-17", "SecretId": "prod/db/password"}, std, T)
    botocore_v2("iam-localhost-port", "Custom endpoint http://localhost:4566: the host line carries the port", "POST",
                "http://localhost:4566/", {"Action": "ListUsers", "Version": "2010-05-08"}, std, T,
                notes="botocore uses the URL netloc verbatim; AWS docs: lower-case host, port only when non-default.")
    botocore_v2("iam-year-boundary", "Timestamp one second before midnight UTC on 31 Dec", "GET", IAM,
                {"Action": "GetUser", "Version": "2010-05-08"}, std, "2023-12-31T23:59:59Z")

    # 15-20. Independent implementation: HmacSHA1, Expires, paths
    independent("iam-listusers-hmacsha1", "SignatureMethod=HmacSHA1 (allowed by the Query API common parameters; botocore signs only HmacSHA256)",
                "GET", IAM,
                [("Action", "ListUsers"), ("Version", "2010-05-08"), ("AWSAccessKeyId", AKID), ("SignatureVersion", "2"),
                 ("SignatureMethod", "HmacSHA1"), ("Timestamp", T)], SECRET, "HmacSHA1")
    independent("sts-post-hmacsha1", "HmacSHA1 POST to STS", "POST", STS,
                [("Action", "GetCallerIdentity"), ("Version", "2011-06-15"), ("AWSAccessKeyId", AKID),
                 ("SignatureVersion", "2"), ("SignatureMethod", "HmacSHA1"), ("Timestamp", T)], SECRET, "HmacSHA1")
    independent("iam-expires-instead-of-timestamp", "Expires instead of Timestamp (requests carry one or the other, never both)",
                "GET", IAM,
                [("Action", "ListUsers"), ("Version", "2010-05-08"), ("AWSAccessKeyId", AKID), ("SignatureVersion", "2"),
                 ("SignatureMethod", "HmacSHA256"), ("Expires", "2024-01-15T09:45:00Z")], SECRET, "HmacSHA256",
                notes="The request is valid until Expires; a server should reject it after that instant.")
    independent("iam-expires-hmacsha1-session-token", "Expires + HmacSHA1 + SecurityToken", "POST", IAM,
                [("Action", "GetUser"), ("Version", "2010-05-08"), ("AWSAccessKeyId", ASIA), ("SignatureVersion", "2"),
                 ("SignatureMethod", "HmacSHA1"), ("Expires", "2024-01-15T09:45:00Z"), ("SecurityToken", TOKEN)],
                ASIA_SECRET, "HmacSHA1", session_token=TOKEN)
    independent("iam-non-root-path", "Request URI other than '/' (behind a reverse proxy): the path line is the absolute path",
                "GET", "https://coffer.example.com/iam/",
                [("Action", "ListUsers"), ("Version", "2010-05-08"), ("AWSAccessKeyId", AKID), ("SignatureVersion", "2"),
                 ("SignatureMethod", "HmacSHA256"), ("Timestamp", T)], SECRET, "HmacSHA256")
    independent("iam-uppercase-host", "Host header sent in upper case: the string to sign uses it lower-cased",
                "GET", "https://IAM.AmazonAWS.com/",
                [("Action", "ListUsers"), ("Version", "2010-05-08"), ("AWSAccessKeyId", AKID), ("SignatureVersion", "2"),
                 ("SignatureMethod", "HmacSHA256"), ("Timestamp", T)], SECRET, "HmacSHA256",
                notes="botocore would sign the netloc as written; the AWS docs specify ValueOfHostHeaderInLowercase.")


def main():
    build()
    doc = {
        "description": ("AWS Signature Version 2 vectors for Query requests (IAM, STS, Secrets Manager over Query). "
                        "Each vector gives the parameters (all but Signature, in sent order), the expected string to sign "
                        "and Base64 signature, and the wire request carrying Signature."),
        "generator": "tools/gen-sigv2-vectors.py",
        "botocore_version": botocore.__version__,
        "algorithm": ("StringToSign = HTTPVerb\\nlowercase(Host)\\nHTTPRequestURI\\nCanonicalizedQueryString; "
                      "Signature = Base64(HMAC-SHA256|HMAC-SHA1(secret, StringToSign))"),
        "count": len(vectors),
        "vectors": vectors,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(vectors)} vectors to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    sys.exit(main())
