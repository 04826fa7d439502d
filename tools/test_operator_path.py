"""The operator's path, end to end: the make targets of mk/templates.mk run as an operator runs
them - the aws CLI from the venv, `make` with a PATH that has no cargo - against the emulator
(tools/emulator.py, with tools/emulator_stacksets.py: change sets and StackSet operations run on
its CloudFormation engine, whose custom resources are answered by this build's real bootstrap).

One emulator serves the module (127.0.0.1, a free port, stopped by PID). The management account
is the 12-digit access key MANAGEMENT; the operator's profile Region is us-east-1 while the bucket
is in eu-west-1, so every step that followed $AWS_REGION instead of the bucket would show.
What the emulator cannot model is listed in docs/rollouts.md ("checked only against AWS's
documentation").

The function must really run, so the tests need a built bootstrap (target/release/bootstrap or
target/debug/bootstrap, the newer one; SAMLFED_BOOTSTRAP=path picks one). Without one they skip,
saying so - except under CI=true, where one is built first (`cargo test --all-targets --features
cli --no-run`: the build `make test-rust` does next anyway, so nothing is built twice).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
sys.path.insert(0, str(TOOLS))
import emulator_launch  # noqa: E402
AWS_CLI = Path(sys.executable).parent / "aws"
MANAGEMENT = "100000000777"
EXTERNAL = "300000000999"  # an account outside the organisation, named in the bucket's ExternalAccountIds
REGION = "eu-west-1"
PROFILE_REGION = "us-east-1"
BUCKET = "corp-samlfed-euw1"
PROVIDER = "CorpIdP"
ROLE = "CorpIdP-ReadOnly"
ARCH = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
METADATA = ROOT / "tests" / "fixtures" / "metadata" / "idp-minimal.xml"
STACKSET = "samlfed-federation"
OPERATION_LIMIT_S = 240  # one StackSet operation here: a few accounts, each a cold start of the bootstrap


# --- set-up -----------------------------------------------------------------------------------------
def _bootstrap() -> Path:
    if os.environ.get("SAMLFED_BOOTSTRAP"):
        return Path(os.environ["SAMLFED_BOOTSTRAP"])
    built = [p for p in (ROOT / "target" / "release" / "bootstrap", ROOT / "target" / "debug" / "bootstrap")
             if p.is_file() and os.access(p, os.X_OK)]
    if built:
        return max(built, key=lambda p: p.stat().st_mtime)
    if os.environ.get("CI") != "true":
        pytest.skip("no bootstrap binary at target/release/bootstrap or target/debug/bootstrap: the operator-path "
                    "tests deploy the real function; build it with `cargo build --bin bootstrap`")
    # The very build `make test-rust` runs next (same profile, features and targets): nothing is
    # built twice, and it leaves target/debug/bootstrap.
    done = subprocess.run(["cargo", "test", "--all-targets", "--features", "cli", "--no-run"], cwd=ROOT,
                          capture_output=True, text=True, timeout=2700)
    assert done.returncode == 0, f"CI=true and no bootstrap: the cargo build failed\n{done.stderr[-4000:]}"
    return ROOT / "target" / "debug" / "bootstrap"


def _require_aws_cli() -> None:
    if AWS_CLI.is_file():
        return
    message = f"no aws CLI at {AWS_CLI}: `make .venv/.ready` installs tools/requirements.txt (awscli)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class Operator:
    """The emulator, the operator's environment and helpers to run make and read AWS."""

    def __init__(self, proc: subprocess.Popen, port: int, stderr_path: str, workdir: Path) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.stderr_path = stderr_path
        self.workdir = workdir
        config = workdir / "aws-config"
        config.write_text(f"[default]\nregion = {PROFILE_REGION}\n")
        credentials = workdir / "aws-credentials"
        credentials.write_text("")
        self.env = {
            # The operator's shell: the venv's aws CLI, make and coreutils - and no cargo.
            "PATH": f"{AWS_CLI.parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": MANAGEMENT,
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_PAGER": "",
        }

    def make(self, *args: str, expect: int | None = 0, account: str = MANAGEMENT) -> subprocess.CompletedProcess:
        env = dict(self.env, AWS_ACCESS_KEY_ID=account)
        done = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *args], env=env,
                              capture_output=True, text=True, timeout=600)
        if expect is not None:
            assert done.returncode == expect, (
                f"make {' '.join(args)} exited {done.returncode}, not {expect}\n--- stdout\n{done.stdout[-6000:]}"
                f"\n--- stderr\n{done.stderr[-6000:]}\n--- emulator\n{self.emulator_log()}"
            )
        return done

    def emulator_log(self) -> str:
        return Path(self.stderr_path).read_text(errors="replace")[-4000:]

    def client(self, service: str, account: str = MANAGEMENT, region: str = REGION) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=region, aws_access_key_id=account,
                            aws_secret_access_key="test",
                            config=Config(retries={"mode": "standard", "max_attempts": 2},
                                          s3={"addressing_style": "path"}))

    def wait_for_operation(self, operation_id: str) -> dict[str, Any]:
        cfn = self.client("cloudformation")
        deadline = time.monotonic() + OPERATION_LIMIT_S
        while True:
            op = cfn.describe_stack_set_operation(StackSetName=STACKSET, OperationId=operation_id)["StackSetOperation"]
            if op["Status"] not in ("QUEUED", "RUNNING", "STOPPING"):
                return op
            assert time.monotonic() < deadline, f"operation {operation_id} still {op['Status']}\n{self.emulator_log()}"
            time.sleep(0.3)

    def instances(self, name: str = STACKSET) -> dict[str, dict[str, Any]]:
        cfn = self.client("cloudformation")
        return {i["Account"]: i for i in cfn.list_stack_instances(StackSetName=name)["Summaries"]}

    def instance_parameter(self, account: str, stack_id: str, key: str) -> str:
        stack = self.client("cloudformation", account).describe_stacks(StackName=stack_id)["Stacks"][0]
        return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}[key]


