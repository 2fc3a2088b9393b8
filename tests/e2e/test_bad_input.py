"""Issue 2: a corpus of malformed requests. Each gets a clear AWS-format error (never a panic, a 500 or
a hang), and afterwards the server still answers normally."""
import socket
import ssl
import subprocess
import xml.etree.ElementTree as ET

import pytest
import requests

from conftest import ACCOUNT, boto_client
from test_core import send, signed

JSON = {"Content-Type": "application/x-amz-json-1.1"}


def assert_xml_error(resp, status, code=None):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(resp.content)
    assert root.tag.endswith("ErrorResponse")
    got = root.find("{*}Error/{*}Code").text
    if code:
        assert got == code, resp.text
    assert root.find("{*}RequestId").text
    return got


def assert_json_error(resp, status, code=None):
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    if code:
        assert body["__type"] == code, body
    assert resp.headers["x-amzn-RequestId"]
    return body["__type"]


def json_request(srv, body, target="secretsmanager.GetSecretValue"):
    return signed(srv, body=body, service="secretsmanager", headers=dict(JSON, **{"X-Amz-Target": target}))


def query_request(srv, body, content_type="application/x-www-form-urlencoded"):
    return signed(srv, body=body, headers={"Content-Type": content_type})


MALFORMED_JSON = [
    b"{",
    b"[]",
    b'"a string"',
    b"123",
    b"null",
    b"\xff\xfe\xfd",
    b'{"SecretId": 5}',
    b'{"SecretId": ["a"]}',
    b'{"SecretId": {"a": 1}}',
    b'{"SecretId": "a", "SecretId": "b"',
    b"[" * 100000 + b"]" * 100000,
    b'{"SecretId": "' + b"\xc3\x28" + b'"}',
    # serde reads a structure from an array; AWS does not (the typed path must leave these alone).
    b'["db/password"]',
    b'["db/password", null, "AWSCURRENT"]',
    b'  [{"SecretId": "db/password"}]',
    # Unknown members are parsed as strictly as known ones.
    b'{"SecretId": "db/password", "X": "\\ud800"}',
    b'{"SecretId": "db/password", "X": "\xff"}',
    b'{"SecretId": "db/password", "X": 1e400}',
    b'{"SecretId": "db/password", "X": ' + b"[" * 200 + b"]" * 200 + b"}",
]


@pytest.mark.parametrize("body", MALFORMED_JSON, ids=range(len(MALFORMED_JSON)))
def test_malformed_json_bodies(server, body):
    resp = send(server, json_request(server, body))
    assert_json_error(resp, 400, "SerializationException")


def test_get_secret_value_bodies_answer_as_aws_whichever_path_decodes_them(server):
    """GetSecretValue is decoded straight into its typed request when the body is a valid one; the
    rest (duplicated members, nulls, wrong shapes) goes the canonical way. Both answer alike."""
    sm = boto_client("secretsmanager", server)
    sm.create_secret(Name="typed-path-secret", SecretString="typed-value")

    def value_of(body):
        resp = send(server, json_request(server, body))
        assert resp.status_code == 200, resp.text
        return resp.json()

    plain = value_of(b'{"SecretId": "typed-path-secret"}')
    assert plain["SecretString"] == "typed-value"
    assert plain["VersionStages"] == ["AWSCURRENT"]
    assert isinstance(plain["CreatedDate"], (int, float))
    assert set(plain) == {"ARN", "Name", "VersionId", "SecretString", "VersionStages", "CreatedDate"}
    # The last of two members wins, as on the canonical path; unknown members and nulls are ignored.
    for body in [
        b'{"SecretId": "no-such-secret", "SecretId": "typed-path-secret"}',
        b'{"SecretId": "typed-path-secret", "Unknown": {"a": [1, {}]}, "VersionStage": null}',
        b' {"SecretId": "typed-path-secret", "VersionId": null} ',
    ]:
        assert value_of(body) == plain, body
    for body, message in [
        (b'{"SecretId": null}', "Value null at 'secretId' failed to satisfy constraint: Member must not be null"),
        (b'{}', "Member must not be null"),
        (b'', "Member must not be null"),
        (b'{"SecretId": ""}', "Member must have length greater than or equal to 1"),
        (b'{"SecretId": "typed-path-secret", "VersionId": "short"}',
         "Member must have length greater than or equal to 32"),
    ]:
        resp = send(server, json_request(server, body))
        assert assert_json_error(resp, 400, "ValidationException") and message in resp.json()["Message"], (
            body, resp.text)
    resp = send(server, json_request(server, b'{"SecretId": "typed-path-secret", "VersionStage": "AWSPENDING"}'))
    assert_json_error(resp, 400, "ResourceNotFoundException")


