"""Tests for tools/emulator.py: run with `python -m pytest tools/test_emulator.py` in a venv that
has tools/requirements.txt and pytest installed.

One emulator subprocess serves the whole module (stopped by PID with SIGTERM at the end); the
stdin-EOF test starts a second, short-lived one. Each test works in its own accounts (12-digit
access key ids) or with its own names, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import dataclasses
import http.client
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

EMULATOR = Path(__file__).with_name("emulator.py")
sys.path.insert(0, str(EMULATOR.parent))
import emulator_launch  # noqa: E402
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
    try:
        proc, port = emulator_launch.start(stderr, program=EMULATOR, timeout_s=30)
    except emulator_launch.EmulatorStartError as exc:
        raise RuntimeError(f"{exc}; stderr: {Path(stderr.name).read_text()}") from exc
    return proc, port, stderr.name


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


# --- CloudFormation engine: the pure parts --------------------------------------------------------
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ of the imported tools in the source tree
import emulator  # noqa: E402  (applies the patches to moto in this process too; harmless here)
import lambda_local  # noqa: E402


def test_cfn_string_makes_every_scalar_a_string_and_keeps_shapes() -> None:
    value = {
        "ServiceTimeout": 300,
        "MaxSessionDuration": 3600,
        "Ratio": 1.5,
        "Enabled": True,
        "Disabled": False,
        "Name": "x",
        "Dropped": None,  # AWS::NoValue
        "List": [1, None, "two", [False]],
        "Map": {"n": 7, "inner": {"b": True}},
    }
    assert emulator.cfn_string(value) == {
        "ServiceTimeout": "300",
        "MaxSessionDuration": "3600",
        "Ratio": "1.5",
        "Enabled": "true",
        "Disabled": "false",
        "Name": "x",
        "List": ["1", "two", ["false"]],
        "Map": {"n": "7", "inner": {"b": "true"}},
    }


def test_event_shapes_follow_the_request_reference() -> None:
    props = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f", "ServiceTimeout": 300, "N": 1}
    common = dict(request_id="r1", response_url="http://127.0.0.1:1/cloudformation_us-east-1/cfnresponse?x",
                  stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/s/g", logical_id="L", resource_type="Custom::T")
    create = emulator.custom_resource_event("Create", properties=props, **common)
    assert list(create) == ["RequestType", "ServiceToken", "ServiceTimeout", "ResponseURL", "StackId", "RequestId",
                            "LogicalResourceId", "ResourceType", "ResourceProperties"]
    assert create["ServiceToken"] == props["ServiceToken"]
    assert create["ServiceTimeout"] == "300"
    assert create["ResourceProperties"] == {"ServiceToken": props["ServiceToken"], "ServiceTimeout": "300", "N": "1"}

    update = emulator.custom_resource_event("Update", properties=props, old_properties={"N": 0}, physical_id="p1", **common)
    assert update["PhysicalResourceId"] == "p1"
    assert update["OldResourceProperties"] == {"N": "0"}

    delete = emulator.custom_resource_event("Delete", properties={"ServiceToken": "t"}, physical_id="p1", **common)
    assert delete["PhysicalResourceId"] == "p1"
    assert "OldResourceProperties" not in delete and "ServiceTimeout" not in delete


def test_service_timeout_is_capped() -> None:
    assert emulator.service_timeout_s({"ServiceTimeout": "5"}) == 5
    assert emulator.service_timeout_s({}) == min(3600, emulator.CFN_RESPONSE_TIMEOUT_CAP_S)
    assert emulator.service_timeout_s({"ServiceTimeout": "0"}) == 1


def test_dependencies_come_from_ref_getatt_sub_and_depends_on() -> None:
    resources = {
        "Role": {"Type": "Custom::R", "Properties": {"P": {"Ref": "Provider"}, "Q": {"Fn::GetAtt": "Fn.Arn"}}},
        "Provider": {"Type": "Custom::P", "Properties": {"T": {"Fn::GetAtt": ["Fn", "Arn"]}}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Desc": {"Fn::Sub": "${Group} ${AWS::Region} ${!Literal}"}}},
        "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"N": {"Fn::Sub": ["${X}", {"X": {"Ref": "Param"}}]}}},
        "Late": {"Type": "Custom::L", "DependsOn": "Role", "Properties": {}},
    }
    deps = emulator.template_dependencies(resources)
    assert deps == {"Role": {"Provider", "Fn"}, "Provider": {"Fn"}, "Fn": {"Group"}, "Group": set(), "Late": {"Role"}}
    assert emulator.dependency_order(resources) == ["Group", "Fn", "Provider", "Role", "Late"]
    with pytest.raises(Exception, match=r"Circular dependency between resources: \[A, B\]"):
        emulator.dependency_order({"A": {"Properties": {"x": {"Ref": "B"}}}, "B": {"DependsOn": ["A"]}})


def test_responses_are_read_as_cloudformation_reads_them() -> None:
    event = {"StackId": "s", "RequestId": "r", "LogicalResourceId": "L", "PhysicalResourceId": "old"}
    ok = {"Status": "SUCCESS", "PhysicalResourceId": "p", "StackId": "s", "RequestId": "r", "LogicalResourceId": "L",
          "Data": {"Arn": "a"}}
    answer = emulator.parse_custom_resource_response(json.dumps(ok).encode(), event)
    assert (answer.status, answer.physical_id, answer.data) == ("SUCCESS", "p", {"Arn": "a"})

    failed = dict(ok, Status="FAILED", Reason="the bucket does not exist")
    answer = emulator.parse_custom_resource_response(json.dumps(failed).encode(), event)
    assert answer.status == "FAILED"
    assert answer.reason == ("Received response status [FAILED] from custom resource. Message returned: "
                             "the bucket does not exist (RequestId: r)")
    assert answer.physical_id == "p"

    too_long = dict(ok, Data={"x": "y" * 5000})
    assert "too long" in emulator.parse_custom_resource_response(json.dumps(too_long).encode(), event).reason
    no_id = {k: v for k, v in ok.items() if k != "PhysicalResourceId"}
    assert "Invalid PhysicalResourceId" in emulator.parse_custom_resource_response(json.dumps(no_id).encode(), event).reason
    other = dict(ok, RequestId="someone-else")
    assert emulator.parse_custom_resource_response(json.dumps(other).encode(), event).status == "FAILED"
    assert emulator.parse_custom_resource_response(b"not json", event).status == "FAILED"


def test_parameter_constraints_are_checked() -> None:
    emulator.check_parameter("N", {"Type": "String", "AllowedPattern": "^[a-z]{1,3}$"}, "abc")
    with pytest.raises(Exception, match=r"Parameter 'N' must match pattern \^\[a-z\]\{1,3\}\$"):
        emulator.check_parameter("N", {"Type": "String", "AllowedPattern": "^[a-z]{1,3}$"}, "abcd")
    with pytest.raises(Exception, match="Parameter 'N' failed to satisfy constraint: three letters"):
        emulator.check_parameter("N", {"Type": "String", "AllowedPattern": "[a-z]{3}", "ConstraintDescription": "three letters"}, "ab")
    with pytest.raises(Exception, match="must be one of AllowedValues"):
        emulator.check_parameter("A", {"Type": "String", "AllowedValues": ["arm64", "x86_64"]}, "mips")
    with pytest.raises(Exception, match="must be a number not less than 3600"):
        emulator.check_parameter("D", {"Type": "Number", "MinValue": 3600}, 60)
    emulator.check_parameter("D", {"Type": "Number", "MinValue": 3600, "AllowedValues": [3600, 7200]}, 3600)


def test_function_environment_is_lambdas() -> None:
    spec = lambda_local.FunctionSpec(
        function_arn="arn:aws:lambda:eu-west-1:210987654321:function:f", function_name="f", account_id="210987654321",
        region="eu-west-1", endpoint_url="http://127.0.0.1:5", memory_size=256,
        environment=(("MY_SETTING", "1"), ("AWS_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "stolen")),
        log_format="JSON", log_level="debug",
    )
    env = lambda_local.function_environment(spec, "127.0.0.1:9", "/tmp/task", path="/bin")
    assert env["MY_SETTING"] == "1"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"  # reserved names win
    assert env["AWS_ACCESS_KEY_ID"] == "210987654321"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert (env["AWS_LAMBDA_LOG_FORMAT"], env["AWS_LAMBDA_LOG_LEVEL"]) == ("JSON", "DEBUG")
    assert env["PATH"] == "/bin"
    text = lambda_local.function_environment(dataclasses.replace(spec, log_format="Text"), "a", "b")
    assert text["AWS_LAMBDA_LOG_FORMAT"] == "Text" and "AWS_LAMBDA_LOG_LEVEL" not in text


def test_reserved_variables_change_only_through_the_test_only_override() -> None:
    spec = lambda_local.FunctionSpec(
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f", function_name="f", account_id="123456789012",
        region="us-east-1", endpoint_url="http://127.0.0.1:5",
        environment=(("LOCAL_LAMBDA_SET_AWS_REGION", ""), ("LOCAL_LAMBDA_SET_AWS_SECRET_ACCESS_KEY", "mine"),
                     ("AWS_SESSION_TOKEN", "ignored")),
    )
    env = lambda_local.function_environment(spec, "127.0.0.1:9", "/tmp/task")
    assert "AWS_REGION" not in env and env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_SECRET_ACCESS_KEY"] == "mine"
    assert env["AWS_SESSION_TOKEN"] == lambda_local.DUMMY_SESSION_TOKEN
    assert not any(k.startswith("LOCAL_LAMBDA_SET_") for k in env)


# --- CloudFormation engine: stacks against a scripted custom-resource provider ----------------------
# The provider is a real Lambda deployment package: a `bootstrap` (this Python, as a script) that
# speaks the Runtime API, records each event it gets in EVENTS_FILE, and answers as its properties
# tell it: FailOn=<RequestType> answers FAILED, SilentOn=<RequestType> does not answer, the
# PhysicalResourceId is the Name property, Data is {"Echo": "echo-<Name>"}.
FAKE_PROVIDER = r'''#!{python}
import json, os, time, urllib.request
API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(API + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        seen = {{"event": json.loads(r.read()), "arn": r.headers["Lambda-Runtime-Invoked-Function-Arn"],
                "deadline_ms": int(r.headers["Lambda-Runtime-Deadline-Ms"]), "now_ms": int(time.time() * 1000),
                "pid": os.getpid(), "env": dict(os.environ)}}
    event = seen["event"]
    # What the function's origin check would see: CloudFormation's record of this resource.
    import boto3
    cfn = boto3.client("cloudformation", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
    detail = cfn.describe_stack_resource(StackName=event["StackId"], LogicalResourceId=event["LogicalResourceId"])
    detail = detail["StackResourceDetail"]
    seen["observed"] = {{"status": detail["ResourceStatus"], "physical": detail.get("PhysicalResourceId", ""),
                        "type": detail["ResourceType"],
                        "stack": cfn.describe_stacks(StackName=event["StackId"])["Stacks"][0]["StackStatus"]}}
    with open(os.environ["EVENTS_FILE"], "a") as f:
        f.write(json.dumps(seen) + "\n")
    kind, props = event["RequestType"], event.get("ResourceProperties") or {{}}
    if props.get("SilentOn") != kind:
        fail = props.get("FailOn") == kind
        body = {{"Status": "FAILED" if fail else "SUCCESS", "Reason": "told to fail on " + kind if fail else "",
                "PhysicalResourceId": event["PhysicalResourceId"] if kind == "Delete" else props.get("Name", "unnamed"),
                "StackId": event["StackId"], "RequestId": event["RequestId"],
                "LogicalResourceId": event["LogicalResourceId"], "Data": {{"Echo": "echo-" + str(props.get("Name"))}}}}
        urllib.request.urlopen(urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT")).read()
    urllib.request.urlopen(urllib.request.Request(API + request_id + "/response", data=b"{{}}", method="POST")).read()
'''

ENGINE_TEMPLATE = {
    "Parameters": {
        "CodeBucket": {"Type": "String"},
        "EventsFile": {"Type": "String"},
        "NameA": {"Type": "String", "Default": "a1", "AllowedPattern": "[a-z0-9]+"},
        "NameB": {"Type": "String", "Default": "b1"},
        "FailOnB": {"Type": "String", "Default": ""},
        "SilentOnB": {"Type": "String", "Default": ""},
        "TimeoutB": {"Type": "Number", "Default": 30},
        "Seconds": {"Type": "Number", "Default": 3600},
        "Flags": {"Type": "CommaDelimitedList", "Default": "x,y"},
    },
    "Resources": {
        # B first: the order comes from the references, not from the template's order.
        "B": {
            "Type": "Custom::Thing",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]},
                "ServiceTimeout": {"Ref": "TimeoutB"},
                "Name": {"Ref": "NameB"},
                "Peer": {"Ref": "A"},
                "PeerEcho": {"Fn::GetAtt": ["A", "Echo"]},
                "FailOn": {"Ref": "FailOnB"},
                "SilentOn": {"Ref": "SilentOnB"},
                "Seconds": {"Ref": "Seconds"},
                "Enabled": True,
                "List": [1, {"Ref": "AWS::NoValue"}, "two"],
                "Flags": {"Ref": "Flags"},
                "Map": {"Ratio": 1.5, "Off": False},
            },
        },
        "A": {
            "Type": "AWS::CloudFormation::CustomResource",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]}, "Name": {"Ref": "NameA"}},
        },
        "Provider": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "provided.al2023",
                "Handler": "bootstrap",
                "Role": {"Fn::GetAtt": ["ProviderRole", "Arn"]},
                "Code": {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": "provider.zip"},
                "Timeout": 10,
                "MemorySize": 256,
                "Environment": {"Variables": {"EVENTS_FILE": {"Ref": "EventsFile"}}},
                "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"},
            },
        },
        "ProviderRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                },
            },
        },
    },
    "Outputs": {
        "ARef": {"Value": {"Ref": "A"}},
        "BEcho": {"Value": {"Fn::GetAtt": ["B", "Echo"]}},
    },
}


class EngineStack:
    """One stack of ENGINE_TEMPLATE in its own account, and what its provider saw."""

    def __init__(self, emu: Emulator, account: str, tmp: Path) -> None:
        self.emu = emu
        self.account = account
        self.cfn = emu.client("cloudformation", account)
        self.events_file = tmp / "events.jsonl"
        self.events_file.touch()
        self.bucket = f"engine-code-{account}"
        s3 = emu.client("s3", account)
        s3.create_bucket(Bucket=self.bucket)
        s3.put_object(Bucket=self.bucket, Key="provider.zip", Body=provider_zip())
        self.stack_id = ""
        self.seen_before = 0

    def parameters(self, **overrides: str) -> list[dict[str, str]]:
        values = {"CodeBucket": self.bucket, "EventsFile": str(self.events_file), **overrides}
        return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]

    def create(self, **overrides: str) -> dict:
        self.stack_id = self.cfn.create_stack(
            StackName=f"engine-{self.account}", TemplateBody=json.dumps(ENGINE_TEMPLATE), Parameters=self.parameters(**overrides)
        )["StackId"]
        return self.wait()

    def update(self, **overrides: str) -> dict:
        self.seen_before = len(self.seen())
        self.cfn.update_stack(StackName=self.stack_id, TemplateBody=json.dumps(ENGINE_TEMPLATE), Parameters=self.parameters(**overrides))
        return self.wait()

    def delete(self) -> dict:
        self.seen_before = len(self.seen())
        self.cfn.delete_stack(StackName=self.stack_id)
        return self.wait()

    def wait(self, timeout_s: float = 60) -> dict:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            stack = self.cfn.describe_stacks(StackName=self.stack_id)["Stacks"][0]
            if not stack["StackStatus"].endswith("_IN_PROGRESS"):
                return stack
            time.sleep(0.1)
        raise AssertionError(f"stack still {stack['StackStatus']} after {timeout_s} s")

    def seen(self) -> list[dict]:
        return [json.loads(line) for line in self.events_file.read_text().splitlines()]

    def assert_origin_rules(self) -> None:
        """Every request the provider got was one CloudFormation's record vouches for, as the
        function's origin check (src/cfn/origin.rs) reads it: a Create while the resource is
        CREATE_IN_PROGRESS without a physical id; an Update while it is UPDATE_IN_PROGRESS with
        the event's physical id; a Delete while it is DELETE_IN_PROGRESS with the event's physical
        id, or (a replaced resource's old id) while the stack is in a cleanup phase."""
        for seen in self.seen():
            event, observed = seen["event"], seen["observed"]
            kind = event["RequestType"]
            assert observed["type"] == event["ResourceType"], seen
            if kind == "Create":
                assert (observed["status"], observed["physical"]) == ("CREATE_IN_PROGRESS", ""), seen
            elif kind == "Update":
                assert (observed["status"], observed["physical"]) == ("UPDATE_IN_PROGRESS", event["PhysicalResourceId"]), seen
            else:
                deleting = (observed["status"], observed["physical"]) == ("DELETE_IN_PROGRESS", event["PhysicalResourceId"])
                cleanup = observed["stack"] in ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
                assert deleting or cleanup, seen

    def requests(self) -> list[str]:
        """The requests of the last operation, as 'RequestType LogicalId PhysicalId'."""
        return [
            f"{s['event']['RequestType']} {s['event']['LogicalResourceId']} {s['event'].get('PhysicalResourceId', '-')}"
            for s in self.seen()[self.seen_before:]
        ]

    def resource_events(self) -> list[tuple[str, str, str]]:
        events = self.cfn.describe_stack_events(StackName=self.stack_id)["StackEvents"][::-1]
        return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason") or "") for e in events]

    def outputs(self) -> dict[str, str]:
        stack = self.cfn.describe_stacks(StackName=self.stack_id)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


_PROVIDER_ZIP: dict[str, bytes] = {}


def provider_zip() -> bytes:
    if "zip" not in _PROVIDER_ZIP:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o100755 << 16
            archive.writestr(info, FAKE_PROVIDER.format(python=sys.executable))
        _PROVIDER_ZIP["zip"] = buffer.getvalue()
    return _PROVIDER_ZIP["zip"]


def test_create_sends_string_properties_in_dependency_order_and_waits_for_answers(emu: Emulator, tmp_path: Path) -> None:
    stack = EngineStack(emu, "300000000001", tmp_path)
    done = stack.create()
    assert done["StackStatus"] == "CREATE_COMPLETE", stack.resource_events()
    assert stack.requests() == ["Create A -", "Create B -"]
    seen = stack.seen()
    function_arn = f"arn:aws:lambda:us-east-1:300000000001:function:{seen[0]['env']['AWS_LAMBDA_FUNCTION_NAME']}"
    a, b = seen[0]["event"], seen[1]["event"]
    assert b["ResourceType"] == "Custom::Thing" and a["ResourceType"] == "AWS::CloudFormation::CustomResource"
    assert b["StackId"] == stack.stack_id and b["ServiceToken"] == function_arn
    assert b["ServiceTimeout"] == "30"
    assert b["ResponseURL"].startswith(f"{emu.url}/cloudformation_us-east-1/cfnresponse?")
    assert b["ResourceProperties"] == {
        "ServiceToken": function_arn,
        "ServiceTimeout": "30",
        "Name": "b1",
        "Peer": "a1",  # Ref of A: the PhysicalResourceId A answered
        "PeerEcho": "echo-a1",  # Fn::GetAtt of A: its Data
        "FailOn": "",
        "SilentOn": "",
        "Seconds": "3600",
        "Enabled": "true",
        "List": ["1", "two"],
        "Flags": ["x", "y"],
        "Map": {"Ratio": "1.5", "Off": "false"},
    }
    assert "ServiceTimeout" not in a
    assert stack.outputs() == {"ARef": "a1", "BEcho": "echo-b1"}
    cfn = stack.cfn
    detail = cfn.describe_stack_resource(StackName=stack.stack_id, LogicalResourceId="B")["StackResourceDetail"]
    assert (detail["PhysicalResourceId"], detail["ResourceStatus"]) == ("b1", "CREATE_COMPLETE")
    summaries = cfn.list_stack_resources(StackName=stack.stack_id)["StackResourceSummaries"]
    assert sorted(s["LogicalResourceId"] for s in summaries) == ["A", "B", "Provider", "ProviderRole"]
    # The function ran as Lambda runs it: its ARN, its deadline, its environment, one warm process.
    assert {s["arn"] for s in seen} == {function_arn}
    assert 8_000 < seen[0]["deadline_ms"] - seen[0]["now_ms"] <= 10_000
    env = seen[0]["env"]
    assert env["AWS_ENDPOINT_URL"] == emu.url and env["AWS_ACCESS_KEY_ID"] == "300000000001"
    assert (env["AWS_LAMBDA_LOG_FORMAT"], env["AWS_LAMBDA_LOG_LEVEL"]) == ("JSON", "DEBUG")
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and env["EVENTS_FILE"] == str(stack.events_file)
    assert len({s["pid"] for s in seen}) == 1
    # The answers were PUT to the emulator and logged.
    answers = [c for c in emu.calls() if c["action"] == "CustomResourceResponse"]
    assert len(answers) >= 2 and all(c["service"] == "cloudformation" for c in answers)
    # /_samlfed/cfn-requests holds exactly the requests sent, for replaying tools (make bench).
    with urllib.request.urlopen(f"{emu.url}/_samlfed/cfn-requests", timeout=5) as r:
        sent = [e for e in json.loads(r.read()) if e["StackId"] == stack.stack_id]
    assert sent == [a, b]


def test_update_sends_update_to_changed_resources_and_deletes_replacements_in_cleanup(
    emu: Emulator, tmp_path: Path
) -> None:
    stack = EngineStack(emu, "300000000002", tmp_path)
    assert stack.create()["StackStatus"] == "CREATE_COMPLETE"

    # NameB changes B only: an Update with the old properties and B's physical id, nothing else.
    assert stack.update(NameB="b1")["StackStatus"] == "UPDATE_COMPLETE"  # same values: no request
    assert stack.requests() == []
    assert stack.update(Seconds="7200")["StackStatus"] == "UPDATE_COMPLETE"
    assert stack.requests() == ["Update B b1"]
    update = stack.seen()[-1]["event"]
    assert update["OldResourceProperties"]["Seconds"] == "3600" and update["ResourceProperties"]["Seconds"] == "7200"

    # NameA changes A's answer (a new physical id: a replacement), so B's Peer changes too; the
    # old A is deleted in the cleanup, after every update, with its old properties.
    done = stack.update(Seconds="7200", NameA="a2")
    assert done["StackStatus"] == "UPDATE_COMPLETE", stack.resource_events()
    assert stack.requests() == ["Update A a1", "Update B b1", "Delete A a1"]
    cleanup = stack.seen()[-1]["event"]
    assert cleanup["ResourceProperties"]["Name"] == "a1"
    statuses = [s for lid, s, _ in stack.resource_events() if lid == f"engine-{stack.account}"]
    assert statuses[-2:] == ["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"]
    assert stack.outputs() == {"ARef": "a2", "BEcho": "echo-b1"}

    # Deletion: reverse dependency order.
    assert stack.delete()["StackStatus"] == "DELETE_COMPLETE"
    assert stack.requests() == ["Delete B b1", "Delete A a2"]
    stack.assert_origin_rules()
    # The stack's function is gone, and with it its process.
    pid = stack.seen()[-1]["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_failed_create_rolls_back_every_answered_resource(emu: Emulator, tmp_path: Path) -> None:
    stack = EngineStack(emu, "300000000003", tmp_path)
    done = stack.create(FailOnB="Create")
    assert done["StackStatus"] == "ROLLBACK_COMPLETE"
    # B answered FAILED with a physical id: it gets a Delete too, then A.
    assert stack.requests() == ["Create A -", "Create B -", "Delete B b1", "Delete A a1"]
    events = stack.resource_events()
    failed = [reason for lid, status, reason in events if (lid, status) == ("B", "CREATE_FAILED")]
    assert len(failed) == 1
    assert failed[0].startswith(
        "Received response status [FAILED] from custom resource. Message returned: told to fail on Create (RequestId: "
    )
    rollback = [reason for lid, status, reason in events if status == "ROLLBACK_IN_PROGRESS"]
    assert rollback == ["The following resource(s) failed to create: [B]. Rollback requested by user."]
    assert stack.outputs() == {}
    with pytest.raises(ClientError) as e:
        stack.cfn.update_stack(StackName=stack.stack_id, TemplateBody=json.dumps(ENGINE_TEMPLATE), Parameters=stack.parameters())
    assert "ROLLBACK_COMPLETE state and can not be updated" in str(e.value)
    assert stack.delete()["StackStatus"] == "DELETE_COMPLETE"
    assert stack.requests() == []  # nothing left to delete
    stack.assert_origin_rules()


def test_an_unanswered_request_fails_after_its_service_timeout(emu: Emulator, tmp_path: Path) -> None:
    stack = EngineStack(emu, "300000000004", tmp_path)
    started = time.monotonic()
    done = stack.create(SilentOnB="Create", TimeoutB="2")
    assert done["StackStatus"] == "ROLLBACK_COMPLETE"
    assert time.monotonic() - started < 20
    reasons = [reason for lid, status, reason in stack.resource_events() if (lid, status) == ("B", "CREATE_FAILED")]
    assert reasons and reasons[0].startswith("CloudFormation did not receive a response from your Custom Resource")
    assert stack.requests() == ["Create A -", "Create B -", "Delete A a1"]  # B never answered: no Delete
    stack.assert_origin_rules()


def test_failed_update_rolls_back(emu: Emulator, tmp_path: Path) -> None:
    stack = EngineStack(emu, "300000000005", tmp_path)
    assert stack.create()["StackStatus"] == "CREATE_COMPLETE"
    done = stack.update(NameA="a2", FailOnB="Update")
    assert done["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE", stack.resource_events()
    # A was replaced (a2), B's update failed; B is sent its old properties again, A goes back to
    # a1 without a request, and the new a2 is deleted in the rollback's cleanup.
    assert stack.requests() == ["Update A a1", "Update B b1", "Update B b1", "Delete A a2"]
    rollback = stack.seen()[-2]["event"]
    assert rollback["ResourceProperties"]["FailOn"] == "" and rollback["OldResourceProperties"]["FailOn"] == "Update"
    assert rollback["ResourceProperties"]["Peer"] == "a1"
    assert stack.outputs() == {"ARef": "a1", "BEcho": "echo-b1"}
    stack.assert_origin_rules()


def test_bad_parameters_are_refused_by_create_stack(emu: Emulator, tmp_path: Path) -> None:
    cfn = emu.client("cloudformation", "300000000006")
    with pytest.raises(ClientError) as e:
        cfn.create_stack(StackName="bad", TemplateBody=json.dumps(ENGINE_TEMPLATE), Parameters=[
            {"ParameterKey": "CodeBucket", "ParameterValue": "b"}, {"ParameterKey": "EventsFile", "ParameterValue": "f"},
            {"ParameterKey": "NameA", "ParameterValue": "Not Valid"},
        ])
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert "Parameter 'NameA' must match pattern [a-z0-9]+" in e.value.response["Error"]["Message"]


def test_response_urls_take_one_signed_put(emu: Emulator) -> None:
    url = f"{emu.url}/cloudformation_us-east-1/cfnresponse?stack=s&request=nope&signature=x"
    req = urllib.request.Request(url, data=b"{}", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url, timeout=5)
    assert e.value.code == 405


def test_failed_delete_keeps_what_the_failed_resource_depends_on(emu: Emulator, tmp_path: Path) -> None:
    stack = EngineStack(emu, "300000000007", tmp_path)
    assert stack.create(FailOnB="Delete")["StackStatus"] == "CREATE_COMPLETE"
    done = stack.delete()
    assert done["StackStatus"] == "DELETE_FAILED"
    assert done["StackStatusReason"] == "The following resource(s) failed to delete: [B]. "
    assert stack.requests() == ["Delete B b1"]  # A, which B refers to, is kept
    statuses = {s["LogicalResourceId"]: s["ResourceStatus"]
                for s in stack.cfn.list_stack_resources(StackName=stack.stack_id)["StackResourceSummaries"]}
    assert statuses == {
        "A": "CREATE_COMPLETE", "B": "DELETE_FAILED", "Provider": "CREATE_COMPLETE", "ProviderRole": "CREATE_COMPLETE"
    }


# --- tools/lambda_local.py: how an invocation ends when the function does not answer ----------------
def _package(tmp: Path, script: str | None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if script is not None:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o100755 << 16
            archive.writestr(info, script.replace("{python}", sys.executable))
        archive.writestr("README", "no bootstrap here" if script is None else "")
    return buffer.getvalue()


def _spec(timeout_s: float = 1.0) -> lambda_local.FunctionSpec:
    return lambda_local.FunctionSpec(
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:t", function_name="t",
        account_id="123456789012", region="us-east-1", endpoint_url="http://127.0.0.1:9", timeout_s=timeout_s,
    )


SILENT_BOOTSTRAP = """#!{python}
import os, time, urllib.request
urllib.request.urlopen("http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/next").read()
time.sleep(60)
"""


def test_local_lambda_kills_a_function_past_its_timeout(tmp_path: Path) -> None:
    pool = lambda_local.LambdaPool(log=io.StringIO())
    try:
        started = time.monotonic()
        with pytest.raises(lambda_local.LambdaError) as e:
            pool.invoke(_spec(timeout_s=1.0), _package(tmp_path, SILENT_BOOTSTRAP), {})
        assert e.value.error_type == "Sandbox.Timedout"
        assert "Task timed out after 1.00 seconds" in e.value.message
        assert time.monotonic() - started < 10
        assert pool.pids() == []  # the environment was ended
    finally:
        pool.stop_all()


def test_local_lambda_keeps_what_the_function_wrote_until_it_is_read(tmp_path: Path) -> None:
    log = io.StringIO()
    pool = lambda_local.LambdaPool(log=log)
    spec = _spec(timeout_s=1.0)
    try:
        with pytest.raises(lambda_local.LambdaError):
            pool.invoke(spec, _package(tmp_path, "#!/bin/sh\necho first line\necho second line >&2\nexit 3\n"), {})
        assert pool.output(spec.function_arn, stop=True) == "first line\nsecond line\n"
        assert "lambda t: first line" in log.getvalue()
        assert pool.output("arn:aws:lambda:us-east-1:123456789012:function:never") == ""
    finally:
        pool.stop_all()


def test_local_lambda_reports_a_crash_and_a_missing_bootstrap(tmp_path: Path) -> None:
    pool = lambda_local.LambdaPool(log=io.StringIO())
    try:
        with pytest.raises(lambda_local.LambdaError) as e:
            pool.invoke(_spec(), _package(tmp_path, "#!/bin/sh\nexit 3\n"), {})
        assert e.value.error_type == "Runtime.ExitError" and "exit status 3" in e.value.message
        with pytest.raises(lambda_local.LambdaError) as e:
            pool.invoke(_spec(), _package(tmp_path, None), {})
        assert e.value.error_type == "Runtime.InvalidEntrypoint"
        with pytest.raises(lambda_local.LambdaError) as e:
            pool.invoke(dataclasses.replace(_spec(), runtime="python3.12"), _package(tmp_path, None), {})
        assert e.value.error_type == "Runtime.Unsupported"
    finally:
        pool.stop_all()
