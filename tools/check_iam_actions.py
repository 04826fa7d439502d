#!/usr/bin/env python3
"""Keep the Lambda's execution role and the Rust code from drifting apart.

Scans the Rust sources for AWS SDK fluent calls on the IAM and S3 clients
(``client.create_saml_provider()``, ``s3.get_object()``), maps each operation to the IAM
actions it needs (an explicit table, below), adds the permissions a call implies through
its arguments (creating with tags needs ``iam:TagSAMLProvider`` / ``iam:TagRole``; a
``GetObject`` with a version ID needs ``s3:GetObjectVersion``) and compares the result with
the ``iam:`` and ``s3:`` actions that the template grants to the execution role of the
custom-resource Lambda. Exit status 1, with the difference listed, when the template grants
an action the code does not need or misses one that it needs, or when the code calls an
IAM/S3 operation the table does not know yet; 2 on usage or parse errors.

    python tools/check_iam_actions.py [--src src] [--template templates/saml-federation.yaml]

How calls are found (a deliberately simple, documented heuristic):
  * comments (``//``, ``/* */``, doc comments) are removed first;
  * a call is ``.<operation>()`` with an empty argument list, the SDK's fluent-builder
    shape; ``client.get_role(name)`` (one of our own helpers with arguments) is not a call;
  * which names are SDK operations comes from the table, and - when the SDK crates are in
    the Cargo registry (``$CARGO_HOME/registry/src``, versions from Cargo.lock) - from
    the crates' ``src/operation/`` directories, so an operation missing from the table is
    reported instead of silently ignored;
  * the "call chain" of an operation is the text from the call to the next ``.send()``;
    setters in it with arguments (``.tags(x)``, ``.set_tags(Some(x))``,
    ``.set_version_id(v)``) add the implied permissions. Builders kept in a variable and
    sent later are covered as long as ``.send()`` comes after the setters;
  * a line containing ``check-iam-actions: ignore`` is skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import os
import re
import sys
from pathlib import Path
from typing import Iterable

# --------------------------------------------------------------------------------------
# The operations this project may call, and what each needs. The IAM action is the API
# name, not a CamelCase of the Rust name: mind the acronyms (create_saml_provider ->
# CreateSAMLProvider). Add a row when the code starts calling something new.
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Operation:
    service: str  # "iam", "s3" or "cloudformation"
    actions: tuple[str, ...]  # always needed
    # implied permissions: regex over the call chain (with arguments) -> extra actions
    implied: tuple[tuple[str, tuple[str, ...]], ...] = ()


_TAGS = r"\.(?:set_)?tags\(\s*[^)\s]"
_VERSION = r"\.(?:set_)?version_id\(\s*[^)\s]"

OPERATIONS: dict[str, Operation] = {
    # IAM SAML providers
    "create_saml_provider": Operation("iam", ("iam:CreateSAMLProvider",), ((_TAGS, ("iam:TagSAMLProvider",)),)),
    "get_saml_provider": Operation("iam", ("iam:GetSAMLProvider",)),
    "update_saml_provider": Operation("iam", ("iam:UpdateSAMLProvider",)),
    "delete_saml_provider": Operation("iam", ("iam:DeleteSAMLProvider",)),
    "tag_saml_provider": Operation("iam", ("iam:TagSAMLProvider",)),
    "untag_saml_provider": Operation("iam", ("iam:UntagSAMLProvider",)),
    "list_saml_provider_tags": Operation("iam", ("iam:ListSAMLProviderTags",)),
    "list_saml_providers": Operation("iam", ("iam:ListSAMLProviders",)),
    # IAM roles
    "create_role": Operation("iam", ("iam:CreateRole",), ((_TAGS, ("iam:TagRole",)),)),
    "get_role": Operation("iam", ("iam:GetRole",)),
    "delete_role": Operation("iam", ("iam:DeleteRole",)),
    "update_role": Operation("iam", ("iam:UpdateRole",)),
    "update_role_description": Operation("iam", ("iam:UpdateRoleDescription",)),
    "update_assume_role_policy": Operation("iam", ("iam:UpdateAssumeRolePolicy",)),
    "attach_role_policy": Operation("iam", ("iam:AttachRolePolicy",)),
    "detach_role_policy": Operation("iam", ("iam:DetachRolePolicy",)),
    "list_attached_role_policies": Operation("iam", ("iam:ListAttachedRolePolicies",)),
    "put_role_policy": Operation("iam", ("iam:PutRolePolicy",)),
    "delete_role_policy": Operation("iam", ("iam:DeleteRolePolicy",)),
    "list_role_policies": Operation("iam", ("iam:ListRolePolicies",)),
    "get_role_policy": Operation("iam", ("iam:GetRolePolicy",)),
    "put_role_permissions_boundary": Operation("iam", ("iam:PutRolePermissionsBoundary",)),
    "delete_role_permissions_boundary": Operation("iam", ("iam:DeleteRolePermissionsBoundary",)),
    "tag_role": Operation("iam", ("iam:TagRole",)),
    "untag_role": Operation("iam", ("iam:UntagRole",)),
    "list_role_tags": Operation("iam", ("iam:ListRoleTags",)),
    # S3 (the metadata object). HeadObject is authorised as GetObject.
    "get_object": Operation("s3", ("s3:GetObject",), ((_VERSION, ("s3:GetObjectVersion",)),)),
    "head_object": Operation("s3", ("s3:GetObject",), ((_VERSION, ("s3:GetObjectVersion",)),)),
    # CloudFormation (the origin check reads the function's own stack)
    "describe_stack_resource": Operation("cloudformation", ("cloudformation:DescribeStackResource",)),
    "describe_stacks": Operation("cloudformation", ("cloudformation:DescribeStacks",)),
}

SERVICES = {"iam": "aws-sdk-iam", "s3": "aws-sdk-s3", "cloudformation": "aws-sdk-cloudformation"}

# Actions the code calls only for a custom-resource property the template never sets: least
# privilege leaves them out of the execution role. Each is excused only while no custom resource
# of the template sets that property (checked below); set it, and the action is needed again.
# DeleteRolePolicy is also called on Delete for an inline policy that someone added to the role by
# hand: without the permission that Delete fails with a Reason, and nothing not ours is deleted.
NEEDED_ONLY_FOR_PROPERTY: dict[str, str] = {
    "iam:PutRolePolicy": "Policies",
    "iam:DeleteRolePolicy": "Policies",
    "iam:UntagRole": "Tags",
    "iam:UntagSAMLProvider": "Tags",
}
IGNORE_MARK = "check-iam-actions: ignore"


# --------------------------------------------------------------------------------------
# Rust side
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Call:
    operation: str
    file: str
    line: int
    actions: tuple[str, ...]


def strip_comments(text: str) -> str:
    """Removes // and /* */ comments (keeping line structure) and string-literal contents.

    String literals are blanked so that an operation named in a message is not a call; the
    quotes stay, so the code's shape (and line numbers) is unchanged.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            j = n if j == -1 else j
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            assert m is not None
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end == -1 else end + 1 + len(m.group(1))
            out.append('""' + "".join("\n" for ch in text[i:end] if ch == "\n"))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "".join("\n" for ch in text[i:j] if ch == "\n"))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:])
            assert m is not None
            out.append("' '")
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def sdk_operations(cargo_lock: Path | None, cargo_home: Path | None) -> dict[str, set[str]]:
    """Operation module names of the IAM and S3 SDK crates in the Cargo registry, by service.

    Empty sets when the crates cannot be found (then only the table's names are known).
    """
    found: dict[str, set[str]] = {svc: set() for svc in SERVICES}
    if cargo_home is None:
        cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    versions: dict[str, str] = {}
    if cargo_lock and cargo_lock.is_file():
        for m in re.finditer(r'name = "(aws-sdk-(?:iam|s3|cloudformation))"\nversion = "([^"]+)"', cargo_lock.read_text()):
            versions[m.group(1)] = m.group(2)
    for svc, crate in SERVICES.items():
        pattern = f"{crate}-{versions[crate]}" if crate in versions else f"{crate}-*"
        dirs = sorted(glob.glob(str(cargo_home / "registry" / "src" / "*" / pattern / "src" / "operation")))
        if dirs:
            found[svc] = {Path(p).stem for p in os.listdir(dirs[-1]) if not p.startswith("_")}
    return found


