"""workmail_offboard's steps invoked as Step Functions invokes them (the payload its task sends),
each against the emulated WorkMail: the normal path and each failure."""

from __future__ import annotations

import pytest
from mailwarden.aws.workmail import WorkMailDirectory
from mailwarden.errors import DeleteRefused, MalformedEvent, NotYetDisabled, Rejected

from local.deployment import LocalDeployment
from tests.workmail_support import REQUESTER, Org, acme, audit


@pytest.fixture
def org(deployment: LocalDeployment) -> Org:
    return acme(deployment)


def step(deployment: LocalDeployment, name: str, **payload):
    return deployment.invoke("workmail_offboard", {"step": name, **payload})


def snapshot(deployment: LocalDeployment, org: Org, user: str, rid: str = "r-1", **extra):
    request = {"requestId": rid, "organizationId": org.id, "user": user, "requestedBy": REQUESTER, "reason": "leaver"}
    return step(deployment, "snapshot", request={**request, **extra})


def test_snapshot_records_what_will_be_removed_once(deployment, org):
    first = snapshot(deployment, org, org.email("alice"), export=False)
    assert (first["groups"], first["grants"], first["delegations"], first["export"]) == (2, 2, 1, False)
    assert first["approvalRequest"]["action"] == "workmail.delete-user"
    org.wm.disassociate_member_from_group(
        OrganizationId=org.id, GroupId=org.groups["sales"], MemberId=org.users["alice"]
    )
    again = snapshot(deployment, org, org.email("alice"))
    assert again["groups"] == 2 and again["export"] is False  # the first snapshot stands
    assert [e["what"] for e in audit(deployment, org, "alice")] == ["workmail.snapshot"]


def test_snapshot_of_an_unknown_user_is_rejected_and_recorded(deployment, org):
    with pytest.raises(Rejected, match="no user ghost@acme.example.com"):
        snapshot(deployment, org, "ghost@acme.example.com")
    assert deployment.emu.calls["workmail.DeleteUser"] + deployment.emu.calls["workmail.DeregisterFromWorkMail"] == 0


def test_steps_without_a_snapshot_refuse_to_act(deployment, org):
    with pytest.raises(Rejected, match="no snapshot"):
        step(deployment, "deregister", requestId="never-snapshotted")
    assert org.state("alice") == "ENABLED"


def test_export_start_is_idempotent_and_a_failed_export_is_reported(deployment, org):
    snapshot(deployment, org, org.email("alice"))
    deployment.emu.control.fail_next_export(org.id, "KMS key disabled")
    job = step(deployment, "export-start", requestId="r-1")["jobId"]
    assert step(deployment, "export-start", requestId="r-1")["jobId"] == job  # same ClientToken, same job
    assert step(deployment, "export-status", requestId="r-1", jobId=job)["state"] == "RUNNING"
    deployment.emu.control.advance(301)
    status = step(deployment, "export-status", requestId="r-1", jobId=job)
    assert status["state"] == "FAILED" and "KMS key disabled" in status["error"]
    assert [e["outcome"] for e in audit(deployment, org, "alice")][-1] == "export-failed"


def _export_now(deployment: LocalDeployment, org: Org, name: str, token: str) -> str:
    """An export started outside this request (another tool, or a person)."""
    return str(
        org.wm.start_mailbox_export_job(
            OrganizationId=org.id,
            EntityId=org.users[name],
            ClientToken=token,
            RoleArn=deployment.export_role_arn,
            KmsKeyArn=deployment.export_key_arn,
            S3BucketName=deployment.export_bucket,
            S3Prefix="other",
        )["JobId"]
    )


def test_an_export_slot_shortage_is_retryable(deployment, org):
    from mailwarden.errors import ExportSlotsBusy

    for i in range(10):
        org.user(f"temp{i}")
        _export_now(deployment, org, f"temp{i}", f"t{i}")
    snapshot(deployment, org, org.email("alice"))
    with pytest.raises(ExportSlotsBusy):
        step(deployment, "export-start", requestId="r-1")
    deployment.emu.control.advance(301)
    assert step(deployment, "export-start", requestId="r-1")["jobId"]