MALFORMED_QUERY = [
    (b"Action=GetCallerIdentity&Version=2011-06-15&X=%ZZ", "application/x-www-form-urlencoded", 404, "MalformedQueryString"),
    (b"Action=GetCallerIdentity&Version=2011-06-15&X=%", "application/x-www-form-urlencoded", 404, "MalformedQueryString"),
    (b"Action=GetCallerIdentity&Version=2011-06-15&X=\xff\xfe", "application/x-www-form-urlencoded", 404,
     "MalformedQueryString"),
    (b"Action=Get%FFCallerIdentity&Version=2011-06-15", "application/x-www-form-urlencoded", 404, "MalformedQueryString"),
    (b"Action=GetCallerIdentity&Version=2011-06-15", "text/plain", 400, "InvalidParameterValue"),
    (b"\x00\x01\x02", "application/octet-stream", 400, "InvalidParameterValue"),
]


@pytest.mark.parametrize("body,content_type,status,code", MALFORMED_QUERY, ids=range(len(MALFORMED_QUERY)))
def test_malformed_query_bodies(server, body, content_type, status, code):
    resp = send(server, query_request(server, body, content_type))
    assert_xml_error(resp, status, code)


def test_query_body_with_json_content_type(server):
    resp = send(server, query_request(server, b"Action=GetCallerIdentity&Version=2011-06-15", "application/json"))
    assert_xml_error(resp, 400, "InvalidParameterValue")


def test_duplicated_query_parameters(server):
    # The first occurrence wins, as with the Java servlet API AWS's Query front ends are built on.
    resp = send(server, query_request(server, b"Action=GetCallerIdentity&Action=Bogus&Version=2011-06-15"))
    assert resp.status_code == 200, resp.text
    resp = send(server, query_request(server, b"Action=Bogus&Action=GetCallerIdentity&Version=2011-06-15"))
    assert_xml_error(resp, 400, "InvalidAction")


def test_query_huge_list_index_is_cheap(server):
    resp = send(server, signed(server, params={
        "Action": "TagUser", "Version": "2010-05-08", "UserName": "nobody",
        "Tags.member.999999999.Key": "k", "Tags.member.999999999.Value": "v"}, service="iam"))
    # Decoding a sparse list must neither allocate a billion entries nor hang.
    code = assert_xml_error(resp, resp.status_code)
    assert resp.status_code in (400, 404), (resp.status_code, code)


