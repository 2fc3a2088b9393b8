"""AssumeRoleWithSAML end to end with boto3: a test IdP (an RSA key and self-signed certificate made
here) registered with CreateSAMLProvider signs SAML responses with exclusive canonicalization, as
real IdPs do; the signing is lxml's C14N and `cryptography`'s RSA, independent of Coffer's verifier."""
import base64
import copy
import datetime
import hashlib
import json
import subprocess
import uuid

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from conftest import ACCOUNT, boto_client, cli_env

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
AWS_SAML = "https://signin.aws.amazon.com/saml"
ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_NAME_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Idp:
    """An identity provider: its key, certificate and metadata, and the responses it signs."""

    def __init__(self, entity_id="https://idp.example.com/saml"):
        self.entity_id = entity_id
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.com")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=365))
                     .sign(self.key, hashes.SHA256()))

    def metadata(self):
        cert = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{self.entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="{DS}"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""

    def response(self, roles, session_name="alice", subject="alice", issued=None, lifetime=300,
                 audience=AWS_SAML, recipient=AWS_SAML, extra_attributes=()):
        """An unsigned Response (an lxml tree) with one assertion."""
        issued = issued or datetime.datetime.now(datetime.timezone.utc)
        until = iso(issued + datetime.timedelta(seconds=lifetime))
        attributes = [(ROLE_ATTRIBUTE, roles)]
        if session_name is not None:
            attributes.append((SESSION_NAME_ATTRIBUTE, [session_name]))
        attributes += list(extra_attributes)
        attrs = "".join(
            f'<saml:Attribute Name="{n}">' + "".join(f"<saml:AttributeValue>{v}</saml:AttributeValue>" for v in vs)
            + "</saml:Attribute>" for n, vs in attributes)
        xml = f"""<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_r{uuid.uuid4().hex}" Version="2.0"
    IssueInstant="{iso(issued)}" Destination="{AWS_SAML}">
  <saml:Issuer>{self.entity_id}</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion ID="_a{uuid.uuid4().hex}" Version="2.0" IssueInstant="{iso(issued)}">
    <saml:Issuer>{self.entity_id}</saml:Issuer>
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{subject}</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{recipient}"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{iso(issued)}" NotOnOrAfter="{until}">
      <saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AuthnStatement AuthnInstant="{iso(issued)}"><saml:AuthnContext>
      <saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>
    </saml:AuthnContext></saml:AuthnStatement>
    <saml:AttributeStatement>{attrs}</saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"""
        return etree.fromstring(xml)

    def sign(self, element, key=None):
        """An enveloped RSA-SHA256 signature over `element` (by its ID), after its Issuer."""
        key = key or self.key
        digest = hashlib.sha256(etree.tostring(element, method="c14n", exclusive=True)).digest()
        signature = etree.fromstring(f"""<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/>
<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
<ds:Reference URI="#{element.get('ID')}"><ds:Transforms>
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
<ds:Transform Algorithm="{EXC_C14N}"/></ds:Transforms>
<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
<ds:DigestValue>{base64.b64encode(digest).decode()}</ds:DigestValue></ds:Reference></ds:SignedInfo>
<ds:SignatureValue/></ds:Signature>""")
        element.find(f"{{{SAML}}}Issuer").addnext(signature)
        signed_info = signature.find(f"{{{DS}}}SignedInfo")
        value = key.sign(etree.tostring(signed_info, method="c14n", exclusive=True),
                         padding.PKCS1v15(), hashes.SHA256())
        signature.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(value).decode()
        return element


def assertion_of(response):
    return response.find(f"{{{SAML}}}Assertion")


def encode(response):
    return base64.b64encode(etree.tostring(response)).decode()


@pytest.fixture(scope="module")
def setup(server):
    iam = boto_client("iam", server)
    idp = Idp()
    name = uid("idp")
    provider = iam.create_saml_provider(Name=name, SAMLMetadataDocument=idp.metadata())["SAMLProviderArn"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"SAML:aud": AWS_SAML}}}]}
    role = iam.create_role(RoleName=uid("saml"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    sts = boto_client("sts", server, signature_version=UNSIGNED)
    return {"idp": idp, "name": name, "provider": provider, "role": role, "sts": sts, "iam": iam, "server": server}


def pair(s, role=None):
    return [f"{(role or s['role'])['Arn']},{s['provider']}"]


def assume(s, response, role=None, provider=None, **kwargs):
    return s["sts"].assume_role_with_saml(RoleArn=(role or s["role"])["Arn"],
                                          PrincipalArn=provider or s["provider"],
                                          SAMLAssertion=encode(response), **kwargs)


def refused(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"], \
        e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_signed_assertion_gives_working_credentials(server, setup):
    s = setup
    idp = s["idp"]
    response = idp.response(pair(s))
    idp.sign(assertion_of(response))
    got = assume(s, response)
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{s['role']['RoleName']}/alice"
    assert got["AssumedRoleUser"]["Arn"] == arn
    assert got["AssumedRoleUser"]["AssumedRoleId"] == f"{s['role']['RoleId']}:alice"
    assert got["Subject"] == "alice"
    assert got["SubjectType"] == "persistent"
    assert got["Issuer"] == idp.entity_id
    assert got["Audience"] == AWS_SAML
    expected = base64.b64encode(hashlib.sha1(
        f"{idp.entity_id}{ACCOUNT}/{s['name']}".encode()).digest()).decode()
    assert got["NameQualifier"] == expected
    assert "PackedPolicySize" not in got
    creds = got["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    who = boto_client("sts", server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                      token=creds["SessionToken"]).get_caller_identity()
    assert who["Arn"] == arn


def test_a_signed_response_is_accepted_too(setup):
    s = setup
    response = s["idp"].response([f"{s['provider']},{s['role']['Arn']}"])  # provider first
    s["idp"].sign(response)
    assert assume(s, response)["Subject"] == "alice"


def test_responses_that_must_be_refused(setup):
    s = setup
    idp = s["idp"]
    invalid = ("InvalidIdentityToken", "Response signature invalid", 400)

    # Tampered after signing: another role session name.
    response = idp.sign(assertion_of(idp.response(pair(s)))).getparent()
    value = response.find(f".//{{{SAML}}}Attribute[@Name='{SESSION_NAME_ATTRIBUTE}']/{{{SAML}}}AttributeValue")
    value.text = "mallory"
    assert refused(lambda: assume(s, response)) == invalid

    # Unsigned.
    assert refused(lambda: assume(s, idp.response(pair(s)))) == invalid

    # Signed by another key.
    other = Idp()
    response = idp.response(pair(s))
    idp.sign(assertion_of(response), key=other.key)
    assert refused(lambda: assume(s, response)) == invalid

    # Signature wrapping: the signed assertion stays, a second unsigned one is added.
    response = idp.response(pair(s))
    idp.sign(assertion_of(response))
    evil = copy.deepcopy(assertion_of(response))
    evil.remove(evil.find(f"{{{DS}}}Signature"))
    evil.set("ID", "_evil")
    evil.find(f".//{{{SAML}}}NameID").text = "mallory"
    assertion_of(response).addprevious(evil)
    code, message, status = refused(lambda: assume(s, response))
    assert (code, status) == ("InvalidIdentityToken", 400)
    assert "exactly one Assertion" in message

    # Expired: issued long ago, NotOnOrAfter past.
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
    response = idp.response(pair(s), issued=old)
    idp.sign(assertion_of(response))
    assert refused(lambda: assume(s, response)) == ("ExpiredTokenException", "Response has expired", 400)

    # Still within NotOnOrAfter but issued more than five minutes ago.
    response = idp.response(pair(s), issued=old, lifetime=3 * 3600)
    idp.sign(assertion_of(response))
    assert refused(lambda: assume(s, response)) == (
        "ExpiredTokenException", "Token must be redeemed within 5 minutes of issuance", 400)

    # Wrong audience, wrong recipient.
    for kwargs, what in [({"audience": "https://sp.example.com"}, "Audience"),
                         ({"recipient": "https://sp.example.com/acs"}, "Recipient")]:
        response = idp.response(pair(s), **kwargs)
        idp.sign(assertion_of(response))
        code, message, status = refused(lambda: assume(s, response))
        assert (code, status) == ("InvalidIdentityToken", 400) and what in message

    # No RoleSessionName, or a bad one.
    response = idp.response(pair(s), session_name=None)
    idp.sign(assertion_of(response))
    assert refused(lambda: assume(s, response)) == (
        "InvalidIdentityToken", "RoleSessionName is required in AuthnResponse", 400)
    response = idp.response(pair(s), session_name="a b")
    idp.sign(assertion_of(response))
    assert refused(lambda: assume(s, response))[1] == "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"

    # The Role attribute does not name this role (or names it with another provider).
    response = idp.response([f"arn:aws:iam::{ACCOUNT}:role/other,{s['provider']}",
                             f"{s['role']['Arn']},arn:aws:iam::{ACCOUNT}:saml-provider/other"])
    idp.sign(assertion_of(response))
    assert refused(lambda: assume(s, response)) == (
        "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)

    # Longer than AWS's 100,000 characters.
    unchecked = boto_client("sts", s["server"], signature_version=UNSIGNED, parameter_validation=False)
    code, _, status = refused(lambda: unchecked.assume_role_with_saml(
        RoleArn=s["role"]["Arn"], PrincipalArn=s["provider"], SAMLAssertion="x" * 100_001))
    assert (code, status) == ("ValidationError", 400)

    # Not base64 XML at all.
    code, _, status = refused(lambda: s["sts"].assume_role_with_saml(
        RoleArn=s["role"]["Arn"], PrincipalArn=s["provider"], SAMLAssertion="x" * 10))
    assert (code, status) == ("InvalidIdentityToken", 400)


def test_provider_and_issuer_must_match(setup):
    s = setup
    response = s["idp"].response(pair(s))
    s["idp"].sign(assertion_of(response))
    missing = f"arn:aws:iam::{ACCOUNT}:saml-provider/{uid('missing')}"
    assert refused(lambda: assume(s, response, provider=missing)) == (
        "InvalidIdentityToken", "Specified provider doesn't exist", 400)
    # The same key, registered under another entity id, does not vouch for this issuer.
    impostor = Idp(entity_id="https://impostor.example.com")
    impostor.key, impostor.cert = s["idp"].key, s["idp"].cert
    other = s["iam"].create_saml_provider(Name=uid("idp"), SAMLMetadataDocument=impostor.metadata())["SAMLProviderArn"]
    response = s["idp"].response([f"{s['role']['Arn']},{other}"])
    s["idp"].sign(assertion_of(response))
    assert refused(lambda: assume(s, response, provider=other)) == (
        "InvalidIdentityToken", "Issuer not present in specified provider", 400)


def test_trust_policy_conditions_on_saml_keys(setup):
    s = setup
    idp = s["idp"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": s["provider"]}, "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"saml:sub": "alice", "saml:sub_type": "persistent",
                                       "saml:iss": idp.entity_id, "saml:doc": f"{ACCOUNT}/{s['name']}"},
                      "StringLike": {"saml:edupersonaffiliation": "staff"}}}]}
    role = s["iam"].create_role(RoleName=uid("saml"), AssumeRolePolicyDocument=json.dumps(trust),
                                MaxSessionDuration=7200)["Role"]
    staff = [("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", ["member", "staff"])]

    response = idp.response(pair(s, role), extra_attributes=staff)
    idp.sign(assertion_of(response))
    got = assume(s, response, role=role, DurationSeconds=7200)
    span = got["Credentials"]["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=110) < span <= datetime.timedelta(hours=2)

    for kwargs in [{"subject": "bob", "session_name": "bob"}, {}]:
        response = idp.response(pair(s, role), extra_attributes=staff if kwargs else (), **kwargs)
        idp.sign(assertion_of(response))
        assert refused(lambda: assume(s, response, role=role)) == (
            "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)

    # A role that does not trust the provider at all, and a duration beyond the role's maximum.
    response = idp.response(pair(s), extra_attributes=staff)
    idp.sign(assertion_of(response))
    assert refused(lambda: assume(s, response, DurationSeconds=7200)) == (
        "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)


def test_x500_and_active_directory_attributes_are_saml_keys(setup):
    # AWS's mapping of attributes to trust policy keys: `cn` is both `saml:cn` and
    # `saml:commonName`; `sn` is `saml:surname`; Active Directory's primary group SID is its claim URI.
    s = setup
    idp = s["idp"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": s["provider"]}, "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"saml:cn": "Alice Liddell", "saml:commonName": "Alice Liddell",
                                       "saml:surname": "Liddell", "saml:x500UniqueIdentifier": "u-42",
                                       "saml:primaryGroupSID": "S-1-5-21-513"}}}]}
    role = s["iam"].create_role(RoleName=uid("saml"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    attributes = [("urn:oid:2.5.4.3", ["Alice Liddell"]), ("urn:oid:2.5.4.4", ["Liddell"]),
                  ("urn:oid:2.5.4.45", ["u-42"]),
                  ("http://schemas.microsoft.com/ws/2008/06/identity/claims/primarygroupsid", ["S-1-5-21-513"])]
    response = idp.response(pair(s, role), extra_attributes=attributes)
    idp.sign(assertion_of(response))
    assert assume(s, response, role=role)["AssumedRoleUser"]["Arn"].endswith("/alice")

    # Another surname, or no primary group: the trust policy no longer matches.
    for changed in ([a if a[0] != "urn:oid:2.5.4.4" else (a[0], ["Hargreaves"]) for a in attributes],
                    attributes[:-1]):
        response = idp.response(pair(s, role), extra_attributes=changed)
        idp.sign(assertion_of(response))
        assert refused(lambda: assume(s, response, role=role)) == (
            "AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)


def test_session_policy_narrows_the_session(server, setup):
    s = setup
    response = s["idp"].response(pair(s))
    s["idp"].sign(assertion_of(response))
    session_policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*"}]})
    got = assume(s, response, Policy=session_policy)
    assert got["PackedPolicySize"] > 0
    response = s["idp"].response(pair(s))
    s["idp"].sign(assertion_of(response))
    code, _, status = refused(lambda: assume(s, response, Policy="{not json"))
    assert (code, status) == ("MalformedPolicyDocument", 400)


def test_principal_tag_attributes_are_session_tags(server, setup):
    s = setup
    idp = s["idp"]
    statement = {"Effect": "Allow", "Principal": {"Federated": s["provider"]},
                 "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}
    role = s["iam"].create_role(RoleName=uid("saml"), AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [statement]}))["Role"]
    s["iam"].put_role_policy(RoleName=role["RoleName"], PolicyName="by-team", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/Team": "eng"}}}]}))
    tag = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:Team"

    def session(team):
        response = idp.response(pair(s, role), extra_attributes=[(tag, [team])] if team else ())
        idp.sign(assertion_of(response))
        got = assume(s, response, role=role)
        c = got["Credentials"]
        return got, boto_client("secretsmanager", server, key=c["AccessKeyId"], secret=c["SecretAccessKey"],
                                token=c["SessionToken"])

    got, sm = session("eng")
    assert got["PackedPolicySize"] > 0
    sm.list_secrets()
    _, sm = session("sales")
    assert refused(lambda: sm.list_secrets())[0] == "AccessDeniedException"
    _, sm = session(None)
    assert refused(lambda: sm.list_secrets())[0] == "AccessDeniedException"

    # Tags need sts:TagSession in the trust policy.
    response = idp.response(pair(s), extra_attributes=[(tag, ["eng"])])
    idp.sign(assertion_of(response))
    assert refused(lambda: assume(s, response)) == ("AccessDenied", "Not authorized to perform sts:TagSession", 403)


def saml_role(s, *statements):
    return s["iam"].create_role(RoleName=uid("saml"), AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": list(statements)}))["Role"]


def signed(s, role, **kwargs):
    response = s["idp"].response(pair(s, role), **kwargs)
    s["idp"].sign(assertion_of(response))
    return response


NOT_AUTHORIZED = ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)


def test_trust_policy_may_name_the_session(setup):
    # AWS supplies sts:RoleSessionName to AssumeRoleWithSAML's trust decision, as to AssumeRole's.
    s = setup
    role = saml_role(s, {"Effect": "Allow", "Principal": {"Federated": s["provider"]},
                         "Action": "sts:AssumeRoleWithSAML",
                         "Condition": {"StringLike": {"sts:RoleSessionName": "alice*"}}})
    assert assume(s, signed(s, role, session_name="alice-laptop"), role=role)["Subject"] == "alice"
    assert refused(lambda: assume(s, signed(s, role, session_name="bob"), role=role)) == NOT_AUTHORIZED


def test_an_explicit_deny_in_the_trust_policy_wins(setup):
    s = setup
    allow = {"Effect": "Allow", "Principal": {"Federated": s["provider"]}, "Action": "sts:AssumeRoleWithSAML"}
    deny = {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"saml:sub": "mallory"}}}
    role = saml_role(s, allow, deny)
    assert assume(s, signed(s, role), role=role)["Subject"] == "alice"
    mallory = signed(s, role, subject="mallory", session_name="mallory")
    assert refused(lambda: assume(s, mallory, role=role)) == NOT_AUTHORIZED
    # A trust policy naming the account (its principals), not the provider, lets no SAML user in.
    account = saml_role(s, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "sts:AssumeRoleWithSAML"})
    assert refused(lambda: assume(s, signed(s, account), role=account)) == NOT_AUTHORIZED


