from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from mailwarden.policy import PolicyError, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_policy_is_valid_and_only_plans():
    policy = load_policy(ROOT / "policy" / "mailwarden.yaml")
    assert policy.reputation.mode == "plan"
    assert [r.name for r in policy.reputation.rules][:2] == [
        "pause-on-high-impact-findings",
        "reinstate-after-a-day-fixed",
    ]


def test_json_is_accepted_and_normalized_round_trips():
    policy = load_policy(ROOT / "policy" / "mailwarden.yaml")
    again = parse_policy(policy.normalized(), "policy.json")
    assert again == policy
    assert json.loads(policy.normalized())["reputation"]["maxDisablesPerRun"] == 10


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("version: 2\n", 1, "version"),
        ("version: 1\nreputation:\n  mode: yolo\n", 3, "reputation.mode"),
        (
            "version: 1\nreputation:\n  rules:\n    - name: a\n"
            "      disableWhen: {types: [BOUNCE]}\n      reputationPolicy: strict\n",
            4,
            "exactly one of",
        ),
        (
            "version: 1\nreputation:\n  rules:\n    - name: a\n      disableWhen:\n        types: [BOUNCES]\n",
            6,
            "types.0",
        ),
        ("version: 1\nreputation:\n  maxDisablesPerRun: -1\n", 3, "maxDisablesPerRun"),
        ("version: 1\nreputation:\n  allowlist:\n    - nmae: x\n", 4, "nmae"),
        (
            "version: 1\nreputation:\n  rules:\n"
            "    - {name: a, reputationPolicy: strict}\n    - {name: a, reputationPolicy: none}\n",
            3,
            "used twice",
        ),
        ("version: 1\nreputation: [\n", 3, "expected"),
    ],
)
def test_a_bad_policy_names_the_line_and_the_problem(text, line, problem):
    with pytest.raises(PolicyError) as exc:
        parse_policy(text, "policy.yaml")
    message = str(exc.value)
    assert message.startswith(f"policy.yaml: line {line}:"), message
    assert problem in message


def test_a_bad_policy_fails_synth_config_loading(tmp_path):
    from infra.config import StackConfig

    bad = tmp_path / "p.yaml"
    bad.write_text("version: 1\nreputation:\n  mode: apply\n  rules:\n    - name: x\n")
    with pytest.raises(ValueError, match=r"mailwarden:policyFile: .*p.yaml: line 5: .*exactly one of"):
        StackConfig(policyFile=str(bad)).load_policy()


def test_the_check_command_names_the_line_and_exits_nonzero(tmp_path, capsys):
    from mailwarden.policy import main

    assert main([str(ROOT / "policy" / "mailwarden.yaml")]) == 0
    assert "valid (reputation: mode plan, 3 rules" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nreputation:\n  mode: yolo\n")
    assert main([str(bad)]) == 2
    assert "bad.yaml: line 3: reputation.mode" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("partner", "problem"),
    [
        ("catalogs: {Moon: {accessType: DENY_ALL}}", "line 4: partner.catalogs: Value error, unknown catalog Moon"),
        (
            "catalogs: {AWS: {accessType: ALLOW_BY_DEFAULT_DENY_SOME, excludedParticipantIds: ["
            + ", ".join(f"p-{i}" for i in range(101))
            + "]}}",
            "at most 100 items",
        ),
        (
            "catalogs: {AWS: {accessType: ALLOW_BY_DEFAULT_DENY_SOME, excludedParticipantIds: ['bad id!']}}",
            "partner.catalogs.AWS.excludedParticipantIds.0: String should match pattern",
        ),
        (
            "catalogs: {AWS: {accessType: ALLOW_ALL, excludedParticipantIds: [p-1]}}",
            "excludedParticipantIds only apply to accessType ALLOW_BY_DEFAULT_DENY_SOME",
        ),
        (
            "catalogs: {AWS: {accessType: ALLOW_BY_DEFAULT_DENY_SOME, excludedParticipantIds: [p-1, p-1]}}",
            "listed twice: p-1",
        ),
        ("catalogs: {AWS: {accessType: OPEN}}", "partner.catalogs.AWS.accessType"),
        ("requireApproval: sometimes", "partner.requireApproval"),
    ],
)
def test_partner_policy_errors_name_the_line_and_the_problem(partner, problem):
    text = f"version: 1\npartner:\n  mode: apply\n  {partner}\n"
    with pytest.raises(PolicyError, match=re.escape(problem)):
        parse_policy(text, "p.yaml")


def test_partner_policy_defaults_to_plan_and_widening_approval():
    p = parse_policy("version: 1\npartner: {catalogs: {AWS: {accessType: DENY_ALL}}}\n").partner
    assert (p.mode, p.require_approval, p.max_conflict_retries) == ("plan", "widening", 5)
    assert p.catalogs["AWS"].access.access_type == "DENY_ALL"
