"""Makes the encrypted seeds of the `saml_response` fuzz target (run once; the outputs are committed).

The IdP's signing key was discarded when the signed seeds were made, so the encrypted seeds reuse
their already-signed assertions: each is encrypted, unchanged, for the fixed decryption key of
`crates/fuzz/src/saml_response.rs` (`DECRYPTION_KEY`, printed by the first run and pasted there)
and put in the Response in place of the plain assertion. AES-256-GCM and AES-128-CBC content,
RSA-OAEP (MGF1 with SHA-1) key transport, as IdPs send them.

    python3 fuzz/make_saml_encrypted_seeds.py [DECRYPTION_KEY_BASE64_DER]
"""
import base64
import os
import sys

from cryptography.hazmat.primitives import hashes, padding as block_padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus", "saml_response")
GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"


def encrypt(assertion: bytes, public_key, content: str) -> str:
    if content == GCM:
        key, iv = os.urandom(32), os.urandom(12)
        ciphertext = iv + AESGCM(key).encrypt(iv, assertion, None)
    else:
        key, iv = os.urandom(16), os.urandom(16)
        padder = block_padding.PKCS7(128).padder()
        padded = padder.update(assertion) + padder.finalize()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        ciphertext = iv + encryptor.update(padded) + encryptor.finalize()
    wrapped = public_key.encrypt(key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    return (
        '<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">'
        '<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">'
        f'<xenc:EncryptionMethod Algorithm="{content}"/>'
        '<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey>'
        '<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>'
        f'<xenc:CipherData><xenc:CipherValue>{base64.b64encode(wrapped).decode()}</xenc:CipherValue></xenc:CipherData>'
        '</xenc:EncryptedKey></ds:KeyInfo>'
        f'<xenc:CipherData><xenc:CipherValue>{base64.b64encode(ciphertext).decode()}</xenc:CipherValue></xenc:CipherData>'
        '</xenc:EncryptedData></saml:EncryptedAssertion>'
    )


def main():
    if len(sys.argv) > 1:
        key = serialization.load_der_private_key(base64.b64decode(sys.argv[1]), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        print(base64.b64encode(der).decode())
    with open(os.path.join(CORPUS, "hand-signed-assertion"), "rb") as f:
        signed = f.read().decode()
    start = signed.index("<saml:Assertion ")
    end = signed.index("</saml:Assertion>") + len("</saml:Assertion>")
    assertion = signed[start:end]
    # Serialized on its own, the assertion declares the namespace its parent declared.
    standalone = assertion.replace(
        "<saml:Assertion ", '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ', 1)
    for name, content in [("hand-encrypted-gcm", GCM), ("hand-encrypted-cbc", CBC)]:
        out = signed[:start] + encrypt(standalone.encode(), key.public_key(), content) + signed[end:]
        with open(os.path.join(CORPUS, name), "w") as f:
            f.write(out)


if __name__ == "__main__":
    main()