def test_a_source_identity_needs_set_source_identity(setup):
    s = setup
    source = [("https://aws.amazon.com/SAML/Attributes/SourceIdentity", ["alice@example.com"])]
    statement = {"Effect": "Allow", "Principal": {"Federated": s["provider"]}, "Action": "sts:AssumeRoleWithSAML"}
    role = saml_role(s, statement)
    assert refused(lambda: assume(s, signed(s, role, extra_attributes=source), role=role)) == (
        "AccessDenied", "Not authorized to perform sts:SetSourceIdentity", 403)
    allowed = saml_role(s, dict(statement, Action=["sts:AssumeRoleWithSAML", "sts:SetSourceIdentity"],
                                Condition={"StringLike": {"sts:SourceIdentity": "*@example.com"}}))
    got = assume(s, signed(s, allowed, extra_attributes=source), role=allowed)
    assert got["SourceIdentity"] == "alice@example.com"


def test_the_audit_trail_names_the_saml_user(start_server, tmp_path):
    trail = tmp_path / "audit.log"
    srv = start_server(["--dev", "--audit-log", str(trail)])
    iam = boto_client("iam", srv)
    idp = Idp()
    name = uid("idp")
    provider = iam.create_saml_provider(Name=name, SAMLMetadataDocument=idp.metadata())["SAMLProviderArn"]
    account = provider.split(":")[4]
    role = iam.create_role(RoleName=uid("saml"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider},
                                                "Action": "sts:AssumeRoleWithSAML"}]}))["Role"]
    response = idp.response([f"{role['Arn']},{provider}"])
    idp.sign(assertion_of(response))
    assertion = encode(response)
    got = boto_client("sts", srv, signature_version=UNSIGNED).assume_role_with_saml(
        RoleArn=role["Arn"], PrincipalArn=provider, SAMLAssertion=assertion)
    srv.stop()
    raw = trail.read_bytes()
    # Neither the assertion (the caller's credential) nor the session's secrets are recorded.
    for secret in [assertion, got["Credentials"]["SecretAccessKey"], got["Credentials"]["SessionToken"]]:
        assert secret.encode() not in raw
    with open(trail) as f:
        record = [r for r in map(json.loads, f) if r["eventName"] == "AssumeRoleWithSAML"][0]
    qualifier = base64.b64encode(hashlib.sha1(f"{idp.entity_id}{account}/{name}".encode()).digest()).decode()
    assert record["userIdentity"] == {"type": "SAMLUser", "principalId": f"{qualifier}:alice",
                                      "userName": "alice", "identityProvider": qualifier}


