"""Self-test of tools/check_iam_actions.py on small synthetic Rust snippets and templates,
plus consistency checks of the real templates that cfn-lint and cfn-guard cannot express.

Run: .venv/bin/python -m pytest tools/test_check_iam_actions.py
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_iam_actions as cia  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FEDERATION = ROOT / "templates" / "saml-federation.yaml"
STACKSETS = [ROOT / "stacksets" / "federation-stackset.yaml", ROOT / "stacksets" / "federation-stackset-self-managed.yaml"]


# ---------------------------------------------------------------------------- helpers


def write_src(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "src"
    for name, body in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))
    return src


def write_template(tmp_path: Path, statements: str, extra_resources: str = "") -> Path:
    body = textwrap.dedent(
        """\
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          FederationName: {Type: String}
          HasRole: {Type: String}
        Conditions:
          Role: !Equals [!Ref HasRole, "yes"]
        Resources:
          FunctionRole:
            Type: AWS::IAM::Role
            Properties:
              AssumeRolePolicyDocument: {}
              Policies:
                - PolicyName: p
                  PolicyDocument:
                    Version: "2012-10-17"
                    Statement:
        STATEMENTS
          Function:
            Type: AWS::Lambda::Function
            Properties:
              Role: !GetAtt FunctionRole.Arn
          Provider:
            Type: Custom::SAMLProvider
            Properties:
              ServiceToken: !GetAtt Function.Arn
        EXTRA
        """
    )
    stmts = textwrap.indent(textwrap.dedent(statements), " " * 20)
    extra = textwrap.indent(textwrap.dedent(extra_resources), "  ")
    path = tmp_path / "template.yaml"
    path.write_text(body.replace("STATEMENTS\n", stmts).replace("EXTRA\n", extra))
    return path


def run(tmp_path: Path, rust: dict[str, str], statements: str, extra: str = "", sdk_ops=None) -> cia.Report:
    return cia.check(write_src(tmp_path, rust), write_template(tmp_path, statements, extra), sdk_ops)


PROVIDER_RUST = {
    "provider.rs": """\
        async fn create(iam: &aws_sdk_iam::Client, name: &str, doc: &str, tags: Vec<Tag>) {
            let out = iam
                .create_saml_provider()
                .name(name)
                .saml_metadata_document(doc)
                .set_tags(Some(tags))
                .send()
                .await;
            iam.get_saml_provider().saml_provider_arn(arn).send().await;
        }
        """,
}

PROVIDER_STATEMENTS = """\
    - Effect: Allow
      Action:
        - iam:CreateSAMLProvider
        - iam:TagSAMLProvider
        - iam:GetSAMLProvider
      Resource: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:saml-provider/${FederationName}"
    - Effect: Allow
      Action: [logs:CreateLogStream, logs:PutLogEvents]
      Resource: "*"
"""


# ------------------------------------------------------------------------ the checker


def test_exact_match_passes(tmp_path):
    report = run(tmp_path, PROVIDER_RUST, PROVIDER_STATEMENTS)
    assert report.ok, report.render("t")
    assert set(report.needed) == {"iam:CreateSAMLProvider", "iam:TagSAMLProvider", "iam:GetSAMLProvider"}


def test_extra_grant_fails_and_is_named(tmp_path):
    statements = PROVIDER_STATEMENTS + """\
    - Effect: Allow
      Action: iam:DeleteSAMLProvider
      Resource: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:saml-provider/${FederationName}"
