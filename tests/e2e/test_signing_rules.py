"""Issue 11, point 4: signing rules no looser than AWS's.

- Secrets Manager is SigV4 only: a SigV2 request (even one correctly signed, even a long-lived
  `Expires` link) is not authentication there, and is answered like a request without any.
- Where SigV2 stays (IAM, STS), `Expires` may be at most 15 minutes ahead: no long-lived bearer URLs.
- `X-Amz-Content-Sha256: UNSIGNED-PAYLOAD` is S3's alone: a request signed over it is refused, so a
  captured request cannot be replayed with another body. Presigned requests cover their body too.
"""
import base64
import datetime
import hashlib
import hmac
import json
import urllib.parse
import uuid

import botocore.auth
import botocore.awsrequest
import pytest
import requests
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT_KEY, ROOT_SECRET, boto_client
from test_core import MISMATCH, creds, send, xml_error

SM_QUERY_VERSION = "2017-10-17"
NO_AUTH_JSON = ("MissingAuthenticationTokenException", "Missing Authentication Token")
NO_AUTH_QUERY = ("Sender", "MissingAuthenticationToken", "Request is missing Authentication Token")


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def sigv2_params(srv, http_method, params, method="HmacSHA256", key=ROOT_KEY, secret=ROOT_SECRET,
                 **time_param):
    """`params` signed with Signature Version 2 (the documented algorithm, as the SDKs implement it)."""
    host = urllib.parse.urlsplit(srv.url).netloc
    signed = dict(params, AWSAccessKeyId=key, SignatureVersion="2", SignatureMethod=method, **time_param)
    canonical = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(signed.items()))
    to_sign = f"{http_method}\n{host}\n/\n{canonical}"
    digest = hashlib.sha256 if method == "HmacSHA256" else hashlib.sha1
    signed["Signature"] = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), digest).digest()).decode()
    return signed


@pytest.fixture(scope="module")
def secret(server):
    sm = boto_client("secretsmanager", server)
    name = f"signing/{uuid.uuid4().hex[:10]}"
    sm.create_secret(Name=name, SecretString="the-value-itself")
    return name


# ---------------------------------------------------------------- SigV2 and Secrets Manager


@pytest.mark.parametrize("method", ["HmacSHA1", "HmacSHA256"])
@pytest.mark.parametrize("time_param", ["Expires", "Timestamp"])
def test_sigv2_is_no_authentication_for_secrets_manager_over_query(server, secret, method, time_param):
    when = {"Expires": "2099-01-01T00:00:00Z"} if time_param == "Expires" else {"Timestamp": iso(utc_now())}
    params = sigv2_params(server, "GET", {"Action": "GetSecretValue", "Version": SM_QUERY_VERSION,
                                          "SecretId": secret}, method=method, **when)
    resp = requests.get(server.url + "/", params=params, verify=server.ca, timeout=30)
    assert resp.status_code == 403, resp.text
    assert xml_error(resp) == NO_AUTH_QUERY
    assert "the-value-itself" not in resp.text
    # The same over POST, with the parameters in the form body.
    params = sigv2_params(server, "POST", {"Action": "GetSecretValue", "Version": SM_QUERY_VERSION,
                                           "SecretId": secret}, method=method, **when)
    resp = requests.post(server.url + "/", data=params, verify=server.ca, timeout=30)
    assert resp.status_code == 403, resp.text
    assert xml_error(resp) == NO_AUTH_QUERY


@pytest.mark.parametrize("method", ["HmacSHA1", "HmacSHA256"])
def test_sigv2_is_no_authentication_for_secrets_manager_over_json(server, secret, method):
    params = sigv2_params(server, "POST", {}, method=method, Expires="2099-01-01T00:00:00Z")
    resp = requests.post(server.url + "/", params=params, data=json.dumps({"SecretId": secret}),
                         verify=server.ca, timeout=30, headers={
                             "X-Amz-Target": "secretsmanager.GetSecretValue",
                             "Content-Type": "application/x-amz-json-1.1"})
    assert resp.status_code == 400, resp.text
    assert (resp.json()["__type"], resp.json()["message"]) == NO_AUTH_JSON
    assert "the-value-itself" not in resp.text


def test_sigv2_refusal_comes_before_the_key_is_looked_up(server, secret):
    # An unknown key gets the same answer: the service does not read SigV2's parameters at all.
    params = sigv2_params(server, "GET", {"Action": "GetSecretValue", "Version": SM_QUERY_VERSION,
                                          "SecretId": secret}, key="AKIAUNKNOWNUNKNOWN00",
                          Timestamp=iso(utc_now()))
    resp = requests.get(server.url + "/", params=params, verify=server.ca, timeout=30)
    assert resp.status_code == 403
    assert xml_error(resp) == NO_AUTH_QUERY


