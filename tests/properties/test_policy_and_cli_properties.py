"""The policy file and the CLI's arguments, generated and mutated. A policy (the repository's,
mutated, as YAML or JSON, or arbitrary text) is a Policy or a PolicyError naming the file, the line
and the field; CLI arguments parse or are a usage error (exit 2) naming the argument; read-only
commands with generated values answer a documented exit code and write nothing."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from mailwarden.cli import main, parser
from mailwarden.cli.render import ExitCode
from mailwarden.cli.target import LocalTarget
from mailwarden.policy import Policy, PolicyError, parse_policy

from local.deployment import LocalDeployment
from tests.properties.mutations import TEXT, counted, mutated, names_a_field, schema_fields

ROOT = Path(__file__).resolve().parents[2]
REPO_POLICY = yaml.safe_load((ROOT / "policy" / "mailwarden.yaml").read_text())
README_POLICY = yaml.safe_load(
    re.search(r"## Policy file.*?```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)  # type: ignore[union-attr]
)
POLICY_FIELDS = schema_fields(Policy) | {"top", "level", "version"}
ERROR = re.compile(r"^policy\.(yaml|json): line (\d+|\?): (.+)$", re.S)


def _text(doc: object, as_json: bool) -> str:
    return json.dumps(doc) if as_json else yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@settings(max_examples=1000)
@given(doc=mutated(st.sampled_from([REPO_POLICY, README_POLICY])), as_json=st.booleans())
def test_a_mutated_policy_is_valid_or_refused_with_the_line_and_the_field(doc, as_json):
    name = "policy.json" if as_json else "policy.yaml"
    try:
        policy = parse_policy(_text(doc, as_json), name)
    except PolicyError as exc:
        counted("policy file: mutated documents", refused=True)
        m = ERROR.match(str(exc))
        assert m, str(exc)
        assert names_a_field(m.group(3), POLICY_FIELDS) or "expected a mapping" in m.group(3), str(exc)
        return
    counted("policy file: mutated documents")
    assert parse_policy(policy.normalized(), "policy.json") == policy  # what deploys is what was validated


@settings(max_examples=500)
@given(
    text=st.text(max_size=300)
    | st.sampled_from(["version: 1\n" + "x: [" * 50, "{", "---\n---\n", "? [a]\n: 1\n", "\t"])
)
def test_arbitrary_text_is_a_policy_error_never_another_exception(text):
    try:
        parse_policy(text, "policy.yaml")
    except PolicyError as exc:
        counted("policy file: arbitrary text", refused=True)
        assert ERROR.match(str(exc)), str(exc)
    else:
        counted("policy file: arbitrary text")


# ---------------------------------------------------------------- CLI arguments

COMMANDS = [
    ["plan", "reputation"],
    ["plan", "partner", "--catalog", "AWS"],
    ["apply", "partner", "--yes", "--reason", "r"],
    ["offboard", "alice@acme.example.com", "--org", "m-" + "0" * 32, "--reason", "leaver", "--dry-run"],
    ["decommission-org", "m-" + "0" * 32, "--reason", "closing", "--dry-run"],
    ["mail-from", "get", "example.com"],
    ["mail-from", "set", "example.com", "mail.example.com", "--behavior-on-mx-failure", "REJECT_MESSAGE"],
    ["approvals", "list", "--state", "all"],
    ["approvals", "show", "oldest"],
    ["audit", "--prefix", "workmail:", "--since", "24h", "--limit", "5"],
    ["kill-switch"],
    ["status"],
    ["decide", "oldest", "approve"],
    ["--output", "json", "--timeout", "5", "status"],
]
ARG = st.one_of(TEXT, st.sampled_from(["-1", "0", "1e9", "--", "-", "--limit", "--nope", "--help=x", "=", "oldest"]))


@st.composite
def argv(draw: st.DrawFn) -> list[str]:
    words = list(draw(st.sampled_from(COMMANDS)))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["replace", "drop", "insert"]))
        i = draw(st.integers(0, max(len(words) - 1, 0)))
        if op == "replace" and words:
            words[i] = draw(ARG)
        elif op == "drop" and words:
            del words[i]
        else:
            words.insert(i, draw(ARG))
    return [w for w in words if "\x00" not in w]


# Built once: parse_args keeps no state between calls (each makes its own Namespace from the
# defaults), and building it (every subcommand) cost two thirds of this property's time.
PARSER = parser()


@settings(max_examples=1500)
@given(argv())
def test_cli_arguments_parse_or_are_a_usage_error_naming_the_argument(words):
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            PARSER.parse_args(words)
    except SystemExit as exc:
        counted("cli: arguments", refused=exc.code != 0)
        assert exc.code in (0, 2), exc.code  # --help, or a usage error
        if exc.code == 2:
            assert "error:" in err.getvalue() and "usage: mailwarden" in err.getvalue()
        return
    counted("cli: arguments")


READ_ONLY = st.one_of(
    st.builds(lambda v: ["audit", "--limit", v], st.integers(-5, 5).map(str) | TEXT),
    st.builds(lambda v: ["audit", "--since", v], TEXT | st.sampled_from(["24h", "0m", "99999d", "2026-13-01", "1e9s"])),
    st.builds(lambda p, g: ["audit", "--prefix", p, "--grep", g], TEXT, TEXT),
    st.builds(lambda s: ["audit", s], TEXT),
    st.builds(lambda i: ["approvals", "show", i], TEXT | st.just("oldest")),
    st.builds(lambda i: ["mail-from", "get", i], TEXT | st.just("acme.example")),
    st.builds(lambda o: ["--output", o, "status"], st.sampled_from(["text", "json"])),
)
# FAILED (1) would be an unexpected error; ACCESS and TIMED_OUT cannot happen on the emulator
CODES = {ExitCode.OK, ExitCode.USAGE, ExitCode.PENDING_APPROVAL, ExitCode.HALTED, ExitCode.NOT_FOUND}


@settings(max_examples=150)
@given(READ_ONLY)
def test_read_only_commands_with_generated_values_answer_an_exit_code_and_write_nothing(shared: LocalDeployment, words):
    d = shared
    before = d.emu.calls.copy()
    out, err = io.StringIO(), io.StringIO()
    code = main(words, target=LocalTarget(d), out=out, err=err, stdin=io.StringIO())
    counted("cli: read-only commands", refused=code != 0)
    assert code in CODES, code
    assert "Traceback" not in out.getvalue() + err.getvalue()
    writes = [
        k for k in d.emu.calls - before if not k.split(".")[1].startswith(("Get", "List", "Describe", "Query", "Scan"))
    ]
    assert set(writes) <= {"sqs.ReceiveMessage", "lambda.Invoke", "dynamodb.PutItem", "eventbridge.PutEvents"}, writes
    assert d.emu.calls["sesv2.PutEmailIdentityMailFromAttributes"] == before["sesv2.PutEmailIdentityMailFromAttributes"]
