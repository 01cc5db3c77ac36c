"""Emulated WorkMail: entities, memberships, delegates, permissions, aliases, lifecycle, exports."""

from __future__ import annotations

import boto3
import pytest


@pytest.fixture
def wm(emu):
    return boto3.client("workmail")


@pytest.fixture
def org(emu):
    return emu.control.add_organization("corp", "corp.example.com")


def user(wm, org, name, register=True):
    uid = wm.create_user(OrganizationId=org, Name=name, DisplayName=name.title())["UserId"]
    if register:
        wm.register_to_work_mail(OrganizationId=org, EntityId=uid, Email=f"{name}@corp.example.com")
    return uid


def test_user_lifecycle_register_deregister_delete(wm, org):
    uid = user(wm, org, "alice", register=False)
    assert wm.describe_user(OrganizationId=org, UserId=uid)["State"] == "DISABLED"
    wm.register_to_work_mail(OrganizationId=org, EntityId=uid, Email="alice@corp.example.com")
    assert wm.describe_user(OrganizationId=org, UserId=uid)["State"] == "ENABLED"
    with pytest.raises(wm.exceptions.EntityStateException, match="DISABLED"):
        wm.delete_user(OrganizationId=org, UserId=uid)
    wm.deregister_from_work_mail(OrganizationId=org, EntityId=uid)
    with pytest.raises(wm.exceptions.EntityStateException):
        wm.deregister_from_work_mail(OrganizationId=org, EntityId=uid)  # already deregistered
    d = wm.describe_user(OrganizationId=org, UserId=uid)
    assert d["State"] == "DISABLED" and "DisabledDate" in d
    wm.delete_user(OrganizationId=org, UserId=uid)
    assert wm.describe_user(OrganizationId=org, UserId=uid)["State"] == "DELETED"
    with pytest.raises(wm.exceptions.EntityStateException, match="already deleted"):  # modelled; no EntityNotFound
        wm.delete_user(OrganizationId=org, UserId=uid)


def test_delete_user_takes_the_user_name_and_answers_only_modelled_errors(wm, org):
    uid = user(wm, org, "dave")
    wm.deregister_from_work_mail(OrganizationId=org, EntityId=uid)
    with pytest.raises(wm.exceptions.InvalidParameterException):  # an email is not a DeleteUser identifier
        wm.delete_user(OrganizationId=org, UserId="dave@corp.example.com")
    wm.delete_user(OrganizationId=org, UserId="dave")  # the model: "the UserId or Username"
    assert wm.describe_user(OrganizationId=org, UserId=uid)["State"] == "DELETED"
    with pytest.raises(wm.exceptions.EntityStateException):
        wm.delete_user(OrganizationId=org, UserId="dave")
    with pytest.raises(wm.exceptions.InvalidParameterException, match="not a user"):
        wm.delete_user(OrganizationId=org, UserId="nobody")
    gid = wm.create_group(OrganizationId=org, Name="sales")["GroupId"]
    with pytest.raises(wm.exceptions.InvalidParameterException):
        wm.delete_user(OrganizationId=org, UserId=gid)
    again = user(wm, org, "dave", register=False)  # the name is free again; by name: the live user
    assert wm.describe_user(OrganizationId=org, UserId="dave")["UserId"] == again
    wm.delete_user(OrganizationId=org, UserId="dave")
    assert wm.describe_user(OrganizationId=org, UserId=again)["State"] == "DELETED"


def test_unknown_organization_and_entity_raise_documented_errors(wm, org):
    with pytest.raises(wm.exceptions.OrganizationNotFoundException):
        wm.describe_user(OrganizationId="m-" + "0" * 32, UserId="x")
    with pytest.raises(wm.exceptions.EntityNotFoundException):
        wm.describe_user(OrganizationId=org, UserId="nobody")
    gid = wm.create_group(OrganizationId=org, Name="sales")["GroupId"]
    with pytest.raises(wm.exceptions.EntityNotFoundException):
        wm.describe_user(OrganizationId=org, UserId=gid)  # a group id is not a user


def test_model_validation_rejects_bad_values(wm, org):
    with pytest.raises(wm.exceptions.InvalidParameterException, match="OrganizationId: .* does not match pattern"):
        wm.describe_user(OrganizationId="m-" + "Z" * 32, UserId="x")  # passes botocore's length check
    uid = user(wm, org, "bob")
    with pytest.raises(wm.exceptions.InvalidParameterException, match="is not one of"):
        wm.put_mailbox_permissions(OrganizationId=org, EntityId=uid, GranteeId=uid, PermissionValues=["READ"])


