"""Issue 2: the endpoint, both wire protocols and authentication, driven by real AWS clients."""
import datetime
import json
import subprocess
import urllib.parse
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import requests
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT_KEY, ROOT_SECRET, boto_client, cli_env

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
STS_QUERY = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}


def creds(key=ROOT_KEY, secret=ROOT_SECRET, token=None):
    return botocore.credentials.Credentials(key, secret, token)


def signed(srv, method="POST", params=None, body=None, headers=None, service="sts", region="us-east-1",
           key=ROOT_KEY, secret=ROOT_SECRET, when=None):
    """A request signed with botocore's own SigV4 signer, optionally at another time."""
    url = srv.url + "/"
    hdrs = dict(headers or {})
    if method == "GET":
        url += "?" + urllib.parse.urlencode(params or STS_QUERY)
    elif body is None:
        body = urllib.parse.urlencode(params or STS_QUERY)
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=hdrs)
    signer = botocore.auth.SigV4Auth(creds(key, secret), service, region)
    if when is None:
        signer.add_auth(req)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(req)
    return req.prepare()


def send(srv, prepared):
    return requests.request(prepared.method, prepared.url, data=prepared.body,
                            headers=dict(prepared.headers), verify=srv.verify, timeout=30)


def xml_error(resp):
    import xml.etree.ElementTree as ET
    root = ET.fromstring(resp.content)
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    err = root.find(f"{ns}Error")
    assert root.find(f"{ns}RequestId").text
    return (err.find(f"{ns}Type").text, err.find(f"{ns}Code").text, err.find(f"{ns}Message").text)


def sm_json(srv, target="secretsmanager.ListSecrets", body=b"{}", **kw):
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    return signed(srv, body=body, headers=headers, service="secretsmanager", **kw)


# ---------------------------------------------------------------- happy paths


