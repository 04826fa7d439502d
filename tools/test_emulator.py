"""Tests for tools/emulator.py: run with `python -m pytest tools/test_emulator.py` in a venv that
has tools/requirements.txt and pytest installed.

One emulator subprocess serves the whole module (stopped by PID with SIGTERM at the end); the
stdin-EOF test starts a second, short-lived one. Each test works in its own accounts (12-digit
access key ids) or with its own names, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

EMULATOR = Path(__file__).with_name("emulator.py")
SAML_DOC = '<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/">' + (
    "<!-- padding -->" * 80
) + "</md:EntityDescriptor>"
assert len(SAML_DOC) >= 1000


class Emulator:
    def __init__(self, proc: subprocess.Popen, port: int, stderr_path: str) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.stderr_path = stderr_path

    def client(self, service: str, account: str = "123456789012"):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=account,
            aws_secret_access_key="test",
            config=Config(
                parameter_validation=False,  # let the server, not botocore, reject bad input
                retries={"mode": "standard", "max_attempts": 1},
                s3={"addressing_style": "path"},
                signature_version="s3v4" if service == "s3" else None,
            ),
        )

    def calls(self) -> list[dict[str, str]]:
        with urllib.request.urlopen(f"{self.url}/_samlfed/calls", timeout=5) as r:
            return json.loads(r.read())

    def clear_calls(self) -> None:
        req = urllib.request.Request(f"{self.url}/_samlfed/calls", method="DELETE")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 204


def start_emulator() -> tuple[subprocess.Popen, int, str]:
    stderr = tempfile.NamedTemporaryFile(prefix="emulator-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, str(EMULATOR)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline().decode() if ready else ""
    m = re.fullmatch(r"PORT=(\d+)\n", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"emulator did not print PORT=<n>: {line!r}; stderr: {Path(stderr.name).read_text()}")
    return proc, int(m.group(1)), stderr.name


def stop_by_pid(proc: subprocess.Popen, timeout: float = 10) -> int:
    os.kill(proc.pid, signal.SIGTERM)
    return proc.wait(timeout=timeout)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    proc, port, stderr_path = start_emulator()
    try:
        yield Emulator(proc, port, stderr_path)
    finally:
        rc = stop_by_pid(proc)
        rest = proc.stdout.read().decode()
        os.unlink(stderr_path)
        assert rc == 0, f"emulator exited {rc} on SIGTERM"
        assert rest == "", f"emulator printed more than one line to stdout: {rest!r}"


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def provider_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:saml-provider/{name}"


# --- server contract ------------------------------------------------------------------------------
def test_listens_on_loopback_only(emu: Emulator) -> None:
    tcp = Path("/proc/net/tcp")
    if not tcp.exists():
        pytest.skip("no /proc/net/tcp")
    listening = [
        line.split()[1]
        for line in tcp.read_text().splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == emu.port
    ]
    assert listening == [f"0100007F:{emu.port:04X}"]


def test_stdin_eof_stops_the_emulator() -> None:
    proc, _port, stderr_path = start_emulator()
    try:
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.unlink(stderr_path)


# --- SAML providers -------------------------------------------------------------------------------
def test_create_existing_name_is_entity_already_exists(emu: Emulator) -> None:
    iam = emu.client("iam", "100000000001")
    iam.create_saml_provider(Name="dup", SAMLMetadataDocument=SAML_DOC)
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="dup", SAMLMetadataDocument=SAML_DOC + " ")
    assert error_of(e) == ("EntityAlreadyExists", 409)
    # the original document was not overwritten
    got = iam.get_saml_provider(SAMLProviderArn=provider_arn("100000000001", "dup"))
    assert got["SAMLMetadataDocument"] == SAML_DOC


@pytest.mark.parametrize("call", ["get", "update", "delete"])
def test_missing_arn_is_no_such_entity(emu: Emulator, call: str) -> None:
    iam = emu.client("iam", "100000000002")
    arn = provider_arn("100000000002", "missing")
    with pytest.raises(ClientError) as e:
        if call == "get":
            iam.get_saml_provider(SAMLProviderArn=arn)
        elif call == "update":
            iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=SAML_DOC)
        else:
            iam.delete_saml_provider(SAMLProviderArn=arn)
    assert error_of(e) == ("NoSuchEntity", 404)


def test_delete_then_get_is_no_such_entity(emu: Emulator) -> None:
    iam = emu.client("iam", "100000000002")
    arn = iam.create_saml_provider(Name="gone", SAMLMetadataDocument=SAML_DOC)["SAMLProviderArn"]
    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.delete_saml_provider(SAMLProviderArn=arn)
    assert error_of(e) == ("NoSuchEntity", 404)


def test_tags_and_uuid_round_trip(emu: Emulator) -> None:
    account = "100000000003"
    iam = emu.client("iam", account)
    raw: dict[str, bytes] = {}
    iam.meta.events.register(
        "after-call.iam.GetSAMLProvider", lambda http_response, **_: raw.setdefault("get", http_response.content)
    )
    created = iam.create_saml_provider(
        Name="tagged",
        SAMLMetadataDocument=SAML_DOC,
        Tags=[{"Key": "samlfed:stack", "Value": "s1"}, {"Key": "Owner", "Value": "team"}],
    )
    assert created["SAMLProviderArn"] == provider_arn(account, "tagged")
    assert created["Tags"] == [{"Key": "Owner", "Value": "team"}, {"Key": "samlfed:stack", "Value": "s1"}]

    got = iam.get_saml_provider(SAMLProviderArn=created["SAMLProviderArn"])
    assert got["Tags"] == created["Tags"]
    assert re.fullmatch(r"[A-Z0-9]{22,64}", got["SAMLProviderUUID"])
    assert got["SAMLMetadataDocument"] == SAML_DOC
    assert "CreateDate" in got and "ValidUntil" in got
    body = raw["get"].decode()
    assert body.startswith('<GetSAMLProviderResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'), body[:200]
    assert "<GetSAMLProviderResult>" in body and "<ResponseMetadata>" in body

    other = iam.create_saml_provider(Name="tagged2", SAMLMetadataDocument=SAML_DOC)
    other_got = iam.get_saml_provider(SAMLProviderArn=other["SAMLProviderArn"])
    assert other_got["SAMLProviderUUID"] != got["SAMLProviderUUID"]
    assert other_got.get("Tags", []) == []
    # the UUID is stable across updates
    iam.update_saml_provider(SAMLProviderArn=created["SAMLProviderArn"], SAMLMetadataDocument=SAML_DOC + " ")
    again = iam.get_saml_provider(SAMLProviderArn=created["SAMLProviderArn"])
    assert again["SAMLProviderUUID"] == got["SAMLProviderUUID"]

    arn = created["SAMLProviderArn"]
    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "Owner", "Value": "other"}, {"Key": "Env", "Value": ""}])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [
        {"Key": "Env", "Value": ""},
        {"Key": "Owner", "Value": "other"},
        {"Key": "samlfed:stack", "Value": "s1"},
    ]
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["Owner", "not-there"])
    listed = iam.list_saml_provider_tags(SAMLProviderArn=arn)
    assert listed["Tags"] == [{"Key": "Env", "Value": ""}, {"Key": "samlfed:stack", "Value": "s1"}]
    assert listed["IsTruncated"] is False
    assert iam.get_saml_provider(SAMLProviderArn=arn)["Tags"] == listed["Tags"]

    missing = provider_arn(account, "nope")
    for call in (
        lambda: iam.tag_saml_provider(SAMLProviderArn=missing, Tags=[{"Key": "a", "Value": "b"}]),
        lambda: iam.untag_saml_provider(SAMLProviderArn=missing, TagKeys=["a"]),
        lambda: iam.list_saml_provider_tags(SAMLProviderArn=missing),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e) == ("NoSuchEntity", 404)


def test_fifty_tag_limit(emu: Emulator) -> None:
    iam = emu.client("iam", "100000000004")
    fifty = [{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)]
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="t51", SAMLMetadataDocument=SAML_DOC, Tags=fifty + [{"Key": "x", "Value": "y"}])
    assert error_of(e) == ("ValidationError", 400)
    with pytest.raises(ClientError):
        iam.get_saml_provider(SAMLProviderArn=provider_arn("100000000004", "t51"))  # not created

    arn = iam.create_saml_provider(Name="t50", SAMLMetadataDocument=SAML_DOC, Tags=fifty)["SAMLProviderArn"]
    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "k00", "Value": "overwritten"}])  # still 50
    with pytest.raises(ClientError) as e:
        iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "one-more", "Value": "v"}])
    assert error_of(e) == ("LimitExceeded", 409)
    tags = iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"]
    assert len(tags) == 50 and {"Key": "k00", "Value": "overwritten"} in tags

    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="badkey", SAMLMetadataDocument=SAML_DOC, Tags=[{"Key": "k" * 129, "Value": "v"}])
    assert error_of(e) == ("ValidationError", 400)
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="badval", SAMLMetadataDocument=SAML_DOC, Tags=[{"Key": "k", "Value": "v" * 257}])
    assert error_of(e) == ("ValidationError", 400)


@pytest.mark.parametrize("name", ["", "has space", "slash/name", "a+b", "n" * 129, "é"])
def test_invalid_name_is_validation_error(emu: Emulator, name: str) -> None:
    iam = emu.client("iam", "100000000005")
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name=name, SAMLMetadataDocument=SAML_DOC)
    assert error_of(e) == ("ValidationError", 400)


def test_valid_names_are_accepted(emu: Emulator) -> None:
    iam = emu.client("iam", "100000000005")
    for name in ("Okta_prod-1.x", "n" * 128, "_"):
        assert iam.create_saml_provider(Name=name, SAMLMetadataDocument=SAML_DOC)["SAMLProviderArn"].endswith(name)


def test_document_length_limits(emu: Emulator) -> None:
    iam = emu.client("iam", "100000000006")
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="short", SAMLMetadataDocument="x" * 999)
    assert error_of(e) == ("ValidationError", 400)
    arn = iam.create_saml_provider(Name="exact", SAMLMetadataDocument="x" * 1000)["SAMLProviderArn"]
    with pytest.raises(ClientError) as e:
        iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument="x" * 999)
    assert error_of(e) == ("ValidationError", 400)
    big = "<x>" + "y" * 2_000_000 + "</x>"  # larger than werkzeug's default form limit
    iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=big)
    assert iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == big
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="huge", SAMLMetadataDocument="z" * 10_000_001)
    assert error_of(e) == ("ValidationError", 400)


def test_limit_exceeded_at_101(emu: Emulator) -> None:
    iam = emu.client("iam", "100000000007")
    for i in range(100):
        iam.create_saml_provider(Name=f"p{i:03d}", SAMLMetadataDocument=SAML_DOC)
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="p100", SAMLMetadataDocument=SAML_DOC)
    assert error_of(e) == ("LimitExceeded", 409)
    assert len(iam.list_saml_providers()["SAMLProviderList"]) == 100
    iam.delete_saml_provider(SAMLProviderArn=provider_arn("100000000007", "p000"))
    iam.create_saml_provider(Name="p100", SAMLMetadataDocument=SAML_DOC)


# --- accounts and the call log --------------------------------------------------------------------
def test_twelve_digit_access_keys_isolate_accounts(emu: Emulator) -> None:
    a, b = emu.client("iam", "111111111111"), emu.client("iam", "222222222222")
    arn_a = a.create_saml_provider(Name="same", SAMLMetadataDocument=SAML_DOC)["SAMLProviderArn"]
    arn_b = b.create_saml_provider(Name="same", SAMLMetadataDocument=SAML_DOC)["SAMLProviderArn"]
    assert arn_a == provider_arn("111111111111", "same")
    assert arn_b == provider_arn("222222222222", "same")
    assert [p["Arn"] for p in a.list_saml_providers()["SAMLProviderList"]] == [arn_a]
    assert [p["Arn"] for p in b.list_saml_providers()["SAMLProviderList"]] == [arn_b]
    with pytest.raises(ClientError) as e:
        a.get_saml_provider(SAMLProviderArn=arn_b)
    assert error_of(e) == ("NoSuchEntity", 404)
    assert emu.client("sts", "111111111111").get_caller_identity()["Account"] == "111111111111"


def test_call_log_records_and_clears(emu: Emulator) -> None:
    iam = emu.client("iam", "333333333333")
    s3 = emu.client("s3", "444444444444")
    emu.clear_calls()
    assert emu.calls() == []
    arn = iam.create_saml_provider(Name="logged", SAMLMetadataDocument=SAML_DOC)["SAMLProviderArn"]
    iam.get_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError):
        iam.create_saml_provider(Name="logged", SAMLMetadataDocument=SAML_DOC)
    s3.create_bucket(Bucket="calllog-bucket")
    s3.put_object(Bucket="calllog-bucket", Key="dir/meta.xml", Body=b"<x/>")
    s3.head_object(Bucket="calllog-bucket", Key="dir/meta.xml")
    s3.get_object(Bucket="calllog-bucket", Key="dir/meta.xml")["Body"].read()
    s3.list_objects_v2(Bucket="calllog-bucket")
    s3.delete_object(Bucket="calllog-bucket", Key="dir/meta.xml")
    assert emu.calls() == [
        {"service": "iam", "action": "CreateSAMLProvider", "account": "333333333333", "access_key": "333333333333"},
        {"service": "iam", "action": "GetSAMLProvider", "account": "333333333333", "access_key": "333333333333"},
        {"service": "iam", "action": "CreateSAMLProvider", "account": "333333333333", "access_key": "333333333333"},
        {"service": "s3", "action": "CreateBucket", "account": "444444444444", "access_key": "444444444444"},
        {"service": "s3", "action": "PutObject", "account": "444444444444", "access_key": "444444444444"},
        {"service": "s3", "action": "HeadObject", "account": "444444444444", "access_key": "444444444444"},
        {"service": "s3", "action": "GetObject", "account": "444444444444", "access_key": "444444444444"},
        {"service": "s3", "action": "ListObjectsV2", "account": "444444444444", "access_key": "444444444444"},
        {"service": "s3", "action": "DeleteObject", "account": "444444444444", "access_key": "444444444444"},
    ]
    emu.clear_calls()
    assert emu.calls() == []  # and reading the log is not itself logged


def test_s3_path_style_and_presigned_put_with_empty_content_type(emu: Emulator) -> None:
    s3 = emu.client("s3", "555555555555")
    s3.create_bucket(Bucket="cfn-responses")
    s3.put_object(Bucket="cfn-responses", Key="meta/idp.xml", Body=SAML_DOC.encode())
    assert s3.get_object(Bucket="cfn-responses", Key="meta/idp.xml")["Body"].read() == SAML_DOC.encode()

    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "cfn-responses", "Key": "resp/abc"}, ExpiresIn=300
    )
    parsed = urllib.parse.urlsplit(url)
    assert parsed.path == "/cfn-responses/resp/abc" and "X-Amz-Credential=555555555555" in parsed.query
    body = json.dumps({"Status": "SUCCESS", "PhysicalResourceId": "x"}).encode()
    emu.clear_calls()
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.putrequest("PUT", f"{parsed.path}?{parsed.query}", skip_accept_encoding=True)
    conn.putheader("Content-Type", "")  # what CloudFormation's presigned ResponseURL requires
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 200
    assert emu.calls() == [{"service": "s3", "action": "PutObject", "account": "555555555555", "access_key": "555555555555"}]
    assert s3.get_object(Bucket="cfn-responses", Key="resp/abc")["Body"].read() == body


# --- roles ----------------------------------------------------------------------------------------
def trust_policy(account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn(account, "idp")},
                    "Action": "sts:AssumeRoleWithSAML",
                    "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
                }
            ],
        }
    )


def test_role_apis_answer_like_iam(emu: Emulator) -> None:
    account = "100000000008"
    iam = emu.client("iam", account)
    trust = trust_policy(account)
    # IAM refuses a trust policy naming a provider it does not (yet) know.
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="too-early", AssumeRolePolicyDocument=trust)
    assert error_of(e) == ("MalformedPolicyDocument", 400)
    assert "Invalid principal in policy" in e.value.response["Error"]["Message"]
    iam.create_saml_provider(Name="idp", SAMLMetadataDocument=SAML_DOC)
    boundary = "arn:aws:iam::aws:policy/PowerUserAccess"
    role = iam.create_role(
        RoleName="saml-admins",
        Path="/samlfed/",
        AssumeRolePolicyDocument=trust,
        Description="d",
        MaxSessionDuration=7200,
        PermissionsBoundary=boundary,
        Tags=[{"Key": "samlfed:stack", "Value": "s1"}],
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account}:role/samlfed/saml-admins"
    got = iam.get_role(RoleName="saml-admins")["Role"]
    assert got["Tags"] == [{"Key": "samlfed:stack", "Value": "s1"}]
    assert got["MaxSessionDuration"] == 7200
    assert got["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert got["AssumeRolePolicyDocument"] == json.loads(trust)

    for kwargs, code in [
        ({"RoleName": "has space"}, ("ValidationError", 400)),
        ({"RoleName": "r" * 65}, ("ValidationError", 400)),
        ({"RoleName": "short-session", "MaxSessionDuration": 3599}, ("ValidationError", 400)),
        ({"RoleName": "long-session", "MaxSessionDuration": 43201}, ("ValidationError", 400)),
        ({"RoleName": "bad-trust", "AssumeRolePolicyDocument": "{not json"}, ("MalformedPolicyDocument", 400)),
        ({"RoleName": "saml-admins"}, ("EntityAlreadyExists", 409)),
    ]:
        with pytest.raises(ClientError) as e:
            iam.create_role(**{"AssumeRolePolicyDocument": trust, **kwargs})
        assert error_of(e) == code, kwargs

    iam.update_role(RoleName="saml-admins", Description="new", MaxSessionDuration=43200)
    with pytest.raises(ClientError) as e:
        iam.update_role(RoleName="saml-admins", Description="new", MaxSessionDuration=43201)
    assert error_of(e) == ("ValidationError", 400)
    iam.update_assume_role_policy(RoleName="saml-admins", PolicyDocument=trust)
    iam.delete_role_permissions_boundary(RoleName="saml-admins")
    iam.put_role_permissions_boundary(RoleName="saml-admins", PermissionsBoundary=boundary)

    # managed policies: AWS managed ones exist; the 11th is over the default quota
    aws_policies = [
        p["Arn"] for p in iam.list_policies(Scope="AWS", MaxItems=20)["Policies"]
    ]
    assert len(aws_policies) >= 11
    for arn in aws_policies[:10]:
        iam.attach_role_policy(RoleName="saml-admins", PolicyArn=arn)
    iam.attach_role_policy(RoleName="saml-admins", PolicyArn=aws_policies[0])  # re-attach: no-op
    with pytest.raises(ClientError) as e:
        iam.attach_role_policy(RoleName="saml-admins", PolicyArn=aws_policies[10])
    assert error_of(e) == ("LimitExceeded", 409)
    attached = iam.list_attached_role_policies(RoleName="saml-admins")["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == sorted(aws_policies[:10])

    # DeleteRole with attached managed policies, then with inline policies -> DeleteConflict
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName="saml-admins")
    assert error_of(e) == ("DeleteConflict", 409)
    for arn in aws_policies[:10]:
        iam.detach_role_policy(RoleName="saml-admins", PolicyArn=arn)
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    iam.put_role_policy(RoleName="saml-admins", PolicyName="inline", PolicyDocument=doc)
    assert iam.list_role_policies(RoleName="saml-admins")["PolicyNames"] == ["inline"]
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName="saml-admins")
    assert error_of(e) == ("DeleteConflict", 409)
    iam.delete_role_policy(RoleName="saml-admins", PolicyName="inline")

    # tags: TagRole overwrites by key; more than 50 on the role -> LimitExceeded
    iam.tag_role(RoleName="saml-admins", Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(49)])
    iam.tag_role(RoleName="saml-admins", Tags=[{"Key": "samlfed:stack", "Value": "s2"}])
    with pytest.raises(ClientError) as e:
        iam.tag_role(RoleName="saml-admins", Tags=[{"Key": "one-more", "Value": "v"}])
    assert error_of(e) == ("LimitExceeded", 409)
    iam.untag_role(RoleName="saml-admins", TagKeys=[f"k{i:02d}" for i in range(49)])
    assert iam.get_role(RoleName="saml-admins")["Role"]["Tags"] == [{"Key": "samlfed:stack", "Value": "s2"}]

    iam.delete_role(RoleName="saml-admins")
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName="saml-admins")
    assert error_of(e) == ("NoSuchEntity", 404)