"""
    report = run(tmp_path, PROVIDER_RUST, statements)
    assert not report.ok
    assert report.extra == ["iam:DeleteSAMLProvider"]
    assert report.missing == []
    assert "EXTRA    iam:DeleteSAMLProvider" in report.render("t")


def test_missing_grant_fails_and_points_at_the_call(tmp_path):
    rust = dict(PROVIDER_RUST)
    rust["more.rs"] = """\
        async fn gone(iam: &aws_sdk_iam::Client) {
            iam.delete_saml_provider().saml_provider_arn(arn).send().await;
        }
        """
    report = run(tmp_path, rust, PROVIDER_STATEMENTS)
    assert report.missing == ["iam:DeleteSAMLProvider"]
    rendered = report.render("t")
    assert "MISSING  iam:DeleteSAMLProvider" in rendered and "more.rs:2" in rendered


def test_acronyms_come_from_the_table_not_from_camel_case():
    assert cia.OPERATIONS["create_saml_provider"].actions == ("iam:CreateSAMLProvider",)
    assert cia.OPERATIONS["list_saml_provider_tags"].actions == ("iam:ListSAMLProviderTags",)
    assert cia.OPERATIONS["put_role_permissions_boundary"].actions == ("iam:PutRolePermissionsBoundary",)


def test_create_without_tags_does_not_need_tag_permission(tmp_path):
    rust = {"p.rs": "fn f() { iam.create_saml_provider().name(n).saml_metadata_document(d).send(); }\n"}
    report = run(tmp_path, rust, """\
    - Effect: Allow
      Action: iam:CreateSAMLProvider
      Resource: "arn:aws:iam::111122223333:saml-provider/x"
""")
    assert report.ok, report.render("t")


def test_tags_set_on_a_builder_variable_before_send_are_implied(tmp_path):
    rust = {
        "role.rs": """\
            async fn create(iam: &aws_sdk_iam::Client, tags: Vec<Tag>) {
                let mut req = iam.create_role().role_name(name).assume_role_policy_document(doc);
                for t in tags {
                    req = req.tags(t);
                }
                req.send().await;
            }
            """
    }
    report = run(tmp_path, rust, """\
    - Effect: Allow
      Action: [iam:CreateRole]
      Resource: "arn:aws:iam::111122223333:role/x"
""")
    assert report.missing == ["iam:TagRole"]


def test_tags_getter_on_an_output_is_not_a_tagging_call(tmp_path):
    rust = {"p.rs": "fn f() { let t = iam.get_saml_provider().saml_provider_arn(a).send().await?.tags(); }\n"}
    report = run(tmp_path, rust, """\
    - Effect: Allow
      Action: iam:GetSAMLProvider
      Resource: "arn:aws:iam::111122223333:saml-provider/x"
""")
    assert report.ok, report.render("t")


@pytest.mark.parametrize(
    "setter, needs_version",
    [
        (".set_version_id(location.version_id.clone())", True),
        (".version_id(v)", True),
        ("", False),
        (".set_version_id()", False),  # no argument: not a setter call
    ],
)
def test_get_object_with_a_version_id_needs_get_object_version(tmp_path, setter, needs_version):
    rust = {"s3.rs": f"async fn f() {{ s3.get_object().bucket(b).key(k){setter}.send().await; }}\n"}
    report = run(tmp_path, rust, """\
    - Effect: Allow
      Action: [s3:GetObject, s3:GetObjectVersion]
      Resource: "arn:aws:s3:::b/k"
""")
    assert ("s3:GetObjectVersion" in report.needed) is needs_version
    assert report.ok is needs_version


def test_comments_strings_and_ignore_marks_are_not_calls(tmp_path):
    rust = {
        "p.rs": """\
            // iam.delete_role().send() in a comment
            /* and .update_role() in a block comment /* nested */ still */
            /// doc: call .put_role_policy() to ...
            fn f() {
                let msg = "the .delete_saml_provider() call failed";
                let raw = r#"also .tag_role() here"#;
                let c = 'x';
                iam.untag_role().send(); // check-iam-actions: ignore
                iam.get_saml_provider().saml_provider_arn(a).send();
            }
            """
    }
    report = run(tmp_path, rust, """\
    - Effect: Allow
      Action: iam:GetSAMLProvider
      Resource: "arn:aws:iam::111122223333:saml-provider/x"
""")
    assert report.ok, report.render("t")


def test_helpers_with_arguments_are_not_sdk_calls(tmp_path):
    rust = {"p.rs": "fn f() { self.get_role(&name); helpers::delete_role(x); }\n"}
    report = run(tmp_path, rust, "- Effect: Allow\n  Action: logs:PutLogEvents\n  Resource: '*'\n")
    assert report.ok and report.needed == {}


def test_statements_in_both_if_branches_and_short_form_tags_are_read(tmp_path):
    statements = PROVIDER_STATEMENTS + """\
    - !If
      - Role
      - Effect: Allow
        Action: [iam:GetRole]
        Resource: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x"
      - !Ref AWS::NoValue
    - Fn::If:
      - Role
      - !Ref AWS::NoValue
      - Effect: Allow
        Action: iam:DeleteRole
        Resource: "arn:aws:iam::111122223333:role/x"
    - Effect: Deny
      Action: iam:UpdateRole
      Resource: "*"