def test_an_export_from_before_the_request_is_never_reused_the_request_waits_for_a_slot(deployment, org):
    """Issue 18: the mailbox's newest export of any age stood in, so the archive of a mailbox then
    deleted missed the days of mail since it was taken."""
    from mailwarden.errors import ExportSlotsBusy

    wm = deployment.emu.workmail
    snapshot(deployment, org, org.email("alice"))
    old = step(deployment, "export-start", requestId="r-1")["jobId"]
    deployment.emu.control.advance(3600)  # r-1's export COMPLETED an hour ago
    snapshot(deployment, org, org.email("alice"), rid="r-2")  # a second request the same day
    with pytest.raises(ExportSlotsBusy):  # one export per mailbox per 24 h, and r-1's is too old
        step(deployment, "export-start", requestId="r-2")
    assert [j.job_id for j in wm.orgs[org.id].exports.values() if j.entity_id == org.users["alice"]] == [old]
    deployment.emu.control.advance(24 * 3600)  # the mailbox may be exported again: r-2 gets its own
    fresh = step(deployment, "export-start", requestId="r-2")["jobId"]
    assert fresh != old


def test_only_a_completed_export_started_after_the_request_stands_in(deployment, org):
    from mailwarden.errors import ExportSlotsBusy

    snapshot(deployment, org, org.email("alice"))
    deployment.emu.control.advance(10)
    other = _export_now(deployment, org, "alice", "someone-else")  # after the request, still RUNNING
    with pytest.raises(ExportSlotsBusy):
        step(deployment, "export-start", requestId="r-1")
    deployment.emu.control.advance(301)  # now COMPLETED: it covers every mail up to the request
    assert step(deployment, "export-start", requestId="r-1")["jobId"] == other


def test_strip_removes_memberships_grants_and_delegations_and_a_rerun_finds_them_gone(deployment, org):
    snapshot(deployment, org, org.email("alice"))
    assert step(deployment, "strip", requestId="r-1") == {"groups": 2, "grants": 2, "delegations": 1, "alreadyGone": 0}
    # DeleteMailboxPermissions succeeds whether or not the grant exists; the other two say "not found".
    assert step(deployment, "strip", requestId="r-1") == {"groups": 0, "grants": 2, "delegations": 0, "alreadyGone": 3}
    assert org.access("alice")["groups"] == org.access("alice")["grants"] == org.access("alice")["delegations"] == []


def test_deregister_on_an_already_disabled_user_is_a_success(deployment, org):
    snapshot(deployment, org, org.email("alice"))
    org.wm.deregister_from_work_mail(OrganizationId=org.id, EntityId=org.users["alice"])
    assert step(deployment, "deregister", requestId="r-1") == {"changed": False}
    assert step(deployment, "confirm-disabled", requestId="r-1") == {"state": "DISABLED"}


def test_confirm_disabled_on_an_enabled_user_asks_to_wait(deployment, org):
    snapshot(deployment, org, org.email("alice"))
    with pytest.raises(NotYetDisabled):
        step(deployment, "confirm-disabled", requestId="r-1")


def test_delete_is_refused_unless_describe_user_says_disabled(deployment, org):
    snapshot(deployment, org, org.email("alice"))
    with pytest.raises(DeleteRefused, match="ENABLED"):
        step(deployment, "delete", requestId="r-1", approval={"approver": "ops-lead@example.com"})
    assert org.state("alice") == "ENABLED" and deployment.emu.calls["workmail.DeleteUser"] == 0
    step(deployment, "deregister", requestId="r-1")
    assert step(deployment, "delete", requestId="r-1", approval={"approver": "ops-lead@example.com"})["changed"]
    assert step(deployment, "delete", requestId="r-1", approval={}) == {"deleted": True, "changed": False}
    assert org.state("alice") == "DELETED" and deployment.emu.calls["workmail.DeleteUser"] == 1
    deleted = [e for e in audit(deployment, org, "alice") if e["outcome"] == "deleted"]
    assert deleted[0]["actor"] == "ops-lead@example.com"