def test_the_aws_cli_assumes_a_role_with_saml(server, setup):
    s = setup
    response = s["idp"].response(pair(s), session_name="cli-user")
    s["idp"].sign(assertion_of(response))
    # The CLI sends the request unsigned: no credentials at all in its environment.
    env = cli_env(server)
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]:
        env.pop(name)
    out = subprocess.run(["aws", "--endpoint-url", server.url, "sts", "assume-role-with-saml",
                          "--role-arn", s["role"]["Arn"], "--principal-arn", s["provider"],
                          "--saml-assertion", encode(response), "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{s['role']['RoleName']}/cli-user"
    assert got["SubjectType"] == "persistent"
    # The same response again, tampered: the CLI shows AWS's error.
    tampered = encode(response).replace("A", "B", 1)
    out = subprocess.run(["aws", "--endpoint-url", server.url, "sts", "assume-role-with-saml",
                          "--role-arn", s["role"]["Arn"], "--principal-arn", s["provider"],
                          "--saml-assertion", tampered], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "InvalidIdentityToken" in out.stderr, out.stderr


# Encrypted assertions: the provider holds RSA private keys (AddPrivateKey); the IdP encrypts the
# signed assertion with a fresh AES key (AES-GCM or AES-CBC), and that key with RSA-OAEP, as XML
# Encryption (and SAML's EncryptedAssertion) specifies. The encryption is `cryptography`'s.
XENC = "http://www.w3.org/2001/04/xmlenc#"
AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
AES128_CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
UNDECRYPTABLE = ("InvalidIdentityToken", "Invalid SAML response: the encrypted assertion could not be "
                 "decrypted with the SAML provider's private keys", 400)


def new_decryption_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def encrypted(plaintext, public_key, content=AES256_GCM):
    """An EncryptedAssertion element holding `plaintext` (an assertion serialized on its own)."""
    from cryptography.hazmat.primitives import padding as block_padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    import os

    if content == AES256_GCM:
        key, iv = os.urandom(32), os.urandom(12)
        ciphertext = iv + AESGCM(key).encrypt(iv, plaintext, None)
    else:
        key, iv = os.urandom(16), os.urandom(16)
        padder = block_padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        ciphertext = iv + encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
    wrapped = public_key.encrypt(key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(),
                                                   label=None))
    return etree.fromstring(f"""<saml:EncryptedAssertion xmlns:saml="{SAML}"><xenc:EncryptedData xmlns:xenc="{XENC}"
    Type="{XENC}Element"><xenc:EncryptionMethod Algorithm="{content}"/>
  <ds:KeyInfo xmlns:ds="{DS}"><xenc:EncryptedKey>
    <xenc:EncryptionMethod Algorithm="{XENC}rsa-oaep-mgf1p"/>
    <xenc:CipherData><xenc:CipherValue>{base64.b64encode(wrapped).decode()}</xenc:CipherValue></xenc:CipherData>
  </xenc:EncryptedKey></ds:KeyInfo>
  <xenc:CipherData><xenc:CipherValue>{base64.b64encode(ciphertext).decode()}</xenc:CipherValue></xenc:CipherData>
</xenc:EncryptedData></saml:EncryptedAssertion>""")


def encrypt_assertion(response, key, content=AES256_GCM, plaintext=None):
    """The response with its assertion (or `plaintext`) replaced by an EncryptedAssertion for `key`."""
    assertion = assertion_of(response)
    response.replace(assertion, encrypted(plaintext or etree.tostring(assertion), key.public_key(), content))
    return response


@pytest.fixture
def encrypting(server):
    """A provider that holds one private key, and a role that trusts it."""
    iam = boto_client("iam", server)
    idp, key = Idp(), new_decryption_key()
    name = uid("idp")
    created = iam.create_saml_provider(Name=name, SAMLMetadataDocument=idp.metadata(),
                                       AssertionEncryptionMode="Allowed", AddPrivateKey=pem_of(key))
    provider = created["SAMLProviderArn"]
    role = iam.create_role(RoleName=uid("saml"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider},
                                                "Action": "sts:AssumeRoleWithSAML"}]}))["Role"]
    sts = boto_client("sts", server, signature_version=UNSIGNED)
    return {"idp": idp, "key": key, "name": name, "provider": provider, "role": role, "sts": sts, "iam": iam,
            "server": server}


