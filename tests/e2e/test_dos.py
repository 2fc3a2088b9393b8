"""Unauthenticated denial of service (issue 11, point 3), against the real binary: clients that hold
connections and say nothing, that fill the connection table, that make the server buffer HTTP/2
request bodies, and principals that call too fast.

No test waits for time by sleeping: each blocks on the server's own action (a closed socket, a
response) under a generous socket timeout, and time bounds are wide.
"""
import json
import os
import resource
import selectors
import socket
import ssl
import time
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError
from botocore.retries import standard

from conftest import ACCOUNT, ROOT_ENV, boto_client

MIB = 1024 * 1024


def raise_open_file_limit():
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def open_fds(srv):
    return len(os.listdir(f"/proc/{srv.proc.pid}/fd"))


def proc_status_kib(srv, field):
    with open(f"/proc/{srv.proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{srv.proc.pid}/status")


def wait_closed(sock, timeout=30.0):
    """Seconds until the server closes `sock` (EOF or reset), failing after `timeout`."""
    sock.settimeout(timeout)
    start = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, ssl.SSLError, OSError) as e:
        if isinstance(e, socket.timeout):
            raise AssertionError(f"the server kept the connection open for {timeout} s") from e
    return time.monotonic() - start


def is_open(sock):
    """True while the server has not closed `sock` (no EOF or reset waiting to be read)."""
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    ready = sel.select(timeout=0)
    sel.close()
    if not ready:
        return True
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except OSError:
        return False


def xml_code(body):
    """The `<Code>` of an AWS Query error document, whatever its namespace."""
    return next(e.text for e in ET.fromstring(body).iter() if e.tag.split("}")[-1] == "Code")


def tcp_from(srv, source):
    return socket.create_connection(("127.0.0.1", srv.port), timeout=30, source_address=(source, 0))


def http_get(sock):
    sock.sendall(b"GET /?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1\r\nHost: x\r\n\r\n")
    head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 "), head
    return int(head.split()[1])


# -- connections that say nothing -----------------------------------------------------------------


def test_4200_idle_tls_connections_do_not_stop_a_client(start_server):
    """The issue's criterion: 4,200 TLS connections that completed the handshake and send nothing,
    from 17 loopback addresses (so no per-address cap is reached and only the global behaviour can
    help), and a boto3 client is still served within 5 s. The first-byte timer is set long so that
    only the connection cap can make room."""
    from concurrent.futures import ThreadPoolExecutor

    limit = raise_open_file_limit()
    if limit < 4200 + 512:
        pytest.skip(f"the hard open-file limit ({limit}) cannot hold 4,200 connections")
    srv = start_server(["--account-id", ACCOUNT, "--first-byte-timeout", "600"], env=ROOT_ENV)
    sources = ["127.0.0.1"] + [f"127.0.0.{i}" for i in range(2, 18)]
    # As a thrifty attacker would: no certificate check, and resumed TLS 1.2 sessions, which
    # skip the key exchange (the server's side of a handshake is what it is either way).
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    first = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port)), server_hostname="127.0.0.1")
    session = first.session
    first.close()

    def idle_connection(i):
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=30,
                                       source_address=(sources[i % len(sources)], 0))
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)

    with ThreadPoolExecutor(8) as pool:
        idle = list(pool.map(idle_connection, range(4200)))
    try:
        held = open_fds(srv)
        sts = boto_client("sts", srv, connect_timeout=5, read_timeout=5)
        start = time.monotonic()
        ident = sts.get_caller_identity()
        elapsed = time.monotonic() - start
    finally:
        for s in idle:
            s.close()
    # The server really held its table full of idle connections (4,096 by default)...
    assert 4000 <= held <= 4096 + 64, held
    # ...and still served the newcomer, in time.
    assert ident["Account"] == ACCOUNT
    assert elapsed < 5.0, elapsed