def test_aws_cli_get_caller_identity(server):
    out = subprocess.run(
        ["aws", "sts", "get-caller-identity", "--endpoint-url", server.url, "--output", "json"],
        env=cli_env(server), capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    ident = json.loads(out.stdout)
    assert ident == {"UserId": ACCOUNT, "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"}


def test_boto3_get_caller_identity(server):
    ident = boto_client("sts", server).get_caller_identity()
    assert ident["Account"] == ACCOUNT
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert ident["UserId"] == ACCOUNT
    assert ident["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert ident["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_boto3_any_region(server, region):
    assert boto_client("sts", server, region=region).get_caller_identity()["Account"] == ACCOUNT


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_curl_aws_sigv4(server, method):
    query = "Action=GetCallerIdentity&Version=2011-06-15"
    args = ["curl", "-sS", "--cacert", server.ca, "--aws-sigv4", "aws:amz:us-east-1:sts",
            "--user", f"{ROOT_KEY}:{ROOT_SECRET}", "-w", "\n%{http_code}"]
    if method == "GET":
        args.append(f"{server.url}/?{query}")
    else:
        args += ["-H", "Content-Type: application/x-www-form-urlencoded", "--data", query, server.url + "/"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    body, status = out.stdout.rsplit("\n", 1)
    assert status == "200", body
    assert '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' in body
    assert f"<Account>{ACCOUNT}</Account>" in body
    assert f"<Arn>arn:aws:iam::{ACCOUNT}:root</Arn>" in body
    assert "<RequestId>" in body


def test_query_get_and_post_raw(server):
    for method in ("GET", "POST"):
        resp = send(server, signed(server, method=method))
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].startswith("text/xml")
        assert resp.headers["x-amzn-RequestId"]
        assert resp.headers["x-amzn-RequestId"] in resp.text


@pytest.mark.parametrize("http_method", ["GET", "POST"])
def test_presigned_url(server, http_method):
    sts = boto_client("sts", server)
    url = sts.generate_presigned_url("get_caller_identity", HttpMethod=http_method, ExpiresIn=60)
    assert "X-Amz-Signature=" in url
    resp = requests.request(http_method, url, verify=server.ca, timeout=30)
    assert resp.status_code == 200, resp.text
    assert f"<Account>{ACCOUNT}</Account>" in resp.text


def test_presigned_url_tampered(server):
    url = boto_client("sts", server).generate_presigned_url("get_caller_identity", HttpMethod="GET")
    resp = requests.get(url.replace("X-Amz-Expires=3600", "X-Amz-Expires=3601"), verify=server.ca, timeout=30)
    assert resp.status_code == 403
    assert xml_error(resp) == ("Sender", "SignatureDoesNotMatch", MISMATCH)


@pytest.mark.parametrize("method", ["HmacSHA256", "HmacSHA1"])
@pytest.mark.parametrize("http_method", ["GET", "POST"])
def test_sigv2(server, method, http_method):
    import base64
    import hashlib
    import hmac

    host = urllib.parse.urlsplit(server.url).netloc
    params = dict(STS_QUERY, AWSAccessKeyId=ROOT_KEY, SignatureVersion="2", SignatureMethod=method,
                  Timestamp=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    canonical = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(params.items())
    )
    to_sign = f"{http_method}\n{host}\n/\n{canonical}"
    digest = hashlib.sha256 if method == "HmacSHA256" else hashlib.sha1
    params["Signature"] = base64.b64encode(hmac.new(ROOT_SECRET.encode(), to_sign.encode(), digest).digest()).decode()
    if http_method == "GET":
        resp = requests.get(server.url + "/", params=params, verify=server.ca, timeout=30)
    else:
        resp = requests.post(server.url + "/", data=params, verify=server.ca, timeout=30)
    assert resp.status_code == 200, resp.text
    assert f"<Account>{ACCOUNT}</Account>" in resp.text
    params["Signature"] = base64.b64encode(b"x" * 32).decode()
    resp = requests.post(server.url + "/", data=params, verify=server.ca, timeout=30)
    assert resp.status_code == 403
    assert xml_error(resp)[1] == "SignatureDoesNotMatch"


# ---------------------------------------------------------------- authentication failures, both protocols


def test_unknown_access_key(server):
    with pytest.raises(ClientError) as e:
        boto_client("sts", server, key="AKIAUNKNOWNUNKNOWN00").get_caller_identity()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert e.value.response["Error"]["Message"] == "The security token included in the request is invalid."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as e:
        boto_client("secretsmanager", server, key="AKIAUNKNOWNUNKNOWN00").list_secrets()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert e.value.response["Error"]["Message"] == "The security token included in the request is invalid."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_bad_signature(server):
    with pytest.raises(ClientError) as e:
        boto_client("sts", server, secret="wrong" + ROOT_SECRET[5:]).get_caller_identity()
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == ("SignatureDoesNotMatch", MISMATCH)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as e:
        boto_client("secretsmanager", server, secret="wrong" + ROOT_SECRET[5:]).list_secrets()
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == ("InvalidSignatureException", MISMATCH)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_missing_authentication(server):
    resp = requests.post(server.url + "/", data=STS_QUERY, verify=server.ca, timeout=30)
    assert resp.status_code == 403
    assert xml_error(resp) == ("Sender", "MissingAuthenticationToken", "Request is missing Authentication Token")
    resp = requests.post(server.url + "/", data=b"{}", verify=server.ca, timeout=30, headers={
        "X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": "application/x-amz-json-1.1"})
    assert resp.status_code == 400
    assert resp.json()["__type"] == "MissingAuthenticationTokenException"
    assert resp.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException")


@pytest.mark.parametrize("header", [
    "AWS4-HMAC-SHA256 Credential=AKIACOFFERTESTROOT01/20240101/us-east-1/sts/aws4_request",
    "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
    "AWS4-HMAC-SHA256 garbage",
    "Bearer abc",
    "AWS4-HMAC-SHA256",
])
def test_malformed_authorization_header(server, header):
    resp = requests.post(server.url + "/", data=STS_QUERY, verify=server.ca, timeout=30,
                         headers={"Authorization": header, "X-Amz-Date": "20240101T000000Z"})
    assert resp.status_code in (400, 403), resp.text
    assert xml_error(resp)[1] in ("IncompleteSignature", "MissingAuthenticationToken", "InvalidClientTokenId")
    resp = requests.post(server.url + "/", data=b"{}", verify=server.ca, timeout=30, headers={
        "Authorization": header, "X-Amz-Date": "20240101T000000Z",
        "X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": "application/x-amz-json-1.1"})
    assert resp.status_code in (400, 403)
    assert resp.json()["__type"] in ("IncompleteSignatureException", "MissingAuthenticationTokenException",
                                     "UnrecognizedClientException")


def test_incomplete_signature_exact(server):
    header = f"AWS4-HMAC-SHA256 Credential={ROOT_KEY}/20240101/us-east-1/sts/aws4_request, SignedHeaders=host"
    resp = requests.post(server.url + "/", data=STS_QUERY, verify=server.ca, timeout=30,
                         headers={"Authorization": header, "X-Amz-Date": "20240101T000000Z"})
    assert resp.status_code == 400
    assert xml_error(resp)[1] == "IncompleteSignature"
    header = header.replace("/sts/", "/secretsmanager/")
    resp = requests.post(server.url + "/", data=b"{}", verify=server.ca, timeout=30, headers={
        "Authorization": header, "X-Amz-Date": "20240101T000000Z",
        "X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": "application/x-amz-json-1.1"})
    assert resp.status_code == 400
    assert resp.json()["__type"] == "IncompleteSignatureException"


@pytest.mark.parametrize("minutes,word", [(-20, "Signature expired: "), (20, "Signature not yet current: ")])
def test_clock_skew(server, minutes, word):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    resp = send(server, signed(server, when=when))
    assert resp.status_code == 403
    kind, code, message = xml_error(resp)
    assert code == "SignatureDoesNotMatch" and message.startswith(word), message
    resp = send(server, sm_json(server, when=when))
    assert resp.status_code == 400
    assert resp.json()["__type"] == "InvalidSignatureException"
    assert resp.json()["message"].startswith(word)


def test_clock_skew_within_window_accepted(server):
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
    assert send(server, signed(server, when=when)).status_code == 200


def test_presigned_url_older_than_window(server):
    sts = boto_client("sts", server)
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        url = sts.generate_presigned_url("get_caller_identity", HttpMethod="GET", ExpiresIn=3600)
    resp = requests.get(url, verify=server.ca, timeout=30)
    assert resp.status_code == 403
    assert xml_error(resp)[2].startswith("Signature expired: ")


SCOPE_DATE = "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP"


def shift_scope_date(prepared):
    auth = prepared.headers["Authorization"]
    date = prepared.headers["X-Amz-Date"][:8]
    other = (datetime.datetime.strptime(date, "%Y%m%d") - datetime.timedelta(days=1)).strftime("%Y%m%d")
    prepared.headers["Authorization"] = auth.replace(f"/{date}/", f"/{other}/")
    assert prepared.headers["Authorization"] != auth
    return prepared


def test_scope_date_mismatch(server):
    resp = send(server, shift_scope_date(signed(server)))
    assert resp.status_code == 403
    assert xml_error(resp)[1:] == ("SignatureDoesNotMatch", SCOPE_DATE)
    resp = send(server, shift_scope_date(sm_json(server)))
    assert resp.status_code == 400
    assert (resp.json()["__type"], resp.json()["message"]) == ("InvalidSignatureException", SCOPE_DATE)


def test_scope_wrong_service(server):
    resp = send(server, signed(server, service="iam"))
    assert resp.status_code == 403
    assert xml_error(resp)[1:] == ("SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'. ")
    resp = send(server, signed(
        server, body=b"{}", service="sts",
        headers={"X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": "application/x-amz-json-1.1"}))
    assert resp.status_code == 400
    assert resp.json()["__type"] == "InvalidSignatureException"
    assert resp.json()["message"] == "Credential should be scoped to correct service: 'secretsmanager'. "


def test_scope_invalid_region(server):
    resp = send(server, signed(server, region="not a region"))
    assert resp.status_code == 403
    assert xml_error(resp)[1:] == ("SignatureDoesNotMatch", "Credential should be scoped to a valid region. ")


def test_host_must_be_signed(server):
    prepared = signed(server)
    auth = prepared.headers["Authorization"]
    prepared.headers["Authorization"] = auth.replace("SignedHeaders=content-type;host;x-amz-date",
                                                     "SignedHeaders=content-type;x-amz-date")
    assert prepared.headers["Authorization"] != auth
    resp = send(server, prepared)
    assert resp.status_code == 400
    assert xml_error(resp)[1] == "IncompleteSignature"
    prepared = sm_json(server)
    auth = prepared.headers["Authorization"]
    prepared.headers["Authorization"] = auth.replace("SignedHeaders=content-type;host;x-amz-date",
                                                     "SignedHeaders=content-type;x-amz-date")
    assert prepared.headers["Authorization"] != auth
    resp = send(server, prepared)
    assert resp.status_code == 400
    assert resp.json()["__type"] == "IncompleteSignatureException"


# ---------------------------------------------------------------- protocol behaviour


def test_unknown_action_and_version(server):
    resp = send(server, signed(server, params={"Action": "FlyToTheMoon", "Version": "2011-06-15"}))
    assert resp.status_code == 400
    assert xml_error(resp) == ("Sender", "InvalidAction", "Could not find operation FlyToTheMoon for version 2011-06-15")
    resp = send(server, signed(server, params={"Action": "GetCallerIdentity", "Version": "2099-01-01"}))
    assert resp.status_code == 400
    assert xml_error(resp)[1] == "InvalidAction"


def test_unknown_json_target(server):
    resp = send(server, sm_json(server, target="secretsmanager.FlyToTheMoon"))
    assert resp.status_code == 400
    assert resp.json()["__type"] == "UnknownOperationException"


def test_malformed_json(server):
    resp = send(server, sm_json(server, body=b'{"SecretId": '))
    assert resp.status_code == 400
    assert resp.json()["__type"] == "SerializationException"


def test_plain_http_to_the_https_port_is_told_to_use_https(server):
    """Issue 13: not a silently closed connection but a 400 saying what to change, with fixed text
    (nothing the client sent is echoed); the port still speaks TLS afterwards."""
    for method, body in (("GET", None), ("POST", b"Action=GetCallerIdentity&Version=2011-06-15" * 100)):
        resp = requests.request(method, f"http://127.0.0.1:{server.port}/<script>?x=%0d%0a", data=body,
                                headers={"Host": "evil.example"}, timeout=10)
        assert resp.status_code == 400, resp.text
        assert resp.text == "Coffer serves HTTPS on this port: use https:// instead of http://.\n"
        assert resp.headers["Connection"] == "close"
    assert requests.get(f"https://127.0.0.1:{server.port}/healthz", verify=server.ca, timeout=10).status_code == 200


def test_http_flag_serves_plain_http(start_server):
    from conftest import ROOT_ENV
    srv = start_server(["--http"], env=ROOT_ENV)
    assert srv.url.startswith("http://")
    assert boto_client("sts", srv).get_caller_identity()["Arn"].endswith(":root")


def test_dev_mode_accepts_any_credentials(dev_server):
    assert dev_server.url.startswith("http://")
    sts = boto_client("sts", dev_server, key="anything", secret="whatever")
    assert sts.get_caller_identity()["Account"] == "000000000000"
    sts = boto_client("sts", dev_server, key="111122223333", secret="x")
    ident = sts.get_caller_identity()
    assert ident["Account"] == "111122223333"
    assert ident["Arn"] == "arn:aws:iam::111122223333:root"


def test_first_start_prints_and_stores_root_credentials(start_server):
    import os
    import stat
    srv = start_server([])
    path = os.path.join(srv.data_dir, "root-credentials")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = open(path).read()
    key = text.split("aws_access_key_id = ")[1].split()[0]
    secret = text.split("aws_secret_access_key = ")[1].split()[0]
    account = text.split("account_id = ")[1].split()[0]
    assert key.startswith("AKIA") and len(key) == 20 and len(account) == 12
    # The CA path is announced so users can export AWS_CA_BUNDLE.
    import time
    deadline = time.time() + 10
    while "CA certificate" not in "".join(srv.stdout_lines) and time.time() < deadline:
        time.sleep(0.05)
    assert srv.ca in "".join(srv.stdout_lines)
    ident = boto_client("sts", srv, key=key, secret=secret).get_caller_identity()
    assert ident["Account"] == account
    # A restart keeps the same account and key.
    data_dir = srv.data_dir
    srv.stop()
    again = start_server([], data_dir=data_dir)
    assert boto_client("sts", again, key=key, secret=secret).get_caller_identity()["Account"] == account
    assert "shown once" not in "".join(again.stdout_lines)


def test_sigterm_shuts_down_cleanly(start_server):
    from conftest import ROOT_ENV
    srv = start_server(["--http"], env=ROOT_ENV)
    assert boto_client("sts", srv).get_caller_identity()["Account"]
    assert srv.stop() == 0


def test_root_secret_not_in_database_files(server):
    import glob
    import os
    # The key is in use, so it is in the store (sealed); the database and its WAL must not show it.
    assert boto_client("sts", server).get_caller_identity()["Account"] == ACCOUNT
    files = glob.glob(os.path.join(server.data_dir, "coffer.db*"))
    assert any(f.endswith("coffer.db") for f in files), files
    contents = [open(path, "rb").read() for path in files]
    # The key id is not secret: seeing it proves these files hold the key's record.
    assert any(ROOT_KEY.encode() in data for data in contents)
    for path, data in zip(files, contents):
        assert ROOT_SECRET.encode() not in data, path