def signed_response(s, **kwargs):
    response = s["idp"].response(pair(s), **kwargs)
    s["idp"].sign(assertion_of(response))
    return response


def test_encrypted_assertions_are_decrypted_with_the_providers_key(server, encrypting):
    s = encrypting
    got = s["iam"].get_saml_provider(SAMLProviderArn=s["provider"])
    assert got["AssertionEncryptionMode"] == "Allowed"
    [listed] = got["PrivateKeyList"]
    assert set(listed) == {"KeyId", "Timestamp"}
    assert 22 <= len(listed["KeyId"]) <= 64 and listed["KeyId"].isalnum() and listed["KeyId"].isupper()
    # The key itself is never returned.
    assert "PRIVATE KEY" not in json.dumps(got, default=str)

    for content in [AES256_GCM, AES128_CBC]:
        got = assume(s, encrypt_assertion(signed_response(s), s["key"], content))
        assert got["Subject"] == "alice"
        c = got["Credentials"]
        who = boto_client("sts", server, key=c["AccessKeyId"], secret=c["SecretAccessKey"],
                          token=c["SessionToken"]).get_caller_identity()
        assert who["Arn"].endswith(f"assumed-role/{s['role']['RoleName']}/alice")
    # The response signed rather than the assertion: the signature covers the ciphertext.
    response = s["idp"].response(pair(s))
    encrypt_assertion(response, s["key"])
    s["idp"].sign(response)
    assert assume(s, response)["Subject"] == "alice"
    # Allowed: a plaintext assertion is accepted too.
    assert assume(s, signed_response(s))["Subject"] == "alice"