def scan_rust(
    src: Path, known_sdk_ops: dict[str, set[str]] | None = None, exclude: tuple[Path, ...] = ()
) -> tuple[list[Call], list[Call]]:
    """Returns (calls mapped by the table, calls of SDK operations the table does not know).
    Files under `exclude` (the operator CLI, which runs with the operator's own credentials,
    not the Lambda's execution role) are not scanned."""
    sdk_names = set().union(*known_sdk_ops.values()) if known_sdk_ops else set()
    names = set(OPERATIONS) | sdk_names
    call_re = re.compile(r"\.\s*(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\s*\(\s*\)")
    send_re = re.compile(r"\.\s*send\s*\(\s*\)")
    calls: list[Call] = []
    unknown: list[Call] = []
    for path in sorted(src.rglob("*.rs")):
        if any(path.resolve().is_relative_to(e.resolve()) for e in exclude):
            continue
        raw = path.read_text(encoding="utf-8")
        ignored = {i + 1 for i, line in enumerate(raw.splitlines()) if IGNORE_MARK in line}
        text = strip_comments(raw)
        for m in call_re.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            if line in ignored:
                continue
            op = m.group(1)
            rel = os.path.relpath(path)
            if op not in OPERATIONS:
                unknown.append(Call(op, rel, line, ()))
                continue
            spec = OPERATIONS[op]
            send = send_re.search(text, m.end())
            chain = text[m.end(): send.start() if send else len(text)]
            actions = list(spec.actions)
            for pattern, extra in spec.implied:
                if re.search(pattern, chain):
                    actions.extend(extra)
            calls.append(Call(op, rel, line, tuple(actions)))
    return calls, unknown