# ---------------------------------------------------------------- SigV2 Expires where SigV2 stays

STS_QUERY = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
IAM_QUERY = {"Action": "GetUser", "Version": "2010-05-08"}


@pytest.mark.parametrize("query", [STS_QUERY, IAM_QUERY], ids=["sts", "iam"])
@pytest.mark.parametrize("method", ["HmacSHA1", "HmacSHA256"])
def test_sigv2_expires_within_fifteen_minutes_is_accepted(server, query, method):
    params = sigv2_params(server, "GET", query, method=method,
                          Expires=iso(utc_now() + datetime.timedelta(minutes=10)))
    resp = requests.get(server.url + "/", params=params, verify=server.ca, timeout=30)
    assert resp.status_code == 200, resp.text
    assert f"arn:aws:iam::{ACCOUNT}:root" in resp.text


@pytest.mark.parametrize("query", [STS_QUERY, IAM_QUERY], ids=["sts", "iam"])
@pytest.mark.parametrize("expires", ["2099-01-01T00:00:00Z", "later"])
def test_sigv2_expires_far_ahead_is_refused(server, query, expires):
    if expires == "later":
        expires = iso(utc_now() + datetime.timedelta(minutes=20))
    for http_method in ("GET", "POST"):
        params = sigv2_params(server, http_method, query, method="HmacSHA1", Expires=expires)
        if http_method == "GET":
            resp = requests.get(server.url + "/", params=params, verify=server.ca, timeout=30)
        else:
            resp = requests.post(server.url + "/", data=params, verify=server.ca, timeout=30)
        assert resp.status_code == 403, resp.text
        kind, code, message = xml_error(resp)
        assert (kind, code) == ("Sender", "SignatureDoesNotMatch")
        assert message.startswith(f"Signature expiry too far ahead: Expires {expires} is later than "), message
        assert message.endswith(" + 15 min.)"), message


def test_sigv2_expires_in_the_past_is_refused(server):
    expires = iso(utc_now() - datetime.timedelta(minutes=1))
    params = sigv2_params(server, "GET", STS_QUERY, Expires=expires)
    resp = requests.get(server.url + "/", params=params, verify=server.ca, timeout=30)
    assert resp.status_code == 400
    assert xml_error(resp) == ("Sender", "RequestExpired", f"Request has expired. Expires date is {expires}")


# ---------------------------------------------------------------- UNSIGNED-PAYLOAD


def unsigned_payload_client(service, srv):
    """A boto3 client that signs `UNSIGNED-PAYLOAD` instead of the body, as botocore does when
    payload signing is turned off (`payload_signing_enabled`, honoured over HTTPS)."""
    client = boto_client(service, srv)

    def disable_payload_signing(request, **_):
        request.context["payload_signing_enabled"] = False

    client.meta.events.register("before-sign", disable_payload_signing)
    return client


def test_unsigned_payload_refused_by_secrets_manager(server, secret):
    client = unsigned_payload_client("secretsmanager", server)
    sent = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(dict(request.headers)))
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=secret)
    # The client really sent an unsigned payload (the point of the test).
    assert sent and sent[-1].get("X-Amz-Content-SHA256") in ("UNSIGNED-PAYLOAD", b"UNSIGNED-PAYLOAD")
    err = e.value.response
    assert (err["Error"]["Code"], err["Error"]["Message"]) == ("InvalidSignatureException", MISMATCH)
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The same client with payload signing on reads the secret: only the unsigned body was refused.
    assert boto_client("secretsmanager", server).get_secret_value(SecretId=secret)["SecretString"] == \
        "the-value-itself"