def test_a_malformed_step_fails_the_task_with_the_reason(deployment):
    with pytest.raises(MalformedEvent, match="requestId"):
        step(deployment, "strip", requestId="has spaces")
    with pytest.raises(MalformedEvent, match="reason"):
        step(
            deployment,
            "snapshot",
            request={"requestId": "r", "organizationId": "m-" + "0" * 32, "user": "x", "requestedBy": "a"},
        )


def test_the_adapter_treats_every_deleteuser_answer_for_a_gone_user_as_already_deleted(deployment, org):
    """DeleteUser's model has no EntityNotFound: a user deleted meanwhile answers EntityStateException,
    an unknown one InvalidParameterException here (AWS may differ): DescribeUser decides."""
    directory = WorkMailDirectory(org.wm)
    org.wm.deregister_from_work_mail(OrganizationId=org.id, EntityId=org.users["alice"])
    assert directory.delete_user(org.id, org.users["alice"]) is True
    assert directory.delete_user(org.id, org.users["alice"]) is False  # EntityStateException: already deleted
    assert directory.delete_user(org.id, "12345678-1234-1234-1234-123456789012") is False  # unknown: nothing to do
    assert deployment.emu.dispatcher.outcomes["workmail.DeleteUser:EntityStateException"] == 1
    assert deployment.emu.dispatcher.outcomes["workmail.DeleteUser:InvalidParameterException"] == 1
    with pytest.raises(DeleteRefused, match="ENABLED again"):  # registered again between DescribeUser and DeleteUser
        directory.delete_user(org.id, org.users["bob"])
    assert org.state("bob") == "ENABLED"


def test_every_error_the_adapters_workmail_calls_model_becomes_a_domain_error(deployment):
    """Each WorkMail operation the adapter calls, each error its model lists: a domain error, so the
    offboarding is right whichever one AWS sends (InvalidParameterException, a bad request of ours,
    stays visible as it is; DeleteUser reads it)."""
    import ast
    from pathlib import Path

    from botocore import xform_name
    from botocore.exceptions import ClientError
    from mailwarden.aws import workmail as adapter
    from mailwarden.errors import MailwardenError

    model = deployment.emu.workmail.model
    source = Path(adapter.__file__).read_text()
    names = {n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    names |= {n.attr for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute)}
    called = sorted(op for op in model.operation_names if xform_name(op) in names)
    assert len(called) >= 15 and "DeleteUser" in called and "StartMailboxExportJob" in called
    for op in called:
        for shape in model.operation_model(op).error_shapes:
            err = ClientError({"Error": {"Code": shape.name, "Message": "m"}}, op)
            mapped = adapter._error(err)
            if shape.name == "InvalidParameterException":
                assert mapped is err
            else:
                assert isinstance(mapped, MailwardenError), (op, shape.name, mapped)


def test_after_a_failed_export_the_request_again_starts_a_new_one_not_the_failed_one(deployment, org):
    """A re-sent request (or a resumed decommission) reran export-start with the same ClientToken and
    got the FAILED job back, so its user could never be exported: a new token after a failure."""
    from mailwarden.errors import ExportCoolingDown

    snapshot(deployment, org, org.email("alice"))
    deployment.emu.control.fail_next_export(org.id, "KMS key disabled")
    failed = step(deployment, "export-start", requestId="r-1")["jobId"]
    deployment.emu.control.advance(301)
    assert step(deployment, "export-status", requestId="r-1", jobId=failed)["state"] == "FAILED"
    with pytest.raises(ExportCoolingDown, match="a new one from"):  # WorkMail: one export a day
        step(deployment, "export-start", requestId="r-1")
    deployment.emu.control.advance(24 * 3600)
    fresh = step(deployment, "export-start", requestId="r-1")["jobId"]
    assert fresh != failed and step(deployment, "export-start", requestId="r-1")["jobId"] == fresh
    deployment.emu.control.advance(301)
    assert step(deployment, "export-status", requestId="r-1", jobId=fresh)["state"] == "COMPLETED"
