"""Who may read templates/metadata-bucket.yaml's bucket: its BucketPolicy, rendered for each
combination of OrganizationId and ExternalAccountIds as CloudFormation would render it, then
evaluated for requests of several principals.

The evaluator knows exactly the condition operators the template uses and fails on any other,
so a new operator has to be modelled here before the template can use it. IAM's rules it
follows (https://docs.aws.amazon.com/IAM/latest/UserGuide/):
- an explicit Deny wins; a principal of another account needs an Allow in the bucket policy
  (and one in its own IAM policies, assumed here) - reference_policies_evaluation-logic-cross-account.html;
- a key missing from the request context makes a condition false, except for negated
  operators (true) and ...IfExists (true) - reference_policies_elements_condition_operators.html;
- aws:PrincipalAccount is in every request ("anonymous" for anonymous ones), aws:PrincipalOrgID
  only for members of an organisation, aws:PrincipalIsAWSService and aws:PrincipalArn only in
  signed requests - reference_policies_condition-keys.html.
This proves the policy's logic, not S3's. moto 5.2.5 cannot: it checks a bucket policy on object
requests only, without the caller's account or organisation and with no condition operator but
StringEquals, so a Deny to "*" conditioned on aws:PrincipalAccount denies every caller.

Run: .venv/bin/python -m pytest -q tools/test_bucket_template.py
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "metadata-bucket.yaml"

HOME = "111111111111"  # the bucket's account
ORG = "o-exampleorg01"
MEMBER = "222222222222"  # another account of ORG
EXTERNAL = ["333333333333", "444444444444"]  # outside ORG, named in ExternalAccountIds
STRANGER = "555555555555"  # no organisation, not named
OTHER_ORG_ACCOUNT = "666666666666"  # in another organisation
OTHER_ORG = "o-otherorg0001"
BUCKET = "corp-samlfed-euw1"
PUBLISHER = f"arn:aws:iam::{HOME}:role/Publisher"

METADATA = "metadata/idp-metadata.xml"
ZIP = "samlfed/bootstrap-arm64.zip"
TEMPLATE_KEY = "samlfed/saml-federation.yaml"
ELSEWHERE = "private/notes.txt"

NO_VALUE = object()


# ------------------------------------------------------------------------------ rendering


def load() -> dict:
    template, matches = decode(str(TEMPLATE))
    assert not matches and template is not None, matches
    return template


class Renderer:
    """Resolves the intrinsic functions metadata-bucket.yaml uses, as CloudFormation does."""

    def __init__(self, template: dict, parameters: dict[str, str], account: str = HOME):
        self.template = template
        self.params: dict[str, Any] = {}
        for name, spec in template["Parameters"].items():
            raw = parameters.get(name, spec.get("Default"))
            assert raw is not None, f"{name} has no Default and was not given"
            raw = str(raw)
            values = raw.split(",") if spec["Type"] == "CommaDelimitedList" else [raw]
            if "AllowedPattern" in spec:
                for value in values:  # CloudFormation checks each value of a list
                    if not re.fullmatch(spec["AllowedPattern"], value):
                        raise ValueError(f"{name}={raw!r} does not match {spec['AllowedPattern']}")
            self.params[name] = values if spec["Type"] == "CommaDelimitedList" else raw
        self.pseudo = {"AWS::AccountId": account, "AWS::Partition": "aws", "AWS::Region": "eu-west-1",
                       "AWS::StackName": "samlfed-bucket", "AWS::NoValue": NO_VALUE}
        self.refs = {"Bucket": BUCKET}
        self.attrs = {"Bucket.Arn": f"arn:aws:s3:::{BUCKET}"}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def ref(self, name: str) -> Any:
        for table in (self.pseudo, self.params, self.refs):
            if name in table:
                return table[name]
        raise KeyError(f"Ref {name}")

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(m: re.Match) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name in self.attrs:
                return self.attrs[name]
            value = self.ref(name)
            assert isinstance(value, str), f"${{{name}}} in Fn::Sub is not a string"
            return value

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            out = [self.resolve(v) for v in node]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAtt":
                name = ".".join(arg) if isinstance(arg, list) else arg
                return self.attrs[name]
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Fn::Join":
                return self.resolve(arg[0]).join(self.resolve(arg[1]))
            if key == "Fn::Split":
                return self.resolve(arg[1]).split(self.resolve(arg[0]))
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                return self.sub(arg[0], {k: self.resolve(v) for k, v in arg[1].items()})
            assert not key.startswith("Fn::"), f"{key} is not modelled"
        out = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}


def bucket_policy(org: str = "", external: list[str] | None = None, publishers: list[str] | None = None) -> dict:
    parameters = {"OrganizationId": org, "ExternalAccountIds": ",".join(external or []),
                  "PublisherPrincipalArns": ",".join(publishers or [])}
    template = load()
    return Renderer(template, parameters).resolve(template["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"])


# ------------------------------------------------------------------------------ evaluating


@dataclass
class Request:
    account: str | None  # None: anonymous
    action: str
    key: str | None = None  # None: the bucket itself
    org: str | None = None
    service: bool = False  # an AWS service principal (e.g. logging.s3.amazonaws.com)
    arn: str | None = None
    tls: bool = True
    context: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        ctx: dict[str, Any] = {"aws:SecureTransport": self.tls}
        if self.service:
            ctx["aws:PrincipalIsAWSService"] = True
        elif self.account is None:
            ctx["aws:PrincipalAccount"] = "anonymous"
        else:
            ctx["aws:PrincipalAccount"] = self.account
            ctx["aws:PrincipalIsAWSService"] = False
            ctx["aws:PrincipalArn"] = self.arn or f"arn:aws:iam::{self.account}:role/Reader"
            if self.org:
                ctx["aws:PrincipalOrgID"] = self.org
        self.context = ctx

    @property
    def resource(self) -> str:
        return f"arn:aws:s3:::{BUCKET}" + (f"/{self.key}" if self.key is not None else "")


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _condition(operator: str, key: str, expected: Any, ctx: dict[str, Any]) -> bool:
    base, if_exists = (operator[: -len("IfExists")], True) if operator.endswith("IfExists") else (operator, False)
    expected = [str(v) for v in _list(expected)]
    if key not in ctx:
        return if_exists or base in ("StringNotEquals", "ArnNotLike")
    actual = ctx[key]
    if base == "StringEquals":
        return str(actual) in expected
    if base == "StringNotEquals":
        return str(actual) not in expected
    if base == "Bool":
        return str(actual).lower() in [v.lower() for v in expected]
    if base == "ArnNotLike":
        return not any(fnmatch.fnmatchcase(str(actual), v) for v in expected)
    raise AssertionError(f"condition operator {operator} is not modelled: model it before using it")


def _matches(statement: dict, request: Request) -> bool:
    principal = statement["Principal"]
    if principal not in ("*", {"AWS": "*"}):
        named = _list(principal["AWS"])
        if request.account is None or request.service or request.account not in named:
            return False
    if "Action" in statement:
        if not any(fnmatch.fnmatch(request.action.lower(), a.lower()) for a in _list(statement["Action"])):
            return False
    elif any(fnmatch.fnmatch(request.action.lower(), a.lower()) for a in _list(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(fnmatch.fnmatchcase(request.resource, r) for r in _list(statement["Resource"])):
            return False
    elif any(fnmatch.fnmatchcase(request.resource, r) for r in _list(statement["NotResource"])):
        return False
    return all(_condition(op, key, value, request.context)
               for op, block in statement.get("Condition", {}).items() for key, value in block.items())


def decide(policy: dict, request: Request) -> str:
    """"deny" (an explicit Deny), "allow", or "implicit" (no Allow for another account)."""
    matching = [s for s in policy["Statement"] if _matches(s, request)]
    if any(s["Effect"] == "Deny" for s in matching):
        return "deny"
    if any(s["Effect"] == "Allow" for s in matching):
        return "allow"
    # This account's principals: their IAM policies decide, assumed to allow everything.
    own = not request.service and request.account == HOME
    return "allow" if own else "implicit"


def allowed(policy: dict, request: Request) -> bool:
    return decide(policy, request) == "allow"


READS = [("s3:GetObject", METADATA), ("s3:GetObjectVersion", METADATA), ("s3:GetObject", ZIP),
         ("s3:GetObjectVersion", ZIP), ("s3:GetObject", TEMPLATE_KEY)]
NOT_READS = [("s3:GetObject", ELSEWHERE), ("s3:GetObjectVersion", ELSEWHERE), ("s3:PutObject", METADATA),
             ("s3:PutObject", ELSEWHERE), ("s3:DeleteObject", ZIP), ("s3:DeleteObjectVersion", ZIP),
             ("s3:GetObjectAcl", METADATA), ("s3:PutObjectAcl", METADATA), ("s3:GetObjectTagging", METADATA),
             ("s3:ListBucket", None), ("s3:ListBucketVersions", None), ("s3:GetBucketPolicy", None),
             ("s3:PutBucketPolicy", None), ("s3:PutLifecycleConfiguration", None), ("s3:ReplicateObject", ZIP)]
ALL = READS + NOT_READS

COMBINATIONS = {
    "org+external": dict(org=ORG, external=EXTERNAL),
    "org": dict(org=ORG, external=[]),
    "standalone+external": dict(org="", external=EXTERNAL),
    "standalone": dict(org="", external=[]),
}


def readers(combination: dict) -> set[tuple[str, str | None]]:
    """(account, org) of the principals of other accounts that may read the two prefixes."""
    out = set()
    if combination["org"]:
        out.add((MEMBER, ORG))
    out |= {(a, None) for a in combination["external"]}
    return out


OTHERS = [(MEMBER, ORG), (EXTERNAL[0], None), (EXTERNAL[1], None), (STRANGER, None), (OTHER_ORG_ACCOUNT, OTHER_ORG)]


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("name", COMBINATIONS)
def test_other_accounts_read_the_prefixes_only_when_organisation_or_named(name: str) -> None:
    combination = COMBINATIONS[name]
    policy = bucket_policy(**combination)
    for account, org in OTHERS:
        for action, key in READS:
            expected = (account, org) in readers(combination)
            assert allowed(policy, Request(account, action, key, org=org)) == expected, (name, account, action, key)


@pytest.mark.parametrize("name", COMBINATIONS)
def test_other_accounts_are_explicitly_denied_everything_but_prefix_reads(name: str) -> None:
    policy = bucket_policy(**COMBINATIONS[name])
    for account, org in OTHERS:
        for action, key in NOT_READS:
            assert decide(policy, Request(account, action, key, org=org)) == "deny", (name, account, action, key)


@pytest.mark.parametrize("name", COMBINATIONS)
def test_principals_that_are_not_readers_are_explicitly_denied_reads(name: str) -> None:
    combination = COMBINATIONS[name]
    policy = bucket_policy(**combination)
    for account, org in OTHERS:
        if (account, org) in readers(combination):
            continue
        for action, key in READS:
            assert decide(policy, Request(account, action, key, org=org)) == "deny", (name, account, action, key)


@pytest.mark.parametrize("name", COMBINATIONS)
def test_the_deny_holds_whatever_a_later_allow_says(name: str) -> None:
    """The Deny statements alone keep the promise: add an Allow of s3:* to everybody."""
    combination = COMBINATIONS[name]
    policy = bucket_policy(**combination)
    policy["Statement"].append({"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]})
    for account, org in OTHERS:
        for action, key in ALL:
            may = (action, key) in READS and (account, org) in readers(combination)
            assert allowed(policy, Request(account, action, key, org=org)) == may, (name, account, action, key)
    for action, key in ALL:
        assert decide(policy, Request(None, action, key)) == "deny", ("anonymous", action, key)


@pytest.mark.parametrize("name", COMBINATIONS)
def test_this_account_is_governed_by_its_iam_policies(name: str) -> None:
    policy = bucket_policy(**COMBINATIONS[name])
    for action, key in ALL:
        assert allowed(policy, Request(HOME, action, key, org=ORG if COMBINATIONS[name]["org"] else None))


@pytest.mark.parametrize("name", COMBINATIONS)
def test_anonymous_and_plain_http_are_denied(name: str) -> None:
    policy = bucket_policy(**COMBINATIONS[name])
    for action, key in ALL:
        assert decide(policy, Request(None, action, key)) == "deny"
        for account, org in [(HOME, ORG), *OTHERS]:
            assert decide(policy, Request(account, action, key, org=org, tls=False)) == "deny"


def test_aws_service_principals_get_nothing_they_are_not_granted() -> None:
    """Exempt from the organisation deny (e.g. for access logging added later), but no Allow
    names one, so they read nothing."""
    policy = bucket_policy(org=ORG, external=EXTERNAL)
    for action, key in ALL:
        assert not allowed(policy, Request(None, action, key, service=True))


def test_publishers_alone_write_when_set() -> None:
    policy = bucket_policy(org=ORG, external=EXTERNAL, publishers=[PUBLISHER])
    assert allowed(policy, Request(HOME, "s3:PutObject", METADATA, org=ORG, arn=PUBLISHER))
    assert decide(policy, Request(HOME, "s3:PutObject", METADATA, org=ORG)) == "deny"
    assert decide(policy, Request(HOME, "s3:PutBucketPolicy", None, org=ORG)) == "deny"
    assert allowed(policy, Request(HOME, "s3:GetObject", ELSEWHERE, org=ORG))
    # A publisher ARN in another account still may not write: it is not this account.
    outsider = f"arn:aws:iam::{EXTERNAL[0]}:role/Publisher"
    policy = bucket_policy(org=ORG, external=EXTERNAL, publishers=[PUBLISHER, outsider])
    assert decide(policy, Request(EXTERNAL[0], "s3:PutObject", METADATA, arn=outsider)) == "deny"


@pytest.mark.parametrize("name", COMBINATIONS)
def test_the_rendered_policy_is_well_formed(name: str) -> None:
    combination = COMBINATIONS[name]
    policy = bucket_policy(**combination)
    text = json.dumps(policy)
    assert '""' not in text, "an empty string reached the policy (an empty list item or condition value)"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids))
    assert ("AllowOrganizationRead" in sids) == bool(combination["org"])
    assert ("AllowExternalAccountsRead" in sids) == bool(combination["external"])
    for statement in policy["Statement"]:
        for block in statement.get("Condition", {}).values():
            assert block, f"{statement['Sid']}: an empty condition block"
    deny = next(s for s in policy["Statement"] if s["Sid"] == "DenyOutsideOrganization")
    assert _list(deny["Condition"]["StringNotEquals"]["aws:PrincipalAccount"]) == [HOME, *combination["external"]]
    assert ("aws:PrincipalOrgID" in deny["Condition"]["StringNotEquals"]) == bool(combination["org"])


@pytest.mark.parametrize("name", COMBINATIONS)
def test_every_allow_grants_prefix_reads_only(name: str) -> None:
    """Also without the denies: an Allow never reaches past the two prefixes or past reads."""
    prefixes = [f"arn:aws:s3:::{BUCKET}/metadata/*", f"arn:aws:s3:::{BUCKET}/samlfed/*"]
    for statement in bucket_policy(**COMBINATIONS[name])["Statement"]:
        if statement["Effect"] == "Allow":
            assert sorted(_list(statement["Action"])) == ["s3:GetObject", "s3:GetObjectVersion"]
            assert sorted(_list(statement["Resource"])) == prefixes
            assert "NotAction" not in statement and "NotResource" not in statement


def test_a_few_hundred_external_accounts_fit_in_a_bucket_policy() -> None:
    """S3 limits a bucket policy to 20 KB
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html); each named
    account appears twice."""
    many = [f"{n:012d}" for n in range(100000000000, 100000000300)]
    policy = bucket_policy(org=ORG, external=many, publishers=[PUBLISHER])
    assert len(json.dumps(policy, separators=(",", ":"))) < 20 * 1024


@pytest.mark.parametrize("bad", ["12345678901", "1234567890123", "11112222333a", "111122223333 "])
def test_external_account_ids_are_twelve_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        bucket_policy(org=ORG, external=[EXTERNAL[0], bad])


@pytest.mark.parametrize("bad", ["o-short", "O-EXAMPLEORG01", "r-abcd", " "])
def test_organization_id_is_empty_or_an_org_id(bad: str) -> None:
    with pytest.raises(ValueError):
        bucket_policy(org=bad)


def test_the_evaluator_refuses_operators_it_does_not_model() -> None:
    policy = copy.deepcopy(bucket_policy(org=ORG))
    policy["Statement"][0]["Condition"] = {"StringLike": {"aws:PrincipalAccount": "1*"}}
    with pytest.raises(AssertionError, match="not modelled"):
        decide(policy, Request(MEMBER, "s3:GetObject", METADATA, org=ORG))


@pytest.mark.parametrize("prefix", ["*/", "metadata/*/", "meta?/", "metadata", ""])
def test_prefixes_cannot_widen_the_grant(prefix: str) -> None:
    """A prefix is part of the Resource ARNs, where "*" and "?" are IAM wildcards."""
    template = load()
    for name in ("MetadataPrefix", "ArtefactPrefix"):
        with pytest.raises(ValueError):
            Renderer(template, {"OrganizationId": ORG, name: prefix})
