from __future__ import annotations

import pytest

from infra.config import StackConfig, from_context


def test_defaults_are_documented_and_safe():
    c = from_context(lambda key: None)
    assert c == StackConfig()
    assert (c.stage, c.log_retention_days) == ("dev", 90)
    policy = c.load_policy()
    assert policy.version == 1 and policy.reputation.mode == "plan"  # a new deployment only plans


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("mailwarden:approverEmails", ["not-an-email"], "mailwarden:approverEmails"),
        ("mailwarden:logRetentionDays", 45, "CloudWatch Logs accepts only"),
        ("mailwarden:workmailOrganizationId", "corp", "mailwarden:workmailOrganizationId"),
        ("mailwarden:reconcileSchedule", "every hour", "rate(N unit)"),
        ("mailwarden:bogus", 1, None),  # unknown keys outside the model are simply not read
    ],
)
def test_bad_context_fails_naming_the_key(key, value, message):
    get = {key: value}.get
    if message is None:
        assert from_context(get) == StackConfig()
        return
    with pytest.raises(ValueError, match="invalid cdk.json context") as exc:
        from_context(get)
    assert message in str(exc.value)


def test_missing_policy_file_fails_with_its_path(tmp_path):
    c = StackConfig(policyFile=str(tmp_path / "nope.yaml"))
    with pytest.raises(ValueError, match="does not exist"):
        c.load_policy()


def test_unparseable_policy_file_names_the_line(tmp_path):
    bad = tmp_path / "policy.yaml"
    bad.write_text("version: 1\nrules:\n  - name: [unclosed\n")
    with pytest.raises(ValueError, match=r"policy.yaml: line 4"):
        StackConfig(policyFile=str(bad)).load_policy()
