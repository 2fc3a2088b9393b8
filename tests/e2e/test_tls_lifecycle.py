"""Issue 13: the certificate lifecycle of the real binary. The generated CA is kept; the server
certificate is re-issued from it when the names change (within the CA's name constraints) or when
less than a third of its life is left; a name outside the constraints refuses the start, saying
how to make a new CA; supplied certificate files are reloaded on SIGHUP and when they change on
disk, without dropping connections; `coffer admin tls show` prints names, expiry, fingerprints."""
import datetime
import hashlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import Server, coffer_bin, wait_until

NOW = datetime.datetime.now(datetime.timezone.utc)


def served_certificate(port, server_name="localhost"):
    """The certificate a new connection is served (not verified here)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def verifies(port, ca_file, server_name):
    """Whether a client trusting only `ca_file` accepts the server as `server_name`."""
    ctx = ssl.create_default_context(cafile=ca_file)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            with ctx.wrap_socket(raw, server_hostname=server_name):
                return True
    except ssl.SSLCertVerificationError:
        return False


def names_of(cert):
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted([str(n) for n in san.get_values_for_type(x509.DNSName)] +
                  [str(ip) for ip in san.get_values_for_type(x509.IPAddress)])


def serve(data_dir, *args):
    return Server(list(args), data_dir=str(data_dir))


def test_a_new_tls_name_is_served_from_the_same_ca(tmp_path):
    data = tmp_path / "data"
    first = serve(data, "--tls-name", "coffer.internal")
    ca = (data / "tls" / "ca.pem").read_bytes()
    ca_key = (data / "tls" / "ca-key.pem").read_bytes()
    assert verifies(first.port, first.ca, "coffer.internal")
    assert not verifies(first.port, first.ca, "api.coffer.internal")
    first.stop()

    again = serve(data, "--tls-name", "coffer.internal", "--tls-name", "api.coffer.internal")
    try:
        assert (data / "tls" / "ca.pem").read_bytes() == ca
        assert (data / "tls" / "ca-key.pem").read_bytes() == ca_key
        assert verifies(again.port, again.ca, "api.coffer.internal")
        assert verifies(again.port, again.ca, "coffer.internal")
        cert = served_certificate(again.port)
        assert names_of(cert) == sorted(["localhost", "coffer.internal", "api.coffer.internal", "127.0.0.1", "::1"])
        ca_cert = x509.load_pem_x509_certificate(ca)
        assert cert.issuer == ca_cert.subject
        ca_cert.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        assert any("re-issued the server certificate from the same CA: the names changed" in line
                   for line in again.stdout_lines[:6]), again.stdout_lines
    finally:
        again.stop()
    # The same names again: the certificate is kept.
    kept = serve(data, "--tls-name", "coffer.internal", "--tls-name", "api.coffer.internal")
    try:
        assert served_certificate(kept.port).serial_number == cert.serial_number
    finally:
        kept.cleanup()


def test_a_name_outside_the_ca_needs_a_new_ca(tmp_path):
    data = tmp_path / "data"
    serve(data).stop()
    server_pem = (data / "tls" / "server.pem").read_bytes()
    out = subprocess.run([coffer_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data),
                          "--tls-name", "secrets.example.com"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "coffer listening" not in out.stdout
    tls_dir = data.resolve() / "tls"
    assert (f"error: secrets.example.com is outside the names the CA at {tls_dir}/ca.pem may vouch for "
            f"(localhost, 127.0.0.1/32, ::1/128)") in out.stderr, out.stderr
    assert f"make a new CA: move {tls_dir} aside and start again" in out.stderr, out.stderr
    assert (data / "tls" / "server.pem").read_bytes() == server_pem
    # Doing what it says works: a new CA made for the name.
    shutil.move(str(data / "tls"), str(tmp_path / "old-tls"))
    srv = serve(data, "--tls-name", "secrets.example.com")
    try:
        assert verifies(srv.port, srv.ca, "secrets.example.com")
        assert not verifies(srv.port, str(tmp_path / "old-tls" / "ca.pem"), "localhost")
    finally:
        srv.cleanup()


def test_a_certificate_near_its_end_is_renewed_from_the_same_ca(tmp_path):
    data = tmp_path / "data"
    serve(data).stop()
    tls = data / "tls"
    ca_key = serialization.load_pem_private_key((tls / "ca-key.pem").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((tls / "ca.pem").read_bytes())
    # 330 days old with 30 to go: less than a third of its life left.
    old_pem, old_key = leaf(["localhost", "127.0.0.1", "::1"], ca_cert, ca_key,
                            NOW - datetime.timedelta(days=330), NOW + datetime.timedelta(days=30))
    (tls / "server.pem").write_bytes(old_pem)
    (tls / "server-key.pem").write_bytes(old_key)
    srv = serve(data)
    try:
        cert = served_certificate(srv.port)
        assert cert.not_valid_after_utc > NOW + datetime.timedelta(days=390)
        assert cert.issuer == ca_cert.subject
        assert verifies(srv.port, srv.ca, "localhost")
        assert any("less than a third of its lifetime was left" in line for line in srv.stdout_lines[:6])
        assert (tls / "ca.pem").read_bytes() == ca_cert.public_bytes(serialization.Encoding.PEM)
        # The new key is private, as the generated one was.
        assert oct(os.stat(tls / "server-key.pem").st_mode & 0o777) == "0o600"
    finally:
        srv.cleanup()


def new_ca(name="Test operator CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def leaf(names, ca_cert, ca_key, not_before=None, not_after=None, key=None):
    import ipaddress
    key = key or ec.generate_private_key(ec.SECP256R1())
    sans = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - datetime.timedelta(days=1))
            .not_valid_after(not_after or NOW + datetime.timedelta(days=20))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_in_place(path, data):
    """Rewrites a file's bytes keeping its inode, size and modification time, so that only a
    SIGHUP can tell the server it changed."""
    stat = os.stat(path)
    assert len(data) == stat.st_size
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_supplied_certificates_reload_on_sighup_and_on_change_without_dropping_connections(tmp_path):
    ca_cert, ca_key = new_ca()
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    first_pem, first_key = leaf(["localhost", "127.0.0.1"], ca_cert, ca_key)
    cert_file.write_bytes(first_pem)
    key_file.write_bytes(first_key)
    srv = Server(["--tls-cert", str(cert_file), "--tls-key", str(key_file)], data_dir=str(tmp_path / "data"))
    try:
        serial = lambda: served_certificate(srv.port).serial_number
        first = x509.load_pem_x509_certificate(first_pem)
        assert serial() == first.serial_number
        # A keep-alive connection opened before the reload.
        ctx = ssl.create_default_context(cafile=str(ca_file))
        kept = http.client.HTTPSConnection("localhost", srv.port, context=ctx, timeout=30)
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() == b'{"status":"ok"}\n'

        # SIGHUP alone: the files change without any sign the watcher could see.
        second_pem, second_key = same_size_leaf(first_pem, first_key, ca_cert, ca_key)
        write_in_place(key_file, second_key)
        write_in_place(cert_file, second_pem)
        second = x509.load_pem_x509_certificate(second_pem)
        before = len(srv.stderr_lines)
        srv.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: any('reloaded the TLS certificate reason="SIGHUP"' in line
                               for line in srv.stderr_lines[before:]), "the SIGHUP reload is logged")
        assert serial() == second.serial_number
        assert srv.proc.poll() is None
        # The connection from before is still open and served.
        kept.request("GET", "/healthz")
        resp = kept.getresponse()
        assert (resp.status, resp.read()) == (200, b'{"status":"ok"}\n')
        assert x509.load_der_x509_certificate(kept.sock.getpeercert(binary_form=True)).serial_number \
            == first.serial_number

        # A change on disk, no signal: the files are replaced and picked up.
        third_pem, third_key = leaf(["localhost", "127.0.0.1"], ca_cert, ca_key)
        replace(key_file, third_key)
        replace(cert_file, third_pem)
        third = x509.load_pem_x509_certificate(third_pem)
        wait_until(lambda: serial() == third.serial_number, "the changed files are served")
        assert verifies(srv.port, str(ca_file), "localhost")

        # A pair that does not load is refused: the current certificate stays.
        before = len(srv.stderr_lines)
        other_pem, _ = leaf(["localhost"], ca_cert, ca_key)
        replace(cert_file, other_pem)  # not the key's certificate
        wait_until(lambda: any("was not reloaded" in line for line in srv.stderr_lines[before:]),
                   "the mismatched pair is refused")
        assert serial() == third.serial_number
        before = len(srv.stderr_lines)
        replace(cert_file, b"-----BEGIN CERTIFICATE-----\nnot base64\n")
        wait_until(lambda: any("was not reloaded" in line for line in srv.stderr_lines[before:]),
                   "the unreadable file is refused")
        assert serial() == third.serial_number
        kept.request("GET", "/readyz")
        resp = kept.getresponse()
        assert (resp.status, resp.read()[:18]) == (200, b'{"status":"ready",')
        kept.close()
    finally:
        srv.cleanup()
    # No private key material in the log.
    assert not any("PRIVATE KEY" in line for line in srv.stderr_lines)


def same_size_leaf(cert_pem, key_pem, ca_cert, ca_key):
    """Another certificate and key whose PEM files are the same sizes as these (ECDSA signatures
    vary by a byte or two, so a few tries find one)."""
    for _ in range(200):
        pem, key = leaf(["localhost", "127.0.0.1"], ca_cert, ca_key)
        if len(pem) == len(cert_pem) and len(key) == len(key_pem):
            return pem, key
    raise AssertionError("no certificate of the same size")


def replace(path, data):
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def test_admin_tls_show(tmp_path):
    data = tmp_path / "data"
    serve(data, "--tls-name", "coffer.internal").stop()
    out = subprocess.run([coffer_bin(), "admin", "tls", "show", "--data-dir", str(data)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in ("ca.pem", "server.pem"):
        pem = (data / "tls" / name).read_bytes()
        cert = x509.load_pem_x509_certificate(pem)
        fingerprint = ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
        assert f"SHA-256:     {fingerprint}" in out.stdout, out.stdout
        assert f"not after:   {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC" in out.stdout, out.stdout
    assert "names:       localhost, 127.0.0.1, ::1, coffer.internal" in out.stdout
    assert "CA:          yes; may sign for: localhost, 127.0.0.1/32, ::1/128, coffer.internal" in out.stdout
    assert "PRIVATE" not in out.stdout
    # A supplied file, and a data directory without TLS material.
    shown = subprocess.run([coffer_bin(), "admin", "tls", "show", "--tls-cert", str(data / "tls" / "server.pem")],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "coffer.internal" in shown.stdout
    missing = subprocess.run([coffer_bin(), "admin", "tls", "show", "--data-dir", str(tmp_path / "none")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no generated TLS material" in missing.stderr