"""
    report = run(tmp_path, PROVIDER_RUST, statements)
    assert report.extra == ["iam:DeleteRole", "iam:GetRole"]  # Deny statements grant nothing


def test_separate_policy_resources_attached_to_the_role_count(tmp_path):
    extra = """\
    ExtraPolicy:
      Type: AWS::IAM::RolePolicy
      Properties:
        RoleName: !Ref FunctionRole
        PolicyName: extra
        PolicyDocument:
          Statement:
            - Effect: Allow
              Action: iam:DeleteSAMLProvider
              Resource: "arn:aws:iam::111122223333:saml-provider/x"
    Unrelated:
      Type: AWS::IAM::Policy
      Properties:
        PolicyName: other
        Roles: [SomeOtherRole]
        PolicyDocument:
          Statement:
            - Effect: Allow
              Action: iam:CreateRole
              Resource: "arn:aws:iam::111122223333:role/y"
"""
    report = run(tmp_path, PROVIDER_RUST, PROVIDER_STATEMENTS, extra)
    assert report.extra == ["iam:DeleteSAMLProvider"]


def test_action_case_is_ignored(tmp_path):
    report = run(tmp_path, PROVIDER_RUST, """\
    - Effect: Allow
      Action: [IAM:createsamlprovider, iam:TagSAMLProvider, iam:GetSamlProvider]
      Resource: "*"
