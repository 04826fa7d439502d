#!/usr/bin/env python3
"""Keep the Lambda's execution role and the Rust code from drifting apart.

Each resource type declares the IAM actions it calls (``IAM_ACTIONS`` of its
``CustomResource`` impl); the execution role must grant exactly what the registered types
declare plus what the code outside them (metadata fetch, origin check, refresh) calls. The
declarations themselves are held to the code: the Rust sources are scanned for AWS SDK fluent
calls (``client.create_saml_provider()``, ``s3.get_object()``), each operation is mapped to
the IAM actions it needs (an explicit table, below), with the permissions a call implies
through its arguments (creating with tags needs ``iam:TagSAMLProvider`` / ``iam:TagRole``; a
``GetObject`` with a version ID needs ``s3:GetObjectVersion``), and a type's files must call
exactly what it declares. Exit status 1, with the difference listed, when the template grants
an action nothing needs or misses one that is needed, when a declaration and its type's calls
differ, or when the code calls an SDK operation the table does not know yet; 2 on usage or
parse errors.

    python tools/check_iam_actions.py [--src src] [--template templates/saml-federation.yaml]

How declarations are found: ``src/registry.rs`` lists the types (``Registered::of::<T>()``);
the file holding ``impl CustomResource for T`` (with its submodule directory, if any) is the
type's code, and its ``IAM_ACTIONS`` entries are ``IamAction::always("iam:X")`` or
``IamAction::only_for("iam:X", "Property")`` — the latter needed only when the template sets
that property on a resource of the type. Sources without ``registry.rs`` declare nothing and
every call counts as shared.

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

    def __str__(self) -> str:
        return f"{self.file}:{self.line} ({self.operation})"


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
# Declarations: what each registered resource type says it calls
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Declared:
    resource_type: str  # e.g. Custom::SAMLRole
    action: str
    only_for_property: str | None
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line} (IAM_ACTIONS of {self.resource_type})"


@dataclasses.dataclass(frozen=True)
class ResourceType:
    name: str  # the Rust type, e.g. SamlRole
    resource_type: str
    files: tuple[Path, ...]  # the type's code: its impl file and that file's submodules
    declared: tuple[Declared, ...]


_REGISTERED = re.compile(r"Registered::of::<\s*(\w+)\s*>\s*\(\s*\)")
_DECLARATION = re.compile(r"const\s+IAM_ACTIONS\s*:[^=]*=\s*&\[(.*?)\];", re.S)
_ENTRY = re.compile(r'IamAction::(always|only_for)\(\s*"([^"]+)"\s*(?:,\s*"([^"]+)"\s*)?\)')
_TYPE_NAME = re.compile(r'const\s+RESOURCE_TYPE\s*:[^=]*=\s*"([^"]+)"')


def resource_types(src: Path) -> list[ResourceType]:
    """The types registered in ``src/registry.rs``, each with its files and declaration.

    Raises SystemExit (status 2) when a registered type's impl or declaration cannot be found.
    """
    registry = src / "registry.rs"
    if not registry.is_file():
        return []
    names = _REGISTERED.findall(strip_comments(registry.read_text(encoding="utf-8")))
    code = {p: strip_comments(p.read_text(encoding="utf-8")) for p in sorted(src.rglob("*.rs"))}
    found: list[ResourceType] = []
    for name in names:
        impl = re.compile(rf"impl\s+CustomResource\s+for\s+{re.escape(name)}\b")
        homes = [p for p, text in code.items() if impl.search(text)]
        if len(homes) != 1:
            raise SystemExit(f"check_iam_actions: {registry}: {name} is registered, but {len(homes)} files implement CustomResource for it")
        home = homes[0]
        # Comments out, strings kept: the declaration's entries are string literals.
        text = re.sub(r"//[^\n]*", "", home.read_text(encoding="utf-8"))
        declaration = _DECLARATION.search(text)
        type_name = _TYPE_NAME.search(text)
        if not declaration or not type_name:
            raise SystemExit(f"check_iam_actions: {home}: no IAM_ACTIONS / RESOURCE_TYPE of {name} in the documented form")
        rel = os.path.relpath(home)
        declared = []
        for m in _ENTRY.finditer(declaration.group(1)):
            line = text.count("\n", 0, declaration.start(1) + m.start()) + 1
            declared.append(Declared(type_name.group(1), m.group(2), m.group(3), rel, line))
        if m_bad := re.sub(_ENTRY, "", declaration.group(1)).strip(" \n,"):
            raise SystemExit(f"check_iam_actions: {home}: IAM_ACTIONS of {name} holds something other than IamAction entries: {m_bad[:80]!r}")
        if home.name == "mod.rs":
            files = sorted(home.parent.rglob("*.rs"))
        else:
            submodules = home.with_suffix("")
            files = [home] + (sorted(submodules.rglob("*.rs")) if submodules.is_dir() else [])
        found.append(ResourceType(name, type_name.group(1), tuple(files), tuple(declared)))
    return found


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


def set_properties(template: dict) -> dict[str, set[str]]:
    """Property names set on the template's custom resources, by resource type."""
    names: dict[str, set[str]] = {}
    for resource in template.get("Resources", {}).values():
        resource_type = str(resource.get("Type", ""))
        if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
            names.setdefault(resource_type, set()).update(resource.get("Properties", {}) or {})
    return names