# --------------------------------------------------------------------------------------
# Template side
# --------------------------------------------------------------------------------------


def load_template(path: Path) -> dict:
    """Loads a CloudFormation template, short-form tags (!Sub, !If ...) included."""
    try:
        from cfnlint.decode import decode  # type: ignore
    except ImportError as exc:  # pragma: no cover - environment problem
        raise SystemExit(f"check_iam_actions: cfn-lint (cfnlint.decode) is needed to read {path}: {exc}") from exc
    template, matches = decode(str(path))
    if matches or template is None:
        raise SystemExit(f"check_iam_actions: cannot parse {path}: " + "; ".join(str(m) for m in matches or []))
    return template


def _statements(node) -> Iterable[dict]:
    """Every statement of a policy's Statement list, through Fn::If branches (both count)."""
    if isinstance(node, list):
        for item in node:
            yield from _statements(item)
    elif isinstance(node, dict):
        if set(node) == {"Fn::If"} and isinstance(node["Fn::If"], list) and len(node["Fn::If"]) == 3:
            yield from _statements(node["Fn::If"][1])
            yield from _statements(node["Fn::If"][2])
        elif "Effect" in node:
            yield node


def _ref_name(value) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            ga = value["Fn::GetAtt"]
            return str(ga[0] if isinstance(ga, list) else str(ga).split(".")[0])
    return None


def execution_roles(template: dict) -> list[str]:
    """Logical IDs of the roles of the Lambda functions that serve our custom resources."""
    resources = template.get("Resources", {})
    functions = {k for k, v in resources.items() if v.get("Type") == "AWS::Lambda::Function"}
    tokens = {
        _ref_name(v.get("Properties", {}).get("ServiceToken"))
        for v in resources.values()
        if str(v.get("Type", "")).startswith("Custom::") or v.get("Type") == "AWS::CloudFormation::CustomResource"
    }
    serving = (functions & tokens) or functions
    roles = []
    for fn in sorted(serving):
        role = _ref_name(resources[fn].get("Properties", {}).get("Role"))
        if role and role in resources:
            roles.append(role)
    return roles


def granted_actions(template: dict, services: Iterable[str] = SERVICES) -> dict[str, str]:
    """iam:/s3:/cloudformation: actions allowed to the execution role(s): lower-case action -> as written."""
    resources = template.get("Resources", {})
    roles = execution_roles(template)
    if not roles:
        raise SystemExit("check_iam_actions: no Lambda function with an execution role of this template found")
    documents = []
    for role in roles:
        props = resources[role].get("Properties", {})
        for policy in props.get("Policies", []) or []:
            documents.append(policy.get("PolicyDocument", {}))
        if props.get("ManagedPolicyArns"):
            raise SystemExit(f"check_iam_actions: {role} has ManagedPolicyArns; their actions cannot be checked - use inline policies")
    for logical, res in resources.items():
        if res.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::ManagedPolicy"):
            props = res.get("Properties", {})
            attached = [props.get("RoleName")] + list(props.get("Roles", []) or [])
            if any(_ref_name(r) in roles for r in attached if r is not None):
                documents.append(props.get("PolicyDocument", {}))
    prefixes = tuple(f"{svc}:" for svc in services)
    out: dict[str, str] = {}
    for doc in documents:
        for stmt in _statements(doc.get("Statement", [])):
            if stmt.get("Effect") != "Allow":
                continue
            actions = stmt.get("Action", [])
            for action in [actions] if isinstance(actions, str) else actions:
                if isinstance(action, str) and action.lower().startswith(prefixes):
                    out[action.lower()] = action
    return out