def test_required_mode_refuses_plaintext_assertions(encrypting):
    s = encrypting
    s["iam"].update_saml_provider(SAMLProviderArn=s["provider"], AssertionEncryptionMode="Required")
    assert s["iam"].get_saml_provider(SAMLProviderArn=s["provider"])["AssertionEncryptionMode"] == "Required"
    assert refused(lambda: assume(s, signed_response(s))) == (
        "InvalidIdentityToken", "Invalid SAML response: the SAML provider requires encrypted assertions", 400)
    assert assume(s, encrypt_assertion(signed_response(s), s["key"]))["Subject"] == "alice"
    # Tagging the provider rewrites its record: the sealed keys stay.
    s["iam"].tag_saml_provider(SAMLProviderArn=s["provider"], Tags=[{"Key": "team", "Value": "idp"}])
    assert assume(s, encrypt_assertion(signed_response(s), s["key"]))["Subject"] == "alice"
    s["iam"].update_saml_provider(SAMLProviderArn=s["provider"], AssertionEncryptionMode="Allowed")
    assert assume(s, signed_response(s))["Subject"] == "alice"


def test_private_keys_rotate_two_at_most(encrypting):
    s = encrypting
    iam, arn = s["iam"], s["provider"]
    [old] = iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]
    new_key = new_decryption_key()
    iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pem_of(new_key))
    keys = iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]
    assert [k["KeyId"] for k in keys][0] == old["KeyId"] and len(keys) == 2
    new = keys[1]
    # Both keys decrypt during the rotation.
    for key in [s["key"], new_key]:
        assert assume(s, encrypt_assertion(signed_response(s), key))["Subject"] == "alice"
    # A third key is over AWS's quota of two.
    code, message, status = refused(lambda: iam.update_saml_provider(
        SAMLProviderArn=arn, AddPrivateKey=pem_of(new_decryption_key())))
    assert (code, status) == ("LimitExceeded", 409) and "PrivateKeysPerSAMLProvider: 2" in message
    # Adding and removing in one request is refused (AWS: "in a separate request").
    code, _, status = refused(lambda: iam.update_saml_provider(
        SAMLProviderArn=arn, AddPrivateKey=pem_of(new_decryption_key()), RemovePrivateKey=old["KeyId"]))
    assert (code, status) == ("InvalidInput", 400)
    # The old key removed: what was encrypted for it no longer decrypts.
    iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=old["KeyId"])
    assert [k["KeyId"] for k in iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]] == [new["KeyId"]]
    assert refused(lambda: assume(s, encrypt_assertion(signed_response(s), s["key"]))) == UNDECRYPTABLE
    assert assume(s, encrypt_assertion(signed_response(s), new_key))["Subject"] == "alice"
    # Removing a key the provider does not have (a well-formed id), or an ill-formed id.
    code, _, status = refused(lambda: iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=old["KeyId"]))
    assert (code, status) == ("NoSuchEntity", 404)
    code, _, status = refused(lambda: boto_client("iam", s["server"], parameter_validation=False)
                              .update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey="not-a-key-id"))
    assert (code, status) == ("ValidationError", 400)
    # No key left: an encrypted assertion cannot be decrypted.
    iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=new["KeyId"])
    assert "PrivateKeyList" not in iam.get_saml_provider(SAMLProviderArn=arn)
    code, message, status = refused(lambda: assume(s, encrypt_assertion(signed_response(s), new_key)))
    assert (code, status) == ("InvalidIdentityToken", 400) and "no private key" in message


