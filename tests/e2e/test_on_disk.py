"""Issue 11, point 6: what Coffer leaves on disk and prints.

- The database, its `-wal`/`-shm` files and backups are owner-only (0600) whatever the umask.
- The generated CA is short-lived, signs end-entity certificates only (pathLen=0) and only for the
  names it was made for (name constraints); real clients (OpenSSL through curl and Python, rustls
  through aws-sdk-rust in crates/coffer/tests) accept it, and refuse what it must not vouch for.
- The root secret access key is printed only to a terminal, never into a pipe (journald, container
  logs).
"""
import contextlib
import datetime
import glob
import ipaddress
import os
import pty
import select
import shutil
import ssl
import socket
import stat
import subprocess
import tempfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import ROOT_ENV, ROOT_SECRET, boto_client, coffer_bin

DAY = datetime.timedelta(days=1)


@contextlib.contextmanager
def umask(mask):
    """The servers and commands started inside inherit this umask."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def database_files(data_dir):
    return sorted(glob.glob(os.path.join(data_dir, "coffer.db*")))


# ---------------------------------------------------------------- file modes


@pytest.mark.parametrize("mask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_database_and_key_files_are_owner_only(start_server, mask):
    with umask(mask):
        srv = start_server([], env=ROOT_ENV)
    sm = boto_client("secretsmanager", srv)
    sm.create_secret(Name="on-disk", SecretString="v")
    files = database_files(srv.data_dir)
    names = {os.path.basename(f) for f in files}
    assert {"coffer.db", "coffer.db-wal", "coffer.db-shm"} <= names, names
    for path in files:
        assert mode(path) == 0o600, (path, oct(mode(path)))
    tls = os.path.join(srv.data_dir, "tls")
    for private in (os.path.join(tls, "ca-key.pem"), os.path.join(tls, "server-key.pem"),
                    os.path.join(srv.data_dir, "master.key"), os.path.join(srv.data_dir, "root-credentials")):
        assert mode(private) == 0o600, (private, oct(mode(private)))
    assert mode(srv.data_dir) == 0o700


def test_a_database_left_readable_is_tightened_on_start(start_server):
    with umask(0o022):
        srv = start_server([], env=ROOT_ENV)
        boto_client("secretsmanager", srv).create_secret(Name="tighten", SecretString="v")
        data_dir = srv.data_dir
        srv.stop()
        loosened = database_files(data_dir)
        assert any(f.endswith("coffer.db") for f in loosened)
        for path in loosened:
            os.chmod(path, 0o644)
        again = start_server([], env=ROOT_ENV, data_dir=data_dir)
    assert boto_client("secretsmanager", again).get_secret_value(SecretId="tighten")["SecretString"] == "v"
    for path in database_files(data_dir):
        assert mode(path) == 0o600, (path, oct(mode(path)))


def backup(data_dir, target, mask):
    return subprocess.run([coffer_bin(), "admin", "backup", target, "--data-dir", data_dir],
                          capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.umask(mask))


@pytest.mark.parametrize("mask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_backups_are_owner_only(start_server, tmp_path, mask):
    srv = start_server([], env=ROOT_ENV)
    boto_client("secretsmanager", srv).create_secret(Name="backed-up", SecretString="v")
    out_dir = str(tmp_path)
    os.chmod(out_dir, 0o755)
    fresh = os.path.join(out_dir, "fresh.backup")
    done = backup(srv.data_dir, fresh, mask)
    assert done.returncode == 0, done.stderr
    assert mode(fresh) == 0o600
    # A readable file already at the target, and a readable leftover of an interrupted backup.
    replaced = os.path.join(out_dir, "replaced.backup")
    for path in (replaced, replaced + ".partial"):
        with open(path, "w") as f:
            f.write("old")
        os.chmod(path, 0o644)
    done = backup(srv.data_dir, replaced, mask)
    assert done.returncode == 0, done.stderr
    assert mode(replaced) == 0o600
    assert not os.path.exists(replaced + ".partial")
    assert ROOT_SECRET not in open(replaced, encoding="utf-8").read()


# ---------------------------------------------------------------- the generated CA

EXTRA_DNS = "coffer.test"
EXTRA_IP = "10.9.8.7"


@pytest.fixture(scope="module")
def tls_server():
    from conftest import Server
    s = Server(["--tls-name", EXTRA_DNS, "--tls-name", EXTRA_IP], env=ROOT_ENV)
    yield s
    s.cleanup()


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def test_ca_is_short_lived_path_length_zero_and_name_constrained(tls_server):
    tls = os.path.join(tls_server.data_dir, "tls")
    ca = load_cert(os.path.join(tls, "ca.pem"))
    server = load_cert(os.path.join(tls, "server.pem"))

    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature

    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert constraints.value.excluded_subtrees is None
    permitted = constraints.value.permitted_subtrees
    assert sorted(n.value for n in permitted if isinstance(n, x509.DNSName)) == [EXTRA_DNS, "localhost"]
    assert sorted(str(n.value) for n in permitted if isinstance(n, x509.IPAddress)) == sorted(
        ["127.0.0.1/32", "::1/128", f"{EXTRA_IP}/32"])
    assert len(permitted) == 5

    # Lifetimes: 3 years for the CA, 397 days for the server certificate, each from a day back.
    assert ca.not_valid_after_utc - ca.not_valid_before_utc == 3 * 365 * DAY + DAY
    assert server.not_valid_after_utc - server.not_valid_before_utc == 397 * DAY + DAY
    now = datetime.datetime.now(datetime.timezone.utc)
    assert ca.not_valid_before_utc < now < ca.not_valid_before_utc + 2 * DAY

    # The server certificate: an end entity for exactly the CA's names, issued by it.
    assert server.issuer == ca.subject
    with pytest.raises(x509.ExtensionNotFound):  # not a CA
        server.extensions.get_extension_for_class(x509.BasicConstraints)
    assert server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH])
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == [EXTRA_DNS, "localhost"]
    assert sorted(str(ip) for ip in san.get_values_for_type(x509.IPAddress)) == sorted(["127.0.0.1", "::1", EXTRA_IP])

    assert mode(os.path.join(tls, "ca-key.pem")) == 0o600


def test_real_clients_accept_the_name_constrained_ca(tls_server):
    port = tls_server.port
    # boto3 (urllib3 over OpenSSL), by address.
    assert boto_client("sts", tls_server).get_caller_identity()["Account"]
    # curl (OpenSSL) by each DNS name the CA permits, resolved to the loopback address.
    for host in ("localhost", EXTRA_DNS):
        out = subprocess.run(
            ["curl", "-sS", "--cacert", tls_server.ca, "--resolve", f"{host}:{port}:127.0.0.1",
             "--aws-sigv4", "aws:amz:us-east-1:sts", "--user", f"{ROOT_ENV['COFFER_ROOT_ACCESS_KEY_ID']}:{ROOT_SECRET}",
             "-w", "\n%{http_code}", f"https://{host}:{port}/?Action=GetCallerIdentity&Version=2011-06-15"],
            capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (host, out.stderr)
        assert out.stdout.rsplit("\n", 1)[1] == "200", (host, out.stdout)
    # Python's ssl (OpenSSL) checks the IP names through the same CA.
    for name, ok in (("127.0.0.1", True), (EXTRA_IP, True), ("localhost", True), ("other.test", False)):
        context = ssl.create_default_context(cafile=tls_server.ca)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            if ok:
                with context.wrap_socket(raw, server_hostname=name) as tls:
                    assert tls.version()
            else:
                with pytest.raises(ssl.SSLCertVerificationError):
                    context.wrap_socket(raw, server_hostname=name)


def signed_by_ca(tls_dir, subject, sans, issuer=None, issuer_key=None, ca=False):
    """A certificate signed with the generated CA's own key (or another issuer): what a thief of
    ca-key.pem could make."""
    with open(os.path.join(tls_dir, "ca-key.pem"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), password=None)
    issuer = issuer or load_cert(os.path.join(tls_dir, "ca.pem"))
    issuer_key = issuer_key or ca_key
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - DAY).not_valid_after(now + 30 * DAY))
    if sans:
        names = []
        for n in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                names.append(x509.DNSName(n))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    return builder.sign(issuer_key, hashes.SHA256()), key


def openssl_verify(ca_path, leaf, intermediates=(), name=None):
    with tempfile.TemporaryDirectory() as d:
        leaf_path = os.path.join(d, "leaf.pem")
        with open(leaf_path, "wb") as f:
            f.write(leaf.public_bytes(serialization.Encoding.PEM))
        args = ["openssl", "verify", "-CAfile", ca_path]
        if intermediates:
            chain = os.path.join(d, "chain.pem")
            with open(chain, "wb") as f:
                for c in intermediates:
                    f.write(c.public_bytes(serialization.Encoding.PEM))
            args += ["-untrusted", chain]
        if name:
            args += ["-verify_ip" if name[0].isdigit() or ":" in name else "-verify_hostname", name]
        out = subprocess.run(args + [leaf_path], capture_output=True, text=True, timeout=60)
        return out.returncode == 0, out.stdout + out.stderr


def test_openssl_refuses_what_the_ca_must_not_vouch_for(tls_server):
    tls = os.path.join(tls_server.data_dir, "tls")
    ca_path = os.path.join(tls, "ca.pem")
    # The generated server certificate, and one the CA key makes for a permitted name, verify.
    ok, why = openssl_verify(ca_path, load_cert(os.path.join(tls, "server.pem")), name=EXTRA_IP)
    assert ok, why
    ok, why = openssl_verify(ca_path, load_cert(os.path.join(tls, "server.pem")), name="::1")
    assert ok, why
    leaf, _ = signed_by_ca(tls, "fine", ["api.coffer.test"])
    ok, why = openssl_verify(ca_path, leaf, name="api.coffer.test")
    assert ok, why
    # Other names, even signed with the CA's key, do not: the name constraints leave them out.
    for sans in (["evil.example.com"], ["secretsmanager.us-east-1.amazonaws.com"], ["8.8.8.8"],
                 ["localhost", "evil.example.com"]):
        leaf, _ = signed_by_ca(tls, "rogue", sans)
        ok, why = openssl_verify(ca_path, leaf)
        assert not ok and "subtree" in why, (sans, why)
    # No intermediate CA either: pathLen=0.
    intermediate, intermediate_key = signed_by_ca(tls, "rogue intermediate", [], ca=True)
    leaf, _ = signed_by_ca(tls, "via intermediate", ["localhost"], issuer=intermediate,
                           issuer_key=intermediate_key)
    ok, why = openssl_verify(ca_path, leaf, intermediates=[intermediate])
    assert not ok and "path length" in why, why


# ---------------------------------------------------------------- the root secret and standard output


@pytest.mark.parametrize("preset", [False, True], ids=["generated-key", "preset-key"])
def test_root_secret_is_not_written_to_a_pipe(start_server, preset):
    env = dict(ROOT_ENV) if preset else {}
    env["COFFER_LOG"] = "debug"
    srv = start_server([], env=env)
    credentials = os.path.join(srv.data_dir, "root-credentials")
    text = open(credentials).read()
    key = text.split("aws_access_key_id = ")[1].split()[0]
    secret = text.split("aws_secret_access_key = ")[1].split()[0]
    if preset:
        assert secret == ROOT_SECRET
    # Used, so that anything logging credentials at debug level has had its chance.
    sts = boto_client("sts", srv, key=key, secret=secret)
    assert sts.get_caller_identity()["Arn"].endswith(":root")
    srv.stop()
    stdout, stderr = "".join(srv.stdout_lines), "".join(srv.stderr_lines)
    assert f"root secret access key: in {credentials} (not printed: standard output is not a terminal)" in stdout
    assert f"with root access key {key} (secret in {credentials})" in stdout
    assert secret not in stdout
    assert secret not in stderr
    assert "shown once" not in stdout


def test_root_secret_is_shown_once_on_a_terminal():
    data_dir = tempfile.mkdtemp(prefix="coffer-e2e-tty-")
    primary, replica = pty.openpty()
    proc = subprocess.Popen([coffer_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
                            stdout=replica, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    os.close(replica)
    seen = b""
    try:
        while b"shown once" not in seen or not seen.endswith(b"\n"):
            ready, _, _ = select.select([primary], [], [], 60)
            assert ready, f"no output on the terminal: {seen!r}"
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        text = open(os.path.join(data_dir, "root-credentials")).read()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        os.close(primary)
        shutil.rmtree(data_dir, ignore_errors=True)
    secret = text.split("aws_secret_access_key = ")[1].split()[0]
    assert f"root secret access key (shown once): {secret}".encode() in seen, seen
    assert b"not printed" not in seen