# --------------------------------------------------------------------------------------


def set_properties(template: dict) -> set[str]:
    """Property names set on any custom resource of the template."""
    names: set[str] = set()
    for resource in template.get("Resources", {}).values():
        resource_type = str(resource.get("Type", ""))
        if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
            names.update(resource.get("Properties", {}) or {})
    return names


@dataclasses.dataclass
class Report:
    needed: dict[str, list[Call]]
    granted: dict[str, str]
    unknown: list[Call]
    # Actions the code calls that the template cannot make it use: action -> the property.
    excused: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return sorted(a for a in self.needed if a.lower() not in self.granted and a not in self.excused)

    @property
    def extra(self) -> list[str]:
        needed = {a.lower() for a in self.needed}
        return sorted(v for k, v in self.granted.items() if k not in needed)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.unknown)

    def render(self, template: str) -> str:
        lines = []
        for action in self.missing:
            where = ", ".join(f"{c.file}:{c.line} ({c.operation})" for c in self.needed[action][:3])
            lines.append(f"MISSING  {action}: called at {where}, not granted to the execution role in {template}")
        for action in self.extra:
            lines.append(f"EXTRA    {action}: granted in {template}, but no code calls it")
        for call in self.unknown:
            lines.append(
                f"UNKNOWN  {call.file}:{call.line}: .{call.operation}() is an AWS SDK operation missing from "
                "OPERATIONS in tools/check_iam_actions.py: add it with its IAM action(s)"
            )
        if self.ok:
            granted = len(self.needed) - len(self.excused)
            lines.append(f"OK: {granted} IAM/S3/CloudFormation actions called by the code = granted in {template}")
            for action, prop in sorted(self.excused.items()):
                lines.append(f"   not granted: {action}, called only for {prop}, which the template never sets")
        return "\n".join(lines)


def check(
    src: Path, template_path: Path, sdk_ops: dict[str, set[str]] | None = None, exclude: tuple[Path, ...] = ()
) -> Report:
    calls, unknown = scan_rust(src, sdk_ops, exclude)
    needed: dict[str, list[Call]] = {}
    for call in calls:
        for action in call.actions:
            needed.setdefault(action, []).append(call)
    template = load_template(template_path)
    present = set_properties(template)
    granted = granted_actions(template)
    excused = {
        action: prop
        for action, prop in NEEDED_ONLY_FOR_PROPERTY.items()
        if action in needed and prop not in present and action.lower() not in granted
    }
    return Report(needed, granted, unknown, excused)


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=root / "src", help="Rust sources (default: src/)")
    parser.add_argument("--template", type=Path, default=root / "templates" / "saml-federation.yaml")
    parser.add_argument(
        "--exclude",
        type=Path,
        action="append",
        default=None,
        help="source directory not run by the Lambda (repeatable; default: src/cli and src/bin)",
    )
    parser.add_argument("--cargo-lock", type=Path, default=root / "Cargo.lock")
    parser.add_argument("--cargo-home", type=Path, default=None, help="default: $CARGO_HOME or ~/.cargo")
    parser.add_argument("--no-sdk-scan", action="store_true", help="know only the table's operation names")
    args = parser.parse_args(argv)
    if not args.src.is_dir():
        print(f"check_iam_actions: {args.src} is not a directory", file=sys.stderr)
        return 2
    sdk_ops = None if args.no_sdk_scan else sdk_operations(args.cargo_lock, args.cargo_home)
    if sdk_ops is not None and not all(sdk_ops.values()):
        print("check_iam_actions: note: SDK crates not found in the Cargo registry; only the table's operations are recognised", file=sys.stderr)
    exclude = tuple(args.exclude) if args.exclude is not None else (args.src / "cli", args.src / "bin")
    report = check(args.src, args.template, sdk_ops, exclude)
    print(report.render(str(args.template)))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