def test_oversize_body(server):
    body = b"Action=GetCallerIdentity&Version=2011-06-15&Pad=" + b"a" * (2 * 1024 * 1024)
    resp = requests.post(server.url + "/", data=body, verify=server.ca, timeout=60,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_xml_error(resp, 413, "RequestEntityTooLarge")
    resp = requests.post(server.url + "/", data=b"{" + b" " * (2 * 1024 * 1024) + b"}", verify=server.ca, timeout=60,
                         headers=dict(JSON, **{"X-Amz-Target": "secretsmanager.ListSecrets"}))
    assert_json_error(resp, 413, "RequestEntityTooLarge")


def test_oversize_body_chunked(server):
    def chunks():
        for _ in range(40):
            yield b"a" * 65536

    resp = requests.post(server.url + "/", data=chunks(), verify=server.ca, timeout=60,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_xml_error(resp, 413, "RequestEntityTooLarge")


def test_large_headers(server):
    resp = requests.post(server.url + "/", data="Action=GetCallerIdentity&Version=2011-06-15", verify=server.ca,
                         timeout=30, headers={"X-Padding": "p" * 20000,
                                              "Content-Type": "application/x-www-form-urlencoded"})
    assert_xml_error(resp, 431, "RequestHeaderFieldsTooLarge")
    try:
        resp = requests.get(server.url + "/", verify=server.ca, timeout=30, headers={"X-Padding": "p" * 200000})
        assert resp.status_code == 431
    except requests.exceptions.ConnectionError:
        pass  # hyper may close the connection outright for headers this large


@pytest.mark.parametrize("header", [
    "garbage \t\t garbage",
    "AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;;;, Signature=zz",
    "AWS4-HMAC-SHA256 Credential=A/B/C/D/E/F/G, SignedHeaders=host, Signature=" + "0" * 64,
    "AWS4-HMAC-SHA256 Credential=" + "A" * 5000 + ", SignedHeaders=host, Signature=" + "0" * 64,
    "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/sts/aws4_request,,,,Signature=,SignedHeaders=",
])
def test_garbage_authorization(server, header):
    resp = requests.post(server.url + "/", data="Action=GetCallerIdentity&Version=2011-06-15", verify=server.ca,
                         timeout=30, headers={"Authorization": header, "X-Amz-Date": "20240101T000000Z",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    code = assert_xml_error(resp, resp.status_code)
    assert resp.status_code in (400, 403)
    assert code in ("IncompleteSignature", "InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_unsupported_methods(server, method):
    resp = requests.request(method, server.url + "/?Action=GetCallerIdentity&Version=2011-06-15",
                            verify=server.ca, timeout=30)
    assert_xml_error(resp, 405, "MethodNotAllowed")


def test_json_content_type_without_target(server):
    resp = send(server, signed(server, body=b"{}", service="secretsmanager", headers=JSON))
    assert_json_error(resp, 400, "UnknownOperationException")


def test_json_target_with_wrong_content_type(server):
    resp = send(server, signed(server, body=b"{}", service="secretsmanager", headers={
        "X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": "text/plain"}))
    assert_json_error(resp, 400)


def raw_exchange(srv, payload, read_timeout=15):
    ctx = ssl.create_default_context(cafile=srv.ca)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=read_timeout) as sock:
        with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(payload)
            # Half-close is not possible over TLS without closing; the server sees the body end at
            # close_notify, which unwrap() sends.
            try:
                raw = tls.unwrap()
            except (ssl.SSLError, OSError):
                raw = None
            data = b""
            src = raw or tls
            try:
                while True:
                    chunk = src.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (socket.timeout, ssl.SSLError, OSError):
                pass
            return data


def test_truncated_body(server):
    payload = (b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: 500\r\n\r\nAction=GetCallerIdentity")
    data = raw_exchange(server, payload)
    # Either an AWS-format 400 arrives before the connection closes, or nothing (client gone): never a 5xx.
    if data:
        head = data.split(b"\r\n", 1)[0]
        assert head.startswith(b"HTTP/1.1 4"), data[:300]
        assert b"<ErrorResponse" in data


def test_not_http_at_all(server):
    data = raw_exchange(server, b"\x00\x01\x02 hello there\r\n\r\n")
    assert not data.startswith(b"HTTP/1.1 5")


def test_http2_request(server):
    out = subprocess.run(["curl", "-sS", "--http2", "--cacert", server.ca, "-o", "/dev/null", "-w", "%{http_version}",
                          f"{server.url}/?Action=GetCallerIdentity&Version=2011-06-15"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout == "2", out


def test_server_still_serves_after_corpus(server):
    # Runs last in this module: everything above must have left the server healthy.
    assert boto_client("sts", server).get_caller_identity()["Account"] == ACCOUNT
    assert server.proc.poll() is None
    assert not any("panicked" in line for line in server.stderr_lines)