def test_memberships_delegates_permissions_and_aliases(wm, org):
    alice, bob = user(wm, org, "alice"), user(wm, org, "bob")
    gid = wm.create_group(OrganizationId=org, Name="sales")["GroupId"]
    rid = wm.create_resource(OrganizationId=org, Name="room-1", Type="ROOM")["ResourceId"]
    wm.associate_member_to_group(OrganizationId=org, GroupId=gid, MemberId=alice)
    wm.associate_delegate_to_resource(OrganizationId=org, ResourceId=rid, EntityId=alice)
    wm.put_mailbox_permissions(OrganizationId=org, EntityId=alice, GranteeId=bob, PermissionValues=["FULL_ACCESS"])
    wm.create_alias(OrganizationId=org, EntityId=alice, Alias="a.smith@corp.example.com")
    assert [g["GroupId"] for g in wm.list_groups_for_entity(OrganizationId=org, EntityId=alice)["Groups"]] == [gid]
    assert [m["Id"] for m in wm.list_group_members(OrganizationId=org, GroupId=gid)["Members"]] == [alice]
    assert wm.list_resource_delegates(OrganizationId=org, ResourceId=rid)["Delegates"] == [
        {"Id": alice, "Type": "USER"}
    ]
    perms = wm.list_mailbox_permissions(OrganizationId=org, EntityId=alice)["Permissions"]
    assert perms == [{"GranteeId": bob, "GranteeType": "USER", "PermissionValues": ["FULL_ACCESS"]}]
    assert wm.list_aliases(OrganizationId=org, EntityId=alice)["Aliases"] == ["a.smith@corp.example.com"]
    with pytest.raises(wm.exceptions.EmailAddressInUseException):
        wm.create_alias(OrganizationId=org, EntityId=bob, Alias="a.smith@corp.example.com")
    with pytest.raises(wm.exceptions.MailDomainNotFoundException):
        wm.create_alias(OrganizationId=org, EntityId=bob, Alias="bob@elsewhere.org")
    wm.disassociate_member_from_group(OrganizationId=org, GroupId=gid, MemberId=alice)
    with pytest.raises(wm.exceptions.EntityNotFoundException):
        wm.disassociate_member_from_group(OrganizationId=org, GroupId=gid, MemberId=alice)


def test_list_users_paginates_with_next_token(wm, org):
    for i in range(230):
        user(wm, org, f"u{i:03d}", register=False)
    pages = list(wm.get_paginator("list_users").paginate(OrganizationId=org, PaginationConfig={"PageSize": 100}))
    assert [len(p["Users"]) for p in pages] == [100, 100, 30]
    enabled = wm.list_users(OrganizationId=org, Filters={"State": "ENABLED"})["Users"]
    assert enabled == []


def test_export_jobs_complete_on_the_virtual_clock_and_respect_limits(wm, org, emu):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="exports")
    users = [user(wm, org, f"e{i}") for i in range(11)]
    args = dict(
        OrganizationId=org,
        RoleArn="arn:aws:iam::123456789012:role/export",
        KmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/k",
        S3BucketName="exports",
        S3Prefix="wm",
    )
    jobs = [
        wm.start_mailbox_export_job(ClientToken=f"t{i}", EntityId=u, **args)["JobId"] for i, u in enumerate(users[:10])
    ]
    assert wm.start_mailbox_export_job(ClientToken="t0", EntityId=users[0], **args)["JobId"] == jobs[0]  # idempotent
    with pytest.raises(wm.exceptions.LimitExceededException, match="concurrent"):
        wm.start_mailbox_export_job(ClientToken="t10", EntityId=users[10], **args)
    assert wm.describe_mailbox_export_job(OrganizationId=org, JobId=jobs[0])["State"] == "RUNNING"
    emu.clock.advance(301)
    job = wm.describe_mailbox_export_job(OrganizationId=org, JobId=jobs[0])
    assert job["State"] == "COMPLETED" and job["EstimatedProgress"] == 100
    assert s3.get_object(Bucket="exports", Key=job["S3Path"])["Body"].read().startswith(b"mailbox export")
    with pytest.raises(wm.exceptions.LimitExceededException, match="24 hours"):
        wm.start_mailbox_export_job(ClientToken="again", EntityId=users[0], **args)
    wm.start_mailbox_export_job(ClientToken="t10", EntityId=users[10], **args)  # a slot is free now


def test_export_fails_when_the_bucket_does_not_exist(wm, org, emu):
    uid = user(wm, org, "carol")
    job = wm.start_mailbox_export_job(
        ClientToken="c",
        OrganizationId=org,
        EntityId=uid,
        RoleArn="arn:aws:iam::123456789012:role/export",
        KmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/k",
        S3BucketName="missing",
        S3Prefix="wm",
    )["JobId"]
    emu.clock.advance(301)
    out = wm.describe_mailbox_export_job(OrganizationId=org, JobId=job)
    assert out["State"] == "FAILED" and "missing" in out["ErrorInfo"]


def test_list_mailbox_export_jobs_lists_only_the_last_seven_days(wm, org, emu):
    boto3.client("s3").create_bucket(Bucket="exports")
    args = dict(
        OrganizationId=org,
        RoleArn="arn:aws:iam::123456789012:role/export",
        KmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/k",
        S3BucketName="exports",
        S3Prefix="wm",
    )
    old = wm.start_mailbox_export_job(ClientToken="old", EntityId=user(wm, org, "old"), **args)["JobId"]
    emu.clock.advance(6 * 86400)
    new = wm.start_mailbox_export_job(ClientToken="new", EntityId=user(wm, org, "new"), **args)["JobId"]
    listed = lambda: [j["JobId"] for j in wm.list_mailbox_export_jobs(OrganizationId=org)["Jobs"]]  # noqa: E731
    assert sorted(listed()) == sorted([old, new])
    emu.clock.advance(86400 + 1)  # the first job started more than seven days ago
    assert listed() == [new]
    assert wm.describe_mailbox_export_job(OrganizationId=org, JobId=old)["State"] == "COMPLETED"