def open_file_limits(srv):
    with open(f"/proc/{srv.proc.pid}/limits") as f:
        line = next(line for line in f if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    return int(soft), int(hard)


def test_the_server_raises_its_open_file_limit(start_server):
    """Started with a soft limit far below its 4,096 connections (1,024 is a common default), the
    server raises it to the hard limit."""
    hard = raise_open_file_limit()
    if hard < 8192:
        pytest.skip(f"the hard open-file limit ({hard}) is too low to tell")
    srv = start_server(["--account-id", ACCOUNT, "--http"], env=ROOT_ENV,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)))
    assert open_file_limits(srv) == (hard, hard)


def test_a_low_hard_open_file_limit_lowers_the_connection_cap(start_server):
    """With only 400 descriptors the server holds at most 400 - 256 connections (the rest is kept
    for its store and runtime) and keeps serving newcomers under a flood of idle connections
    instead of failing to accept."""
    srv = start_server(["--account-id", ACCOUNT, "--http", "--first-byte-timeout", "600"], env=ROOT_ENV,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (400, 400)))
    flood = [tcp_from(srv, f"127.0.1.{i % 50 + 1}") for i in range(300)]
    newcomer = tcp_from(srv, "127.0.0.1")
    assert http_get(newcomer) == 403
    assert open_fds(srv) <= 400 - 256 + 64
    for s in flood + [newcomer]:
        s.close()


def test_a_client_over_its_cap_replaces_its_own_oldest_idle_connection(start_server):
    srv = start_server(["--account-id", ACCOUNT, "--http", "--max-connections-per-ip", "20",
                        "--first-byte-timeout", "600"], env=ROOT_ENV)
    crowd = [tcp_from(srv, "127.0.0.3") for _ in range(20)]
    # Admitted in order: the first is the oldest idle one, and the 21st takes its place.
    newcomer = tcp_from(srv, "127.0.0.3")
    assert wait_closed(crowd[0]) < 30
    assert http_get(newcomer) == 403  # served (and refused for lack of a signature)
    assert all(is_open(s) for s in crowd[1:])
    # Another address is not counted with them.
    other = tcp_from(srv, "127.0.0.4")
    assert http_get(other) == 403
    assert all(is_open(s) for s in crowd[1:])
    for s in crowd + [newcomer, other]:
        s.close()


def busy(sock):
    """Starts a request whose body never ends. The server's `100 Continue` says it is reading the
    body: the connection has a request in progress."""
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
    sock.sendall(b"Action=Get")


def test_newcomers_are_refused_at_once_when_every_connection_is_busy(start_server):
    srv = start_server(["--account-id", ACCOUNT, "--http", "--max-connections", "3",
                        "--first-byte-timeout", "600"], env=ROOT_ENV)
    workers = [tcp_from(srv, "127.0.0.5") for _ in range(3)]
    for w in workers:
        busy(w)
    # Every place is held by a request in progress: the newcomer is closed at once (the body
    # timeout is 30 s and the first-byte timeout 600 s, so only the refusal can close it).
    refused = tcp_from(srv, "127.0.0.6")
    assert wait_closed(refused, timeout=25) < 25
    # Once a request is over its connection is idle, and gives way to the next newcomer.
    workers[0].sendall(b"CallerIdentity&Version=2011-06-15" + b"&" * 57)
    assert workers[0].recv(65536).startswith(b"HTTP/1.1 403")
    newcomer = tcp_from(srv, "127.0.0.6")
    assert http_get(newcomer) == 403
    assert wait_closed(workers[0]) < 30
    assert is_open(workers[1]) and is_open(workers[2])
    for s in workers + [refused, newcomer]:
        s.close()


def test_first_byte_timeout_closes_a_silent_tls_connection(start_server):
    srv = start_server(["--account-id", ACCOUNT, "--first-byte-timeout", "1"], env=ROOT_ENV)
    ctx = ssl.create_default_context(cafile=srv.ca)
    silent = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port)), server_hostname="127.0.0.1")
    waited = wait_closed(silent)
    assert 0.5 <= waited < 20, waited
    # A connection that speaks in time is served.
    talking = ctx.wrap_socket(socket.create_connection(("127.0.0.1", srv.port)), server_hostname="127.0.0.1")
    assert http_get(talking) == 403
    talking.close()