def test_private_keys_must_be_rsa_private_keys(encrypting):
    from cryptography.hazmat.primitives.asymmetric import ec

    s = encrypting
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    public = s["key"].public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    for bad in ["not a key", ec_key, public]:
        code, message, status = refused(lambda: s["iam"].update_saml_provider(
            SAMLProviderArn=s["provider"], AddPrivateKey=bad))
        assert (code, status) == ("InvalidInput", 400)
        assert bad not in message
        code, _, status = refused(lambda: s["iam"].create_saml_provider(
            Name=uid("idp"), SAMLMetadataDocument=s["idp"].metadata(), AddPrivateKey=bad))
        assert (code, status) == ("InvalidInput", 400)
    # PKCS#1 ("BEGIN RSA PRIVATE KEY"), as openssl genrsa writes it, is accepted.
    pkcs1 = new_decryption_key()
    s["iam"].update_saml_provider(SAMLProviderArn=s["provider"], AddPrivateKey=pkcs1.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode())
    assert assume(s, encrypt_assertion(signed_response(s), pkcs1))["Subject"] == "alice"


def test_encrypted_assertions_that_must_be_refused(encrypting):
    s = encrypting
    invalid = ("InvalidIdentityToken", "Response signature invalid", 400)

    # Encrypted for a key the provider does not hold.
    assert refused(lambda: assume(s, encrypt_assertion(signed_response(s), new_decryption_key()))) == UNDECRYPTABLE

    # The ciphertext tampered with (GCM's tag fails; CBC decrypts to garbage or breaks the signature).
    for content in [AES256_GCM, AES128_CBC]:
        response = encrypt_assertion(signed_response(s), s["key"], content)
        value = response.findall(f".//{{{XENC}}}CipherValue")[-1]
        raw = bytearray(base64.b64decode(value.text))
        raw[len(raw) // 2] ^= 0x01
        value.text = base64.b64encode(bytes(raw)).decode()
        assert refused(lambda: assume(s, response)) in [UNDECRYPTABLE, invalid]

    # The response is not signed, so the ciphertext is unauthenticated: whatever is wrong with what
    # it decrypts to, the answer is the decryption's one message (no oracle on a forged
    # ciphertext's plaintext). Decrypts to an unsigned assertion:
    assert refused(lambda: assume(s, encrypt_assertion(s["idp"].response(pair(s)), s["key"]))) == UNDECRYPTABLE

    # Decrypts to the signed assertion wrapping a second, unsigned one.
    response = signed_response(s)
    evil = copy.deepcopy(assertion_of(response))
    evil.remove(evil.find(f"{{{DS}}}Signature"))
    evil.set("ID", "_evil")
    evil.find(f".//{{{SAML}}}NameID").text = "mallory"
    wrapping = copy.deepcopy(assertion_of(response))
    advice = etree.SubElement(wrapping, f"{{{SAML}}}Advice")
    advice.append(evil)
    wrapping.find(f"{{{SAML}}}Subject").addprevious(advice)
    encrypt_assertion(response, s["key"], plaintext=etree.tostring(wrapping))
    assert refused(lambda: assume(s, response)) == UNDECRYPTABLE

    # A signed response whose ciphertext was changed: refused on the signature, before decrypting.
    response = s["idp"].response(pair(s))
    encrypt_assertion(response, s["key"], AES128_CBC)
    s["idp"].sign(response)
    value = response.findall(f".//{{{XENC}}}CipherValue")[-1]
    value.text = ("B" if value.text[0] == "A" else "A") + value.text[1:]
    assert refused(lambda: assume(s, response)) == invalid


def test_the_private_key_is_never_in_the_audit_trail(start_server, tmp_path):
    trail = tmp_path / "audit.log"
    srv = start_server(["--dev", "--audit-log", str(trail)])
    iam = boto_client("iam", srv)
    key = pem_of(new_decryption_key())
    arn = iam.create_saml_provider(Name=uid("idp"), SAMLMetadataDocument=Idp().metadata(),
                                   AddPrivateKey=key)["SAMLProviderArn"]
    iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=pem_of(new_decryption_key()))
    srv.stop()
    raw = trail.read_text()
    body = "".join(key.splitlines()[1:-1])
    assert "UpdateSAMLProvider" in raw
    for line in key.splitlines()[1:-1]:
        assert line not in raw
    assert body[:40] not in raw.replace("\\n", "")