def _start_emulator() -> tuple[subprocess.Popen, int, str]:
    stderr = tempfile.NamedTemporaryFile(prefix="emulator-operator-", suffix=".log", delete=False)
    try:
        proc, port = emulator_launch.start(stderr, timeout_s=30)
    except emulator_launch.EmulatorStartError as exc:
        raise RuntimeError(f"{exc}; stderr: {Path(stderr.name).read_text()}") from exc
    return proc, port, stderr.name


@pytest.fixture(scope="module")
def op() -> Iterator[Operator]:
    _require_aws_cli()
    bootstrap = _bootstrap()
    workdir = Path(tempfile.mkdtemp(prefix="samlfed-operator-"))
    zip_path = workdir / f"bootstrap-{ARCH}.zip"
    subprocess.run([sys.executable, str(TOOLS / "lambda_local.py"), "package", str(bootstrap), str(zip_path)],
                   check=True, timeout=300)
    proc, port, stderr_path = _start_emulator()
    try:
        yield Operator(proc, port, stderr_path, workdir)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        os.unlink(stderr_path)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def org(op: Operator) -> dict[str, Any]:
    """The organisation (fixture, not the operator's path): a canary OU with one account, a fleet
    OU with two, and an account outside both."""
    organizations = op.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    ous, accounts = {}, {}
    for name, count in (("canary", 1), ("fleet", 2)):
        ous[name] = organizations.create_organizational_unit(ParentId=root, Name=name)["OrganizationalUnit"]["Id"]
        accounts[name] = []
        for i in range(count):
            status = organizations.create_account(Email=f"{name}{i}@example.com", AccountName=f"{name}{i}")
            account = status["CreateAccountStatus"]["AccountId"]
            organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ous[name])
            accounts[name].append(account)
    return {"root": root, "ous": ous, "accounts": accounts}


def _versions(text: str) -> dict[str, str]:
    """The last `CODE_VERSION=... METADATA_VERSION=... TEMPLATE_VERSION=...` line printed."""
    lines = [line for line in text.splitlines() if "CODE_VERSION=" in line]
    assert lines, text
    return dict(re.findall(r"(\w+_VERSION)=(\S*)", lines[-1]))