def test_idle_timeout_closes_a_keep_alive_connection(start_server):
    srv = start_server(["--account-id", ACCOUNT, "--http", "--idle-timeout", "1"], env=ROOT_ENV)
    conn = tcp_from(srv, "127.0.0.1")
    assert http_get(conn) == 403
    waited = wait_closed(conn)
    assert 0.5 <= waited < 20, waited


# -- HTTP/2 ---------------------------------------------------------------------------------------


def h2_connect(srv):
    import h2.config
    import h2.connection

    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def test_idle_timeout_closes_a_silent_http2_connection(start_server):
    """A client that opens HTTP/2 (preface and SETTINGS) and then says nothing: the server sends
    GOAWAY, and closes once the client has answered its PING."""
    from hyperframe.frame import Frame, GoAwayFrame, PingFrame

    srv = start_server(["--account-id", ACCOUNT, "--http", "--idle-timeout", "1"], env=ROOT_ENV)
    sock, _conn = h2_connect(srv)
    start = time.monotonic()
    buf, goaway = b"", False
    while True:
        data = sock.recv(65536)
        if not data:
            break
        buf += data
        while len(buf) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(buf[:9]))
            if len(buf) < 9 + length:
                break
            frame.parse_body(memoryview(buf[9:9 + length]))
            buf = buf[9 + length:]
            goaway = goaway or isinstance(frame, GoAwayFrame)
            if isinstance(frame, PingFrame) and "ACK" not in frame.flags:
                ack = PingFrame(0, opaque_data=frame.opaque_data)
                ack.flags.add("ACK")
                sock.sendall(ack.serialize())
    waited = time.monotonic() - start
    assert goaway, "the server said goodbye with GOAWAY"
    assert 0.5 <= waited < 20, waited


def test_http2_advertises_its_stream_cap(start_server):
    import h2.events
    import h2.settings

    srv = start_server(["--account-id", ACCOUNT, "--http", "--http2-max-streams", "5"], env=ROOT_ENV)
    sock, conn = h2_connect(srv)
    settings = None
    while settings is None:
        data = sock.recv(65536)
        assert data, "the server closed the connection before its SETTINGS"
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                settings = event.changed_settings
    assert settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS].new_value == 5
    assert settings[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE].new_value == 64 * 1024
    sock.close()


def test_http2_streams_over_the_cap_are_refused(start_server):
    """A client that opens streams before reading the server's SETTINGS (or ignores them): the
    streams beyond the cap are reset with REFUSED_STREAM, the others are served."""
    import h2.errors
    import h2.events

    srv = start_server(["--account-id", ACCOUNT, "--http", "--http2-max-streams", "5"], env=ROOT_ENV)
    sock, conn = h2_connect(srv)
    # Each stream waits for a body that never comes, so all ten are open at once.
    headers = [(":method", "POST"), (":path", "/"), (":scheme", "http"), (":authority", "127.0.0.1"),
               ("content-type", "application/x-www-form-urlencoded"), ("content-length", "10")]
    for _ in range(10):
        conn.send_headers(conn.get_next_available_stream_id(), headers)
    sock.sendall(conn.data_to_send())
    refused = set()
    while len(refused) < 5:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.StreamReset):
                assert event.error_code == h2.errors.ErrorCodes.REFUSED_STREAM, event
                refused.add(event.stream_id)
        sock.sendall(conn.data_to_send())
    assert len(refused) == 5
    sock.close()