""")
    assert report.ok, report.render("t")


def test_wildcard_grants_are_extra_not_a_match(tmp_path):
    report = run(tmp_path, PROVIDER_RUST, "- Effect: Allow\n  Action: 'iam:*'\n  Resource: '*'\n")
    assert "iam:*" in report.extra and len(report.missing) == 3


def test_sdk_operation_missing_from_the_table_is_reported(tmp_path):
    rust = {"p.rs": "fn f() { iam.create_open_id_connect_provider().url(u).send(); }\n"}
    sdk_ops = {"iam": {"create_open_id_connect_provider", "create_saml_provider"}, "s3": {"get_object"}}
    report = run(tmp_path, rust, PROVIDER_STATEMENTS, sdk_ops=sdk_ops)
    assert [c.operation for c in report.unknown] == ["create_open_id_connect_provider"]
    assert "UNKNOWN" in report.render("t") and not report.ok


def test_main_exit_codes(tmp_path, capsys):
    src = write_src(tmp_path, PROVIDER_RUST)
    good = write_template(tmp_path, PROVIDER_STATEMENTS)
    assert cia.main(["--src", str(src), "--template", str(good), "--no-sdk-scan"]) == 0
    bad = write_template(tmp_path, "- Effect: Allow\n  Action: iam:GetSAMLProvider\n  Resource: '*'\n")
    assert cia.main(["--src", str(src), "--template", str(bad), "--no-sdk-scan"]) == 1
    assert "MISSING  iam:CreateSAMLProvider" in capsys.readouterr().out
    assert cia.main(["--src", str(tmp_path / "nope"), "--template", str(good)]) == 2


# ------------------------------------------------ the table against the SDK's own names

SDK = cia.sdk_operations(ROOT / "Cargo.lock", None)


@pytest.mark.skipif(not all(SDK.values()), reason="aws-sdk-iam / aws-sdk-s3 sources not in the Cargo registry")
def test_table_operations_exist_in_the_sdk_with_the_api_names_used_as_actions():
    cargo_dirs = {}
    for svc, crate in cia.SERVICES.items():
        lock = (ROOT / "Cargo.lock").read_text()
        version = re.search(rf'name = "{crate}"\nversion = "([^"]+)"', lock).group(1)
        cargo_dirs[svc] = next(Path.home().glob(f".cargo/registry/src/*/{crate}-{version}/src/operation"))
    for op, spec in cia.OPERATIONS.items():
        assert op in SDK[spec.service], f"{op} is not an operation of {cia.SERVICES[spec.service]}"
        source = (cargo_dirs[spec.service] / f"{op}.rs").read_text()
        api_name = re.search(r'Metadata::new\(\s*"([A-Za-z0-9]+)"', source).group(1)
        # The first action is the operation's own; HeadObject is authorised as s3:GetObject.
        expected = "s3:GetObject" if op == "head_object" else f"{spec.service}:{api_name}"
        assert spec.actions[0] == expected, f"{op}: table says {spec.actions[0]}, SDK API name is {api_name}"


# --------------------------------------------------------------- the real templates


CONTRACT_ACTIONS = {
    "iam:CreateSAMLProvider", "iam:GetSAMLProvider", "iam:UpdateSAMLProvider", "iam:DeleteSAMLProvider",
    "iam:TagSAMLProvider",
    "iam:CreateRole", "iam:GetRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies", "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary", "iam:TagRole",
    "s3:GetObject", "s3:GetObjectVersion",
    "cloudformation:DescribeStackResource", "cloudformation:DescribeStacks",
}


def test_federation_template_grants_exactly_the_contract():
    granted = cia.granted_actions(cia.load_template(FEDERATION))
    assert set(granted.values()) == CONTRACT_ACTIONS


def test_actions_only_properties_the_template_never_sets_need_are_left_out_and_come_back_with_them(tmp_path):
    """Least privilege: the project's template sets no role Policies nor Tags, so the execution role
    lacks iam:PutRolePolicy, iam:DeleteRolePolicy, iam:UntagRole and iam:UntagSAMLProvider — and
    the check passes. A template that sets Tags on the role needs iam:UntagRole again (and only
    that: the provider's Tags are still not set)."""
    report = cia.check(ROOT / "src", FEDERATION, exclude=(ROOT / "src" / "cli", ROOT / "src" / "bin"))
    assert report.ok, report.render(str(FEDERATION))
    assert set(report.excused) == {"iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UntagRole", "iam:UntagSAMLProvider"}
    text = FEDERATION.read_text()
    anchor = "      ServiceTimeout: 300\n      RoleName: !Ref RoleName\n"
    assert anchor in text
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text(text.replace(anchor, anchor + "      Tags: [{Key: team, Value: platform}]\n"))
    report = cia.check(ROOT / "src", tagged, exclude=(ROOT / "src" / "cli", ROOT / "src" / "bin"))
    assert report.missing == ["iam:UntagRole"], report.render(str(tagged))


def test_the_real_types_declarations_are_read_from_their_files():
    types = {t.resource_type: t for t in cia.resource_types(ROOT / "src")}
    assert list(types) == ["Custom::SAMLProvider", "Custom::SAMLRole"]
    provider, role = types["Custom::SAMLProvider"], types["Custom::SAMLRole"]
    assert provider.files == (ROOT / "src" / "resources" / "saml_provider.rs",)
    assert ROOT / "src" / "resources" / "saml_role" / "entity.rs" in role.files
    assert {d.action for d in provider.declared} >= {"iam:CreateSAMLProvider", "iam:TagSAMLProvider"}
    only_for = {d.action: d.only_for_property for d in role.declared if d.only_for_property}
    assert only_for == {"iam:UntagRole": "Tags", "iam:PutRolePolicy": "Policies", "iam:DeleteRolePolicy": "Policies"}


# ----------------------------------------------- declarations of the registered types

REGISTRY = "use crate::cfn::dispatch::Registered;\npub const RESOURCE_TYPES: &[Registered] = &[Registered::of::<Thing>()];\n"


def thing(declared: str, body: str) -> dict[str, str]:
    """A registry with one type, Custom::Thing, declaring `declared` and running `body`."""
    return {
        "registry.rs": REGISTRY,
        "resources/thing.rs": f"""\
            impl CustomResource for Thing {{
                const RESOURCE_TYPE: &'static str = "Custom::Thing";
                const IAM_ACTIONS: &'static [IamAction] = &[
                    // a comment with IamAction::always("iam:NotAnEntry") is not an entry
                    {declared}
                ];
            }}
            async fn go(iam: &Client) {{ {body} }}
            """,
    }


DELETE_GRANT = """\
    - Effect: Allow
      Action: iam:DeleteSAMLProvider
      Resource: "arn:aws:iam::111122223333:saml-provider/x"
"""


def test_a_declaration_equal_to_the_types_calls_is_what_the_role_must_grant(tmp_path):
    rust = thing('IamAction::always("iam:DeleteSAMLProvider"),', "iam.delete_saml_provider().send().await;")
    report = run(tmp_path, rust, DELETE_GRANT)
    assert report.ok, report.render("t")
    (why,) = report.needed["iam:DeleteSAMLProvider"]
    assert str(why).endswith("resources/thing.rs:5 (IAM_ACTIONS of Custom::Thing)"), why
    report = run(tmp_path, rust, "- Effect: Allow\n  Action: logs:PutLogEvents\n  Resource: '*'\n")
    assert report.missing == ["iam:DeleteSAMLProvider"]
    assert "IAM_ACTIONS of Custom::Thing" in report.render("t")


def test_a_call_the_type_does_not_declare_is_named_with_the_place_to_declare_it(tmp_path):
    rust = thing("", "iam.delete_saml_provider().send().await;")
    report = run(tmp_path, rust, DELETE_GRANT)
    assert not report.ok
    rendered = report.render("t")
    assert "UNDECLARED iam:DeleteSAMLProvider" in rendered and "(delete_saml_provider) is code of Custom::Thing" in rendered


def test_a_declared_action_no_code_of_the_type_calls_is_named(tmp_path):
    rust = thing('IamAction::always("iam:DeleteSAMLProvider"),', "")
    report = run(tmp_path, rust, DELETE_GRANT)
    assert [d.action for d in report.uncalled] == ["iam:DeleteSAMLProvider"]
    assert "UNCALLED iam:DeleteSAMLProvider" in report.render("t") and not report.ok


def test_the_types_submodules_are_its_code_and_other_files_are_shared(tmp_path):
    rust = thing('IamAction::always("iam:DeleteSAMLProvider"),', "")
    rust["resources/thing/calls.rs"] = "async fn f(iam: &Client) { iam.delete_saml_provider().send().await; }\n"
    report = run(tmp_path, rust, DELETE_GRANT)
    assert report.ok, report.render("t")
    rust["refresh.rs"] = "async fn r(iam: &Client) { iam.get_saml_provider().send().await; }\n"
    report = run(tmp_path, rust, DELETE_GRANT)
    assert report.missing == ["iam:GetSAMLProvider"] and not report.undeclared


def test_an_action_declared_only_for_a_property_is_needed_once_that_type_sets_it(tmp_path):
    rust = thing('IamAction::only_for("iam:DeleteSAMLProvider", "Colour"),', "iam.delete_saml_provider().send().await;")
    thing_resource = "Thing:\n  Type: Custom::Thing\n  Properties:\n    ServiceToken: !GetAtt Function.Arn\n"
    report = run(tmp_path, rust, "- Effect: Allow\n  Action: logs:PutLogEvents\n  Resource: '*'\n", thing_resource)
    assert report.ok and report.excused == {"iam:DeleteSAMLProvider": "Colour"}, report.render("t")
    # Colour on another type (the template's Custom::SAMLProvider) does not need it ...
    other = thing_resource.replace("Custom::Thing", "Custom::SAMLProvider") + "    Colour: blue\n"
    report = run(tmp_path, rust, "- Effect: Allow\n  Action: logs:PutLogEvents\n  Resource: '*'\n", other.replace("Thing:", "Other:"))
    assert report.ok, report.render("t")
    # ... on this type it does.
    report = run(tmp_path, rust, "- Effect: Allow\n  Action: logs:PutLogEvents\n  Resource: '*'\n", thing_resource + "    Colour: blue\n")
    assert report.missing == ["iam:DeleteSAMLProvider"]


def test_a_registered_type_without_a_readable_declaration_stops_the_check(tmp_path):
    rust = thing("", "")
    rust["resources/thing.rs"] = rust["resources/thing.rs"].replace("IAM_ACTIONS", "ACTIONS")
    with pytest.raises(SystemExit, match="no IAM_ACTIONS"):
        run(tmp_path, rust, DELETE_GRANT)
    rust = thing('IamAction::always(ACTION),', "")
    with pytest.raises(SystemExit, match="other than IamAction entries"):
        run(tmp_path, rust, DELETE_GRANT)


def test_federation_execution_role_is_found_through_the_service_token():
    assert cia.execution_roles(cia.load_template(FEDERATION)) == ["FunctionRole"]


def _strings_outside_sub(node, path=""):
    """(path, string) for every string containing ${ that is not the template of an Fn::Sub."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::Sub":
                template = value[0] if isinstance(value, list) else value
                if isinstance(value, list) and len(value) > 1:
                    yield from _strings_outside_sub(value[1], f"{path}/Fn::Sub/1")
                if not isinstance(template, str):
                    yield from _strings_outside_sub(template, f"{path}/Fn::Sub/0")
                continue
            yield from _strings_outside_sub(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings_outside_sub(value, f"{path}/{i}")
    elif isinstance(node, str) and "${" in node:
        yield path, node


# The one place each template means the literal text (why cfn-lint's E1029 is suppressed).
LITERAL_PARTITION = "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess"
ALLOWED_LITERALS = {
    FEDERATION: {
        "/Parameters/RoleManagedPolicyArns/Default",
        "/Conditions/DefaultManagedPolicy/Fn::Equals/1",
    },
    **{path: {"/Parameters/RoleManagedPolicyArns/Default"} for path in STACKSETS},
}


@pytest.mark.parametrize("path", [FEDERATION, *STACKSETS], ids=lambda p: p.name)
def test_no_substitution_outside_sub_except_the_partition_default(path):
    template = cia.load_template(path)
    found = {p: s for p, s in _strings_outside_sub(template)}
    assert set(found) == ALLOWED_LITERALS[path], found
    assert set(found.values()) == {LITERAL_PARTITION}


@pytest.mark.parametrize("path", STACKSETS, ids=lambda p: p.name)
def test_stacksets_pass_every_federation_parameter_with_the_same_default(path):
    federation = cia.load_template(FEDERATION)["Parameters"]
    stackset = cia.load_template(path)
    passed = stackset["Resources"]["FederationStackSet"]["Properties"]["Parameters"]
    keys = [p["ParameterKey"] for p in passed]
    assert sorted(keys) == sorted(federation), "pass every federation parameter, each once"
    for p in passed:
        key = p["ParameterKey"]
        assert p["ParameterValue"] == {"Ref": key}
        mine, theirs = stackset["Parameters"][key], federation[key]
        assert str(mine.get("Default")) == str(theirs.get("Default")), key
        for field in ("AllowedValues", "AllowedPattern", "MinValue", "MaxValue"):
            if field in theirs and not (theirs["Type"] == "CommaDelimitedList"):
                assert mine.get(field) == theirs[field], f"{key}.{field}"


def test_stackset_parameter_examples_name_real_parameters():
    for example in sorted((ROOT / "stacksets").glob("*.parameters.example.json")):
        template = ROOT / "stacksets" / example.name.replace(".parameters.example.json", ".yaml")
        params = cia.load_template(template)["Parameters"]
        entries = json.loads(example.read_text())
        for entry in entries:
            assert entry["ParameterKey"] in params, f"{example.name}: {entry['ParameterKey']}"
        required = {k for k, v in params.items() if "Default" not in v}
        assert required <= {e["ParameterKey"] for e in entries}, f"{example.name} misses {required}"


def test_the_operator_cli_is_not_held_to_the_execution_role(tmp_path):
    src = tmp_path / "src"
    (src / "cli").mkdir(parents=True)
    (src / "lib.rs").write_text("fn f(c: &Client) { c.get_saml_provider().send(); }\n")
    (src / "cli" / "invoke.rs").write_text("fn g(c: &Client) { c.delete_role().send(); }\n")
    template = tmp_path / "t.yaml"
    template.write_text(
        "Resources:\n  Function:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      Role: {\"Fn::GetAtt\": [FunctionRole, Arn]}\n"
        "  FunctionRole:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      AssumeRolePolicyDocument: {}\n      Policies:\n        - PolicyName: p\n"
        "          PolicyDocument:\n            Statement:\n              - Effect: Allow\n"
        "                Action: [iam:GetSAMLProvider]\n                Resource: x\n"
    )
    report = cia.check(src, template, None, (src / "cli",))
    assert report.ok, report.render(str(template))
    assert not cia.check(src, template, None, ()).ok