@dataclasses.dataclass
class Report:
    # action -> why it is needed: the declarations naming it and the shared calls of it
    needed: dict[str, list[Call | Declared]]
    granted: dict[str, str]
    unknown: list[Call]
    # Actions declared only for a property the template never sets on that type: action -> property.
    excused: dict[str, str] = dataclasses.field(default_factory=dict)
    # A type's files call an action its IAM_ACTIONS does not declare.
    undeclared: list[tuple[ResourceType, Call, str]] = dataclasses.field(default_factory=list)
    # A type declares an action its files never call.
    uncalled: list[Declared] = dataclasses.field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return sorted(a for a in self.needed if a.lower() not in self.granted and a not in self.excused)

    @property
    def extra(self) -> list[str]:
        needed = {a.lower() for a in self.needed}
        return sorted(v for k, v in self.granted.items() if k not in needed)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.unknown or self.undeclared or self.uncalled)

    def render(self, template: str) -> str:
        lines = []
        for action in self.missing:
            where = ", ".join(str(w) for w in self.needed[action][:3])
            lines.append(f"MISSING  {action}: needed by {where}, not granted to the execution role in {template}")
        for action in self.extra:
            lines.append(f"EXTRA    {action}: granted in {template}, but nothing declares or calls it")
        for rtype, call, action in self.undeclared:
            lines.append(
                f"UNDECLARED {action}: {call} is code of {rtype.resource_type}, whose IAM_ACTIONS "
                f"({rtype.files[0]}) does not declare it: add it there"
            )
        for declared in self.uncalled:
            lines.append(
                f"UNCALLED {declared.action}: declared at {declared}, but no code of the type calls it: remove it"
            )
        for call in self.unknown:
            lines.append(
                f"UNKNOWN  {call}: .{call.operation}() is an AWS SDK operation missing from "
                "OPERATIONS in tools/check_iam_actions.py: add it with its IAM action(s)"
            )
        if self.ok:
            granted = len(self.needed) - len(self.excused)
            lines.append(f"OK: {granted} IAM/S3/CloudFormation actions declared or called = granted in {template}")
            for action, prop in sorted(self.excused.items()):
                lines.append(f"   not granted: {action}, needed only for {prop}, which the template never sets")
        return "\n".join(lines)


def _owner(call: Call, types: list[ResourceType]) -> ResourceType | None:
    path = Path(call.file).resolve()
    return next((t for t in types if any(path == f.resolve() for f in t.files)), None)


def check(
    src: Path, template_path: Path, sdk_ops: dict[str, set[str]] | None = None, exclude: tuple[Path, ...] = ()
) -> Report:
    types = resource_types(src)
    calls, unknown = scan_rust(src, sdk_ops, exclude)
    needed: dict[str, list[Call | Declared]] = {}
    called_by_type: dict[str, set[str]] = {t.name: set() for t in types}
    undeclared: list[tuple[ResourceType, Call, str]] = []
    for call in calls:
        rtype = _owner(call, types)
        for action in call.actions:
            if rtype is None:
                needed.setdefault(action, []).append(call)
                continue
            called_by_type[rtype.name].add(action)
            if action not in {d.action for d in rtype.declared}:
                undeclared.append((rtype, call, action))
    uncalled = [d for t in types for d in t.declared if d.action not in called_by_type[t.name]]
    template = load_template(template_path)
    present = set_properties(template)
    for rtype in types:
        for declared in rtype.declared:
            needed.setdefault(declared.action, []).append(declared)
    granted = granted_actions(template)
    excused = {}
    for action, why in needed.items():
        properties = {w.only_for_property for w in why if isinstance(w, Declared)}
        if (
            all(isinstance(w, Declared) for w in why)
            and None not in properties
            and not any(w.only_for_property in present.get(w.resource_type, set()) for w in why if isinstance(w, Declared))
            and action.lower() not in granted
        ):
            excused[action] = ", ".join(sorted(p for p in properties if p))
    return Report(needed, granted, unknown, excused, undeclared, uncalled)


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