@pytest.mark.parametrize("known_key", [False, True], ids=["unsigned", "known-key"])
def test_http2_request_bodies_stay_within_the_budget(start_server, known_key):
    """Six HTTP/2 connections, 32 streams each, every stream declaring a 1 MiB body and sending all
    but its last byte: unprotected, the server would buffer 192 MiB. With an 8 MiB budget its
    peak RSS grows by no more than the budget plus a margin; streams that cannot get budget are
    answered 503 `Throttling` (Query); and once the attackers are gone the budget is back.

    Unsigned, the attack gets only the quarter of the budget shared by callers that present no
    known access key, and a signed client is served meanwhile. With a known access key in a
    (badly) signed header, which cannot be checked before the body is read, it gets it all: the
    worst case for memory."""
    import h2.events

    budget_mib = 8
    srv = start_server(["--account-id", ACCOUNT, "--http", "--body-budget-mib", str(budget_mib),
                        "--body-budget-wait-ms", "500", "--http2-max-streams", "32"], env=ROOT_ENV)
    sts = boto_client("sts", srv)
    sts.get_caller_identity()  # warm: the baseline includes a served request
    baseline_kib = proc_status_kib(srv, "VmRSS")

    conns = [h2_connect(srv) for _ in range(6)]
    remaining, statuses, sent = {}, [], 0
    headers = [(":method", "POST"), (":path", "/"), (":scheme", "http"), (":authority", "127.0.0.1"),
               ("content-type", "application/x-www-form-urlencoded"), ("content-length", str(MIB))]
    if known_key:
        from conftest import ROOT_KEY
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        headers += [("x-amz-date", stamp), ("authorization", (
            f"AWS4-HMAC-SHA256 Credential={ROOT_KEY}/{stamp[:8]}/us-east-1/sts/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}"))]
    for index, (sock, conn) in enumerate(conns):
        for _ in range(32):
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, headers)
            remaining[(index, sid)] = MIB - 1
        sock.sendall(conn.data_to_send())
    sel = selectors.DefaultSelector()
    for index, (sock, _) in enumerate(conns):
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, index)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        progressed = False
        for (index, sid), left in list(remaining.items()):
            sock, conn = conns[index]
            room = min(left, conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
            if room > 0:
                conn.send_data(sid, b"a" * room)
                remaining[(index, sid)] = left - room
                sent += room
                progressed = True
        for sock, conn in conns:
            out = conn.data_to_send()
            if out:
                sock.setblocking(True)
                sock.sendall(out)
                sock.setblocking(False)
        # Quiet for 3 s with nothing left to send: the server grants no more.
        ready = sel.select(timeout=0 if progressed else 3)
        if not ready and not progressed:
            break
        for key, _ in ready:
            sock, conn = conns[key.data]
            try:
                data = sock.recv(1 << 20)
            except BlockingIOError:
                continue
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    statuses.append(dict(event.headers)[":status"])
                    remaining.pop((key.data, event.stream_id), None)
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    if b"<Code>" in event.data:
                        statuses.append(xml_code(event.data))
                elif isinstance(event, h2.events.StreamReset):
                    remaining.pop((key.data, event.stream_id), None)
    sel.close()

    peak_kib = proc_status_kib(srv, "VmHWM")
    grown_mib = (peak_kib - baseline_kib) / 1024
    if not known_key:
        # The attack holds all it may: a signed client (its body included) is served at once.
        start = time.monotonic()
        assert sts.get_caller_identity()["Account"] == ACCOUNT
        assert time.monotonic() - start < 5
    # The attack pushed more than the budget through the server...
    assert sent > budget_mib * MIB, sent
    # ...the server's memory grew by the budget and a margin at most (192 MiB unprotected)...
    # (The margin covers the 192 request tasks, HTTP/2 windows and the allocator: ~6-8 MiB here.)
    assert grown_mib < budget_mib + 24, f"peak RSS grew by {grown_mib:.1f} MiB"
    # ...and streams it could not buffer were answered with AWS's throttling error.
    assert "503" in statuses and "Throttling" in statuses, statuses[:20]

    for sock, _ in conns:
        sock.close()
    # Memory is given back: a request with a large body is served, not throttled.
    import requests
    resp = requests.post(srv.url + "/", timeout=30,
                         data=b"Action=GetCallerIdentity&Version=2011-06-15&Pad=" + b"a" * (512 * 1024),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 403, resp.text[:300]
    assert xml_code(resp.content) == "MissingAuthenticationToken"


# -- per-principal request rates ------------------------------------------------------------------


def throttling_per_botocore(response):
    return standard.ThrottledRetryableChecker().is_retryable(
        standard.RetryContext(attempt_number=1, parsed_response=response))


def test_throttling_over_json_and_query(start_server):
    """One request per 1,000 s: the second of a quota is throttled whatever the machine's speed."""
    srv = start_server(["--account-id", ACCOUNT, "--http",
                        "--rate-limit", "secretsmanager:GetSecretValue=0.001",
                        "--rate-limit", "sts:*=0.001"], env=ROOT_ENV)
    sm = boto_client("secretsmanager", srv)
    sm.create_secret(Name="throttle/one", SecretString="v")
    sm.get_secret_value(SecretId="throttle/one")
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId="throttle/one")
    resp = err.value.response
    assert resp["Error"]["Code"] == "ThrottlingException"
    assert resp["Error"]["Message"] == "Rate exceeded"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert throttling_per_botocore(resp)
    # DescribeSecret shares GetSecretValue's quota, as on AWS; ListSecrets has its own.
    with pytest.raises(ClientError) as err:
        sm.describe_secret(SecretId="throttle/one")
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    sm.list_secrets()

    # The raw JSON 1.1 shape: the front end's error, lower-case `message`.
    import requests
    raw = requests.post(srv.url + "/", data=json.dumps({"SecretId": "throttle/one"}), timeout=30,
                        headers=signed_json_headers(srv, "secretsmanager.GetSecretValue",
                                                    json.dumps({"SecretId": "throttle/one"})))
    assert raw.status_code == 400
    assert raw.json() == {"__type": "ThrottlingException", "message": "Rate exceeded"}
    assert raw.headers["x-amzn-errortype"] == "ThrottlingException"

    sts = boto_client("sts", srv)
    sts.get_caller_identity()
    with pytest.raises(ClientError) as err:
        sts.get_caller_identity()
    resp = err.value.response
    assert resp["Error"]["Code"] == "Throttling"
    assert resp["Error"]["Message"] == "Rate exceeded"
    assert resp["Error"]["Type"] == "Sender"
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert throttling_per_botocore(resp)

    # Limits are per principal: a user of the same account has its own buckets.
    iam = boto_client("iam", srv)
    iam.create_user(UserName="throttle-bob")
    iam.attach_user_policy(UserName="throttle-bob", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = iam.create_access_key(UserName="throttle-bob")["AccessKey"]
    bob = boto_client("sts", srv, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert bob.get_caller_identity()["Arn"].endswith(":user/throttle-bob")
    bob_sm = boto_client("secretsmanager", srv, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert bob_sm.get_secret_value(SecretId="throttle/one")["SecretString"] == "v"


def signed_json_headers(srv, target, body):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from conftest import ROOT_KEY, ROOT_SECRET
    req = AWSRequest(method="POST", url=srv.url + "/", data=body,
                     headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "secretsmanager", "us-east-1").add_auth(req)
    return dict(req.headers)


def test_rate_limits_are_off_in_dev_mode_and_with_the_flag(start_server):
    dev = start_server(["--dev", "--rate-limit", "sts:*=0.001"])
    sts = boto_client("sts", dev, key="AKIADEVEXAMPLE", secret="any")
    for _ in range(3):
        sts.get_caller_identity()
    off = start_server(["--account-id", ACCOUNT, "--http", "--no-rate-limits",
                        "--rate-limit", "sts:*=0.001"], env=ROOT_ENV)
    sts = boto_client("sts", off)
    for _ in range(3):
        sts.get_caller_identity()


def test_bad_limit_flags_fail_the_start(start_server):
    import subprocess
    from conftest import coffer_bin
    for flag in (["--rate-limit", "secretsmanager:GetSecretValues=1"], ["--rate-limit", "sts:*=fast"],
                 ["--rate-limit", "sts:*=-1"], ["--rate-limit", "sts:*=inf"], ["--max-connections", "0"],
                 ["--body-budget-mib", "0"], ["--first-byte-timeout", "18446744073709551615"],
                 ["--idle-timeout", "0"], ["--body-budget-wait-ms", "99999999999999"],
                 ["--http2-max-streams", "0"]):
        out = subprocess.run([coffer_bin(), "serve", "--dev", "--listen", "127.0.0.1:0", *flag],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode != 0, flag
        assert "coffer listening on" not in out.stdout, flag