# --- A/B: bucket, package, deploy --------------------------------------------------------------------
@pytest.fixture(scope="module")
def deployed(op: Operator, org: dict[str, Any]) -> dict[str, str]:
    done = op.make("bucket-deploy", f"BUCKET={BUCKET}", expect=2)
    assert "set REGION=" in done.stderr, "bucket-deploy makes the bucket: REGION is required, not $AWS_REGION"
    op.make("bucket-deploy", f"REGION={REGION}", f"BUCKET={BUCKET}", f"EXTERNAL_ACCOUNT_IDS={EXTERNAL}")
    assert op.client("s3").get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"

    zips = f"PACKAGE_ZIPS={op.workdir / f'bootstrap-{ARCH}.zip'}"
    done = op.make("package", f"BUCKET={BUCKET}", zips, f"ARCH={ARCH}", f"METADATA={METADATA}")
    assert f"Region {REGION}: the Region of bucket {BUCKET}" in done.stdout
    versions = _versions(done.stdout)
    assert all(versions[k] for k in ("CODE_VERSION", "TEMPLATE_VERSION", "METADATA_VERSION")), done.stdout

    done = op.make("deploy", f"BUCKET={BUCKET}", f"ARCH={ARCH}", f"FEDERATION_NAME={PROVIDER}", f"ROLE_NAME={ROLE}")
    assert f"Pinned: CODE_VERSION={versions['CODE_VERSION']} METADATA_VERSION={versions['METADATA_VERSION']}" in done.stdout
    return versions


def test_deploy_reaches_create_complete_through_the_engine_in_the_buckets_region(
        op: Operator, deployed: dict[str, str]) -> None:
    stack = op.client("cloudformation").describe_stacks(StackName="samlfed")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    provider = f"arn:aws:iam::{MANAGEMENT}:saml-provider/{PROVIDER}"
    role = f"arn:aws:iam::{MANAGEMENT}:role/{ROLE}"
    assert outputs["IdentityCenterRoleAttribute"] == f"{provider},{role}"
    assert outputs["FunctionArn"].startswith(f"arn:aws:lambda:{REGION}:{MANAGEMENT}:function:"), \
        "the function is in the bucket's Region, not the profile's"
    # The custom resource really ran: IAM has the provider, tagged with this stack.
    tags = op.client("iam").list_saml_provider_tags(SAMLProviderArn=provider)["Tags"]
    assert {"Key": "samlfed:stack-id", "Value": stack["StackId"]} in tags
    with pytest.raises(op.client("cloudformation", region=PROFILE_REGION).exceptions.ClientError):
        op.client("cloudformation", region=PROFILE_REGION).describe_stacks(StackName="samlfed")


def test_the_stack_deploys_again_in_its_own_region(op: Operator, deployed: dict[str, str]) -> None:
    """The one-stack-per-account check lets the owning stack through."""
    op.make("deploy", f"BUCKET={BUCKET}", f"ARCH={ARCH}", f"FEDERATION_NAME={PROVIDER}", f"ROLE_NAME={ROLE}")
    stack = op.client("cloudformation").describe_stacks(StackName="samlfed")["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")


def test_region_that_disagrees_with_the_bucket_is_refused(op: Operator, deployed: dict[str, str]) -> None:
    done = op.make("deploy", f"BUCKET={BUCKET}", f"REGION={PROFILE_REGION}", f"FEDERATION_NAME={PROVIDER}", expect=2)
    assert f"REGION={PROFILE_REGION}, but bucket {BUCKET} is in {REGION}" in done.stderr


def test_package_needs_only_the_aws_cli_and_names_make_build_when_a_zip_is_missing(
        op: Operator, deployed: dict[str, str]) -> None:
    assert shutil.which("cargo", path=op.env["PATH"]) is None, "the operator's PATH has no cargo"
    missing = op.workdir / "bootstrap-arm64.zip"
    done = op.make("package", f"BUCKET={BUCKET}", f"PACKAGE_ZIPS={missing}", expect=2)
    assert f"{missing} is missing: make build makes it" in done.stderr
    # The build rules' own commands (Makefile: .venv/.lambda-ready and build/bootstrap-%.zip)
    # are in no plan of package, whether the zip is there or not.
    for zips in (f"PACKAGE_ZIPS={missing}", f"PACKAGE_ZIPS={op.workdir / f'bootstrap-{ARCH}.zip'}"):
        plan = op.make("-n", "package", f"BUCKET={BUCKET}", zips).stdout
        for command in ("cargo lambda build", "rustup target add", "pip install", "cargo-lambda=="):
            assert command not in plan, plan


