"""The synthesized WorkMail offboarding resources: export bucket/key/role, IAM, the workflows."""

from __future__ import annotations

import json
from typing import Any

from mailwarden.contracts.workflows import EXPORT_CONCURRENCY

from tests.infra.test_approvals_infra import statements


def _definition(template: Any, suffix: str) -> dict[str, Any]:
    machines = template.find_resources("AWS::StepFunctions::StateMachine")
    props = next(m["Properties"] for m in machines.values() if m["Properties"]["StateMachineName"].endswith(suffix))
    text = props["DefinitionString"]
    return json.loads(
        text if isinstance(text, str) else "".join(p if isinstance(p, str) else "X" for p in text["Fn::Join"][1])
    )


def test_the_export_role_is_assumable_only_by_workmail_export_for_this_account(synth: Any) -> None:
    _, t = synth
    roles = t.find_resources("AWS::IAM::Role")
    [role] = [r for k, r in roles.items() if k.startswith("MailboxExportsRole")]
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "export.workmail.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}}
    writes = [s for s in statements(t, "MailboxExportsRole") if "s3:PutObject" in s["Action"]]
    assert "mailbox-exports/*" in json.dumps(writes[0]["Resource"])


def test_the_export_bucket_is_private_kms_encrypted_tls_only_and_retained(synth: Any) -> None:
    _, t = synth
    buckets = t.find_resources("AWS::S3::Bucket")
    [(name, bucket)] = [(k, b) for k, b in buckets.items() if k.startswith("MailboxExportsBucket")]
    props = bucket["Properties"]
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] == "aws:kms" and "MailboxExportsKey" in json.dumps(sse["KMSMasterKeyID"])
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["VersioningConfiguration"] == {"Status": "Enabled"} and "LoggingConfiguration" in props
    assert bucket["DeletionPolicy"] == "Retain"
    policies = [p for p in t.find_resources("AWS::S3::BucketPolicy").values() if name in json.dumps(p)]
    assert any(
        s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]
    )


def test_workmail_grants_are_per_action_on_organizations_and_delete_only_for_the_steps(synth: Any) -> None:
    _, t = synth
    for role, must, never in (
        ("WorkmailOffboardRole", "workmail:DeleteUser", "workmail:RegisterToWorkMail"),
        ("WorkmailTriggerRole", "workmail:RegisterToWorkMail", "workmail:DeleteUser"),
    ):
        wm = [s for s in statements(t, role) if any(str(a).startswith("workmail:") for a in s["Action"])]
        actions = [a for s in wm for a in s["Action"]]
        assert must in actions and never not in actions and all("*" not in a for a in actions)
        assert all(":organization/*" in json.dumps(s["Resource"]) for s in wm)
    passes = [s for s in statements(t, "WorkmailOffboardRole") if s["Action"] == "iam:PassRole"]
    assert len(passes) == 1 and "MailboxExportsRole" in json.dumps(passes[0]["Resource"])
    assert "iam:PassRole" not in json.dumps(statements(t, "WorkmailTriggerRole"))


def test_the_decommission_map_runs_at_most_ten_users_at_a_time_after_one_batch_approval(synth: Any) -> None:
    _, t = synth
    definition = _definition(t, "-workmail-decommission")
    states = definition["States"]
    users = states["OffboardUsers"]
    assert users["MaxConcurrency"] == EXPORT_CONCURRENCY == 10
    assert states["ApproveBatch"]["Next"] == "OffboardUsers"
    # each user is a child execution of a Distributed Map: its history and state are its own
    assert users["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert users["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"  # the users never enter the state
    assert users["ResultPath"] is None and users["ToleratedFailurePercentage"] == 100
    inner = users["ItemProcessor"]["States"]
    assert "UserApproveDelete" not in inner and inner["UserConfirmDisabled"]["Next"] == "UserDelete"
    ends = [n for n, st in inner.items() if st.get("Next") == "UserRecord"]
    outcomes = ["Deleted", "Rejected", "ExportFailed", "ExportTimedOut", "NotDisabled", "DeleteRefused", "Failed"]
    assert sorted(ends) == sorted(f"User{o}" for o in outcomes)
    assert inner["UserRecorded"] == {"Type": "Pass", "OutputPath": "$.recorded.result", "End": True}
    granted = json.dumps(statements(t, "WorkflowsWorkmailDecommissionRole"))
    assert "states:StartExecution" in granted and "decommissions/*" in granted and "kms:Decrypt" in granted
    single = _definition(t, "-workmail-offboard")["States"]
    assert single["ConfirmDisabled"]["Next"] == "ApproveDelete" and single["ApproveDelete"]["Next"] == "Delete"
    assert single["StartExport"]["Next"] == "WaitForExport" and single["WaitForExport"]["Next"] == "PollExport"
    assert single["Exported"]["Default"] == "WaitAgain" and single["WaitAgain"]["Next"] == "PollExport"
    assert single["WaitAgain"]["SecondsPath"] == "$.exportStatus.result.pollAfterSeconds"  # backs off, bounded
    assert single["Exported"]["Choices"][-1] == {
        "Variable": "$.exportStatus.result.state",
        "StringEquals": "TIMED_OUT",
        "Next": "ExportTimedOut",
    }
    assert single["Strip"]["Next"] == "Deregister"


def _actions(t: Any, role: str) -> list[str]:
    return [a for s in statements(t, role) for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]


def test_only_the_exit_steps_may_delete_an_organization_and_its_domains(synth: Any) -> None:
    _, t = synth
    exit_actions = _actions(t, "WorkmailExitRole")
    for action in (
        "workmail:DeleteOrganization",
        "workmail:DeregisterMailDomain",
        "workmail:DeleteGroup",
        "workmail:GetMailboxDetails",
        "route53:ChangeResourceRecordSets",
        "states:StopExecution",
    ):
        assert action in exit_actions, action
    assert all("*" not in a for a in exit_actions)
    for key, policy in t.find_resources("AWS::IAM::Policy").items():
        if not key.startswith("WorkmailExitRole"):
            assert "workmail:DeleteOrganization" not in json.dumps(policy), key
    stops = [s for s in statements(t, "WorkmailExitRole") if "states:StopExecution" in s["Action"]]
    assert all("workmail-exit:*" in json.dumps(s["Resource"]) for s in stops)
    reads = [
        s for s in statements(t, "WorkmailExitRole") if s["Action"] == "s3:GetObject" or s["Action"] == ["s3:GetObject"]
    ]
    assert any("mailbox-exports/*" in json.dumps(s["Resource"]) for s in reads)  # HeadObject of each archive


def test_the_exit_workflow_exports_and_deletes_in_distributed_maps_of_ten(synth: Any) -> None:
    _, t = synth
    states = _definition(t, "workmail-exit")["States"]
    for name in ("ExportMailboxes", "DeleteUsers"):
        m = states[name]
        assert m["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        assert m["MaxConcurrency"] == EXPORT_CONCURRENCY and "ItemReader" in m
    assert states["ApproveCutover"]["Next"] == "Cutover" and states["ApproveDelete"]["Next"] == "Deleting"
    assert states["SoakWait"]["SecondsPath"] == "$.soak.result.waitSeconds"
    trigger = [s for s in statements(t, "WorkmailTriggerRole") if "states:StartExecution" in s["Action"]]
    assert "workmail-exit-rollback" in json.dumps(trigger) and "workmail-exit" in json.dumps(trigger)