@pytest.mark.parametrize("service,call", [("sts", "get_caller_identity"), ("iam", "list_users")])
def test_unsigned_payload_refused_by_query_services(server, service, call):
    with pytest.raises(ClientError) as e:
        getattr(unsigned_payload_client(service, server), call)()
    err = e.value.response
    assert (err["Error"]["Code"], err["Error"]["Message"]) == ("SignatureDoesNotMatch", MISMATCH)
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_captured_unsigned_payload_request_cannot_be_replayed_with_another_body(server, secret):
    sm = boto_client("secretsmanager", server)
    other = f"signing/other-{uuid.uuid4().hex[:10]}"
    sm.create_secret(Name=other, SecretString="someone-elses-value")
    headers = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
    request = botocore.awsrequest.AWSRequest(method="POST", url=server.url + "/",
                                             data=json.dumps({"SecretId": secret}).encode(), headers=headers)
    request.context["payload_signing_enabled"] = False
    botocore.auth.SigV4Auth(creds(), "secretsmanager", "us-east-1").add_auth(request)
    captured = request.prepare()
    assert captured.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    for body in (captured.body, json.dumps({"SecretId": other}).encode()):
        resp = requests.post(captured.url, data=body, headers=dict(captured.headers), verify=server.ca,
                             timeout=30)
        assert resp.status_code == 400, resp.text
        assert (resp.json()["__type"], resp.json()["message"]) == ("InvalidSignatureException", MISMATCH)
        assert "value" not in resp.json()
        assert "someone-elses-value" not in resp.text and "the-value-itself" not in resp.text


# ---------------------------------------------------------------- presigned requests with a body


class PresignKeepingBody(botocore.auth.SigV4QueryAuth):
    """botocore's presigner, except that the (JSON) body stays the body: botocore would move it into
    the query string. The canonical request then hashes the body, as for any non-S3 request."""

    def _modify_request_before_signing(self, request):
        body = request.data
        request.data = b""
        super()._modify_request_before_signing(request)
        request.data = body


class PresignUnsignedPayload(PresignKeepingBody):
    """Presigned as S3 does it: `UNSIGNED-PAYLOAD` in place of the body's hash."""

    def payload(self, request):
        return botocore.auth.UNSIGNED_PAYLOAD


def presigned_get_secret_value(srv, secret_id, signer=PresignKeepingBody):
    headers = {"X-Amz-Target": "secretsmanager.GetSecretValue", "Content-Type": "application/x-amz-json-1.1"}
    request = botocore.awsrequest.AWSRequest(method="POST", url=srv.url + "/",
                                             data=json.dumps({"SecretId": secret_id}).encode(), headers=headers)
    signer(creds(), "secretsmanager", "us-east-1", expires=300).add_auth(request)
    prepared = request.prepare()
    assert "X-Amz-Signature=" in prepared.url and "Authorization" not in prepared.headers
    return prepared


def post(srv, prepared, body, extra_headers=None):
    headers = dict(prepared.headers)
    headers.update(extra_headers or {})
    return requests.post(prepared.url, data=body, headers=headers, verify=srv.verify, timeout=30)


def test_presigned_secrets_manager_request_covers_its_body(server, secret):
    sm = boto_client("secretsmanager", server)
    other = f"signing/presigned-other-{uuid.uuid4().hex[:10]}"
    sm.create_secret(Name=other, SecretString="someone-elses-value")
    prepared = presigned_get_secret_value(server, secret)
    resp = post(server, prepared, prepared.body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["SecretString"] == "the-value-itself"

    another_body = json.dumps({"SecretId": other}).encode()
    attempts = [
        ("another body", {}),
        ("another body claimed unsigned", {"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}),
        ("another body with the signed body's hash claimed",
         {"X-Amz-Content-Sha256": hashlib.sha256(prepared.body).hexdigest()}),
    ]
    for what, extra in attempts:
        resp = post(server, prepared, another_body, extra)
        assert resp.status_code == 400, (what, resp.text)
        assert resp.json()["__type"] == "InvalidSignatureException", what
        assert "someone-elses-value" not in resp.text, what


def test_presigned_over_unsigned_payload_is_refused(server, secret):
    prepared = presigned_get_secret_value(server, secret, signer=PresignUnsignedPayload)
    for extra in ({}, {"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}):
        resp = post(server, prepared, prepared.body, extra)
        assert resp.status_code == 400, resp.text
        assert (resp.json()["__type"], resp.json()["message"]) == ("InvalidSignatureException", MISMATCH)
        assert "the-value-itself" not in resp.text


def test_query_presigned_url_with_a_body_added_is_refused(server):
    # A presigned STS URL (signed over an empty body) does not accept a body added on the way.
    url = boto_client("sts", server).generate_presigned_url("get_caller_identity", HttpMethod="POST")
    assert requests.post(url, verify=server.ca, timeout=30).status_code == 200
    resp = requests.post(url, data={"Extra": "1"}, verify=server.ca, timeout=30)
    assert resp.status_code == 403, resp.text
    assert xml_error(resp)[1:] == ("SignatureDoesNotMatch", MISMATCH)
    resp = requests.post(url, data=b"Extra=1", verify=server.ca, timeout=30,
                         headers={"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
                                  "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 403, resp.text
    assert xml_error(resp)[1:] == ("SignatureDoesNotMatch", MISMATCH)