# --- C: one federation stack per account ---------------------------------------------------------------
def test_a_second_region_of_the_same_account_is_refused_before_cloudformation(
        op: Operator, deployed: dict[str, str]) -> None:
    other = "corp-samlfed-use1"
    op.make("bucket-deploy", f"REGION={PROFILE_REGION}", f"BUCKET={other}")
    op.make("package", f"BUCKET={other}", f"PACKAGE_ZIPS={op.workdir / f'bootstrap-{ARCH}.zip'}", f"ARCH={ARCH}",
            f"METADATA={METADATA}")
    done = op.make("deploy", f"BUCKET={other}", f"ARCH={ARCH}", f"FEDERATION_NAME={PROVIDER}", f"ROLE_NAME={ROLE}",
                   expect=2)
    assert f"the IAM provider {PROVIDER} in account {MANAGEMENT} belongs to stack samlfed in {REGION}" in done.stderr
    assert "one samlfed federation stack per account" in done.stderr
    assert f"make destroy REGION={REGION} STACK_NAME=samlfed" in done.stderr
    cfn = op.client("cloudformation", region=PROFILE_REGION)
    assert not [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "samlfed"], \
        "refused before any CloudFormation call"


# --- the Identity Center "External AWS Account" walkthrough (docs/deploy.md) ------------------------------
def test_an_external_account_deploys_from_the_organisations_bucket_with_region_given(
        op: Operator, deployed: dict[str, str]) -> None:
    """docs/deploy.md's External AWS Account steps, in the external account: it may read the
    metadata and the code (ExternalAccountIds), but not the bucket's Region — GetBucketLocation
    answers only the bucket's owner — so REGION is given, and the stack completes there."""
    # The bucket stack names the account (its policy's effect is tools/test_bucket_template.py's:
    # the emulator neither creates AWS::S3::BucketPolicy nor enforces bucket policies).
    bucket_stack = op.client("cloudformation").describe_stacks(StackName="samlfed-bucket")["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in bucket_stack["Parameters"]}
    assert parameters["ExternalAccountIds"] == EXTERNAL
    base = (f"BUCKET={BUCKET}", f"ARCH={ARCH}", f"FEDERATION_NAME={PROVIDER}", f"ROLE_NAME={ROLE}")
    done = op.make("deploy", *base, account=EXTERNAL, expect=2)
    assert "in an account that does not own the bucket, set REGION=<the bucket's Region>" in done.stderr
    done = op.make("deploy", *base, f"REGION={REGION}", account=EXTERNAL)
    assert "taking REGION=eu-west-1 as given" in done.stderr
    stack = op.client("cloudformation", account=EXTERNAL).describe_stacks(StackName="samlfed")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["IdentityCenterRoleAttribute"] == (
        f"arn:aws:iam::{EXTERNAL}:saml-provider/{PROVIDER},arn:aws:iam::{EXTERNAL}:role/{ROLE}"
    )


# --- D: StackSet waves ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stackset(op: Operator, deployed: dict[str, str]) -> dict[str, str]:
    base = (f"BUCKET={BUCKET}", f"ARCH={ARCH}", f"FEDERATION_NAME={PROVIDER}", f"ROLE_NAME={ROLE}")
    done = op.make("stackset-create", *base, expect=2)
    assert "set CODE_VERSION METADATA_VERSION TEMPLATE_VERSION: a StackSet pins every version explicitly" in done.stderr
    assert _versions(done.stderr) == deployed, "the current versions, printed for copy-paste"
    pins = [f"{k}={v}" for k, v in deployed.items()]
    done = op.make("stackset-create", *base, *pins)
    assert "with no stack instances" in done.stdout
    return deployed


def _operation_id(text: str) -> str:
    match = re.search(r"Operation (\S+) submitted\. It runs on in CloudFormation", text)
    assert match, text
    assert f"samlfed rollout status --stack-set {STACKSET} --operation-id {match.group(1)} --watch" in text
    return match.group(1)


def test_the_stackset_is_created_empty_and_its_stack_cannot_change_it(op: Operator, stackset: dict[str, str]) -> None:
    cfn = op.client("cloudformation")
    described = cfn.describe_stack_set(StackSetName=STACKSET)["StackSet"]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert params["CodeObjectVersion"] == stackset["CODE_VERSION"]
    assert params["FederationFileVersion"] == stackset["METADATA_VERSION"]
    assert described["Description"].endswith(f"?versionId={stackset['TEMPLATE_VERSION']}")
    assert described["PermissionModel"] == "SERVICE_MANAGED"
    assert op.instances() == {}
    policy = json.loads(cfn.get_stack_policy(StackName="samlfed-stackset")["StackPolicyBody"])
    assert {"Effect": "Deny", "Action": "Update:*", "Principal": "*",
            "Resource": "LogicalResourceId/FederationStackSet"} in policy["Statement"]
    again = op.make("stackset-create", f"BUCKET={BUCKET}", f"FEDERATION_NAME={PROVIDER}",
                    *[f"{k}={v}" for k, v in stackset.items()], expect=2)
    assert "it created StackSet samlfed-federation and never changes it" in again.stderr


def test_waves_add_accounts_canary_first_with_pinned_versions_and_never_delete(
        op: Operator, org: dict[str, Any], stackset: dict[str, str]) -> None:
    canary, fleet = org["accounts"]["canary"], org["accounts"]["fleet"]
    done = op.make("stackset-add-wave", f"BUCKET={BUCKET}", f"OUS={org['ous']['canary']}")
    first = op.wait_for_operation(_operation_id(done.stdout))
    assert first["Status"] == "SUCCEEDED", first
    instances = op.instances()
    assert set(instances) == set(canary), "the canary OU only"
    assert instances[canary[0]]["Status"] == "CURRENT"
    # The federation stack really ran in the canary account, in the bucket's Region.
    iam = op.client("iam", canary[0])
    tags = iam.list_saml_provider_tags(SAMLProviderArn=f"arn:aws:iam::{canary[0]}:saml-provider/{PROVIDER}")["Tags"]
    owner = next(t["Value"] for t in tags if t["Key"] == "samlfed:stack-id")
    assert owner.startswith(f"arn:aws:cloudformation:{REGION}:{canary[0]}:stack/StackSet-{STACKSET}-")

    # New metadata is uploaded: widening must not carry it.
    variant = op.workdir / "idp-variant.xml"
    variant.write_text(METADATA.read_text().replace('entityID="', 'entityID="https://variant.example/', 1))
    new = _versions(op.make("package", f"BUCKET={BUCKET}", f"PACKAGE_ZIPS={op.workdir / f'bootstrap-{ARCH}.zip'}",
                            f"ARCH={ARCH}", f"METADATA={variant}").stdout)
    assert new["METADATA_VERSION"] != stackset["METADATA_VERSION"]
    refused = op.make("stackset-add-wave", f"BUCKET={BUCKET}", f"OUS={org['ous']['fleet']}",
                      f"METADATA_VERSION={new['METADATA_VERSION']}", expect=2)
    assert "A wave never changes versions" in refused.stderr
    done = op.make("stackset-add-wave", f"BUCKET={BUCKET}", f"OUS={org['ous']['fleet']}")
    assert f"pins CODE_VERSION={stackset['CODE_VERSION']} METADATA_VERSION={stackset['METADATA_VERSION']}" in done.stdout
    assert op.wait_for_operation(_operation_id(done.stdout))["Status"] == "SUCCEEDED"
    instances = op.instances()
    assert set(instances) == set(canary + fleet), "a wave adds; the canary keeps its instance"
    for account in fleet:
        got = op.instance_parameter(account, instances[account]["StackId"], "FederationFileVersion")
        assert got == stackset["METADATA_VERSION"], "the fleet got the pinned metadata, not the latest upload"

    # New versions go to the canary first; the rest turn OUTDATED and keep what they run.
    done = op.make("stackset-update", f"BUCKET={BUCKET}", f"OUS={org['ous']['canary']}",
                   f"METADATA_VERSION={new['METADATA_VERSION']}", f"TEMPLATE_VERSION={new['TEMPLATE_VERSION']}")
    assert f"Changes: FederationFileVersion={new['METADATA_VERSION']} template={new['TEMPLATE_VERSION']}" \
        in done.stdout
    assert op.wait_for_operation(_operation_id(done.stdout))["Status"] == "SUCCEEDED"
    described = op.client("cloudformation").describe_stack_set(StackSetName=STACKSET)["StackSet"]
    assert described["Description"] == (f"samlfed federation, template https://{BUCKET}.s3.{REGION}.amazonaws.com/"
                                        f"samlfed/saml-federation.yaml?versionId={new['TEMPLATE_VERSION']}")
    versions = _versions(op.make("versions", f"BUCKET={BUCKET}", f"ARCH={ARCH}").stdout)
    assert (versions["METADATA_VERSION"], versions["TEMPLATE_VERSION"]) == \
        (new["METADATA_VERSION"], new["TEMPLATE_VERSION"]), "make versions reads the StackSet's pins"
    instances = op.instances()
    assert instances[canary[0]]["Status"] == "CURRENT"
    assert op.instance_parameter(canary[0], instances[canary[0]]["StackId"], "FederationFileVersion") == \
        new["METADATA_VERSION"]
    for account in fleet:
        assert instances[account]["Status"] == "OUTDATED"
        assert op.instance_parameter(account, instances[account]["StackId"], "FederationFileVersion") == \
            stackset["METADATA_VERSION"]
    # Then the fleet catches up, with nothing to name but its OU.
    done = op.make("stackset-update", f"BUCKET={BUCKET}", f"OUS={org['ous']['fleet']}")
    assert "catch-up wave" in done.stdout
    assert op.wait_for_operation(_operation_id(done.stdout))["Status"] == "SUCCEEDED"
    instances = op.instances()
    assert {i["Status"] for i in instances.values()} == {"CURRENT"}
    assert set(instances) == set(canary + fleet)

    status = op.make("stackset-status", f"BUCKET={BUCKET}")
    assert "samlfed rollout status --stack-set samlfed-federation --operation-id" in status.stdout
    assert '"CURRENT": 3' in status.stdout, status.stdout


def test_only_confirmed_targets_delete_and_the_deploy_region_is_the_only_one(
        op: Operator, org: dict[str, Any], stackset: dict[str, str]) -> None:
    for target in ("stackset-remove-wave", "stackset-destroy"):
        done = op.make(target, f"BUCKET={BUCKET}", f"OUS={org['ous']['fleet']}", expect=2)
        assert f"CONFIRM={STACKSET}" in done.stderr
    done = op.make("stackset-add-wave", f"BUCKET={BUCKET}", f"OUS={','.join(['ou-abcd-efghijkl'] * 51)}", expect=2)
    assert "at most 50 per operation" in done.stderr
    done = op.make("stackset-add-wave", f"BUCKET={BUCKET}", f"OUS={org['ous']['fleet']}",
                   f"ACCOUNTS={org['accounts']['fleet'][0]}", "ACCOUNT_FILTER=UNION", expect=2)
    assert "CreateStackInstances does not take UNION" in done.stderr
    done = op.make("stackset-add-wave", f"REGION={PROFILE_REGION}", f"OUS={org['ous']['fleet']}", expect=2)
    assert f"no StackSet {STACKSET} in {PROFILE_REGION}" in done.stderr


def test_the_management_accounts_own_stack_keeps_a_self_managed_stackset_out(
        op: Operator, stackset: dict[str, str]) -> None:
    self_managed = ("STACKSET_TEMPLATE=stacksets/federation-stackset-self-managed.yaml",
                    "STACKSET_NAME=samlfed-federation-self-managed", "STACKSET_STACK_NAME=samlfed-stackset-self-managed")
    op.make("stackset-create", f"BUCKET={BUCKET}", f"ARCH={ARCH}", f"FEDERATION_NAME={PROVIDER}", f"ROLE_NAME={ROLE}",
            *self_managed, *[f"{k}={v}" for k, v in stackset.items()])
    done = op.make("stackset-add-wave", f"BUCKET={BUCKET}", *self_managed, f"OUS={MANAGEMENT}", expect=2)
    assert "a self-managed StackSet targets accounts" in done.stderr
    done = op.make("stackset-add-wave", f"BUCKET={BUCKET}", *self_managed, f"ACCOUNTS={MANAGEMENT}", expect=2)
    assert f"the IAM provider {PROVIDER} in account {MANAGEMENT} belongs to stack samlfed in {REGION}" in done.stderr
    assert op.instances("samlfed-federation-self-managed") == {}
