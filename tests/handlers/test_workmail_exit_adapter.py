"""The WorkMail and S3 adapter calls an organization exit makes (``ExitDirectory``, ``Objects``),
through real boto3 clients against the emulator (no deployment: the adapter is all there is)."""

from __future__ import annotations

import math

import boto3
import pytest
from mailwarden.aws.documents import S3Objects
from mailwarden.aws.workmail import MEGABYTE, WorkMailDirectory
from mailwarden.errors import Conflict, UnknownOrganization

from local.emulator.workmail import EXPORT_RATIO

DOMAIN = "corp.example.com"
UNKNOWN_ORG = "m-" + "0" * 32


@pytest.fixture
def wm(emu):
    return boto3.client("workmail")


@pytest.fixture
def org(emu):
    return emu.control.add_organization("corp", DOMAIN)


@pytest.fixture
def directory(wm):
    return WorkMailDirectory(wm)


def test_mailbox_bytes_is_the_mailbox_size_in_bytes_or_none_without_a_mailbox(directory, wm, org, emu):
    users = emu.control.add_users(org, "alice", "bob")
    emu.control.set_mailbox_size(org, users["alice"], 3.5)
    emu.control.set_mailbox_size(org, users["bob"], 0)
    assert directory.mailbox_bytes(org, users["alice"]) == round(3.5 * MEGABYTE)
    assert directory.mailbox_bytes(org, f"bob@{DOMAIN}") == 0  # empty, not absent
    newbie = wm.create_user(OrganizationId=org, Name="newbie", DisplayName="Newbie")["UserId"]
    assert directory.mailbox_bytes(org, newbie) is None  # never registered: no mailbox
    assert directory.mailbox_bytes(org, "nobody") is None
    with pytest.raises(UnknownOrganization):
        directory.mailbox_bytes(UNKNOWN_ORG, users["alice"])


def test_mail_domains_lists_every_domain_with_the_records_workmail_needs(directory, org, emu):
    emu.control.add_mail_domain(org, "corp.example.net")
    got = {d.name: d for d in directory.mail_domains(org)}
    assert set(got) == {"corp.awsapps.com", DOMAIN, "corp.example.net"}
    assert got["corp.awsapps.com"].test and not got["corp.awsapps.com"].default
    assert got[DOMAIN].default and not got[DOMAIN].test and got[DOMAIN].ownership == "VERIFIED"
    records = got["corp.example.net"].records
    assert ("MX", "corp.example.net", "10 inbound-smtp.us-east-1.amazonaws.com") in records
    assert ("CNAME", "autodiscover.corp.example.net", "autodiscover.mail.us-east-1.awsapps.com") in records
    assert sum(1 for t, h, _ in records if t == "CNAME" and h.endswith("._domainkey.corp.example.net")) == 3
    assert ("TXT", "corp.example.net", "v=spf1 include:amazonses.com ~all") in records
    with pytest.raises(UnknownOrganization):
        directory.mail_domains(UNKNOWN_ORG)


def test_resources_come_with_booking_options_and_delegates(directory, wm, org, emu):
    users = emu.control.add_users(org, "alice")
    room = wm.create_resource(OrganizationId=org, Name="room-1", Type="ROOM")["ResourceId"]
    beamer = wm.create_resource(OrganizationId=org, Name="beamer", Type="EQUIPMENT")["ResourceId"]
    wm.update_resource(OrganizationId=org, ResourceId=room, BookingOptions={"AutoAcceptRequests": False})
    wm.associate_delegate_to_resource(OrganizationId=org, ResourceId=room, EntityId=users["alice"])
    wm.register_to_work_mail(OrganizationId=org, EntityId=room, Email=f"room-1@{DOMAIN}")
    wm.delete_resource(OrganizationId=org, ResourceId=beamer)
    got = {r.name: r for r in directory.resources(org)}
    assert got["room-1"].id == room and got["room-1"].email == f"room-1@{DOMAIN}" and got["room-1"].type == "ROOM"
    assert got["room-1"].state == "ENABLED" and got["room-1"].booking["AutoAcceptRequests"] is False
    assert got["room-1"].delegates == ((users["alice"], "USER"),)
    assert got["beamer"].state == "DELETED" and got["beamer"].delegates == ()


def test_group_and_resource_deletes_deregister_first_and_are_false_when_done_already(directory, wm, org, emu):
    group = wm.create_group(OrganizationId=org, Name="sales")["GroupId"]
    wm.register_to_work_mail(OrganizationId=org, EntityId=group, Email=f"sales@{DOMAIN}")
    room = wm.create_resource(OrganizationId=org, Name="room-1", Type="ROOM")["ResourceId"]
    assert directory.delete_group(org, group) is True  # ENABLED: deregistered, then deleted
    assert wm.describe_group(OrganizationId=org, GroupId=group)["State"] == "DELETED"
    assert directory.delete_group(org, group) is False
    assert directory.delete_resource(org, room) is True  # never registered: deleted at once
    assert directory.delete_resource(org, room) is False
    assert directory.delete_group(org, "no-such-group") is False
    assert emu.calls["workmail.DeregisterFromWorkMail"] == 1 and emu.calls["workmail.DeleteGroup"] == 1


def test_deregister_domain_is_false_when_gone_and_conflict_while_in_use(directory, wm, org, emu):
    emu.control.add_mail_domain(org, "corp.example.net")
    alice = emu.control.add_users(org, "alice")["alice"]
    wm.create_alias(OrganizationId=org, EntityId=alice, Alias="alice@corp.example.net")
    with pytest.raises(Conflict, match="MailDomainInUse"):
        directory.deregister_domain(org, "corp.example.net")
    with pytest.raises(Conflict, match="default"):
        directory.deregister_domain(org, DOMAIN)
    wm.delete_alias(OrganizationId=org, EntityId=alice, Alias="alice@corp.example.net")
    assert directory.deregister_domain(org, "corp.example.net") is True
    assert directory.deregister_domain(org, "corp.example.net") is False
    assert "corp.example.net" not in {d.name for d in directory.mail_domains(org)}


def test_delete_organization_is_conflict_while_a_user_is_enabled_then_true_then_false(directory, wm, org, emu):
    alice = emu.control.add_users(org, "alice")["alice"]
    with pytest.raises(Conflict, match="enabled user"):
        directory.delete_organization(org, token="exit-corp")
    assert directory.organization(org) == "Active"
    directory.deregister(org, alice)
    assert directory.delete_organization(org, token="exit-corp") is True
    assert directory.organization(org) == "Deleted"
    assert directory.delete_organization(org, token="exit-corp") is False
    with pytest.raises(UnknownOrganization):
        directory.users(org).__next__()  # every other call: OrganizationStateException
    with pytest.raises(UnknownOrganization):
        directory.delete_organization(UNKNOWN_ORG, token="t")


def test_s3_objects_size_is_the_export_size_or_none_when_the_export_wrote_nothing(wm, org, emu):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="exports")
    objects = S3Objects(s3)
    users = emu.control.add_users(org, "alice", "bob")
    emu.control.set_mailbox_size(org, users["alice"], 1.5)
    args = dict(
        OrganizationId=org,
        RoleArn="arn:aws:iam::123456789012:role/export",
        KmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/k",
        S3BucketName="exports",
        S3Prefix="wm",
    )
    kept = wm.start_mailbox_export_job(EntityId=users["alice"], ClientToken="a", **args)["JobId"]
    emu.control.lose_next_export(org)
    lost = wm.start_mailbox_export_job(EntityId=users["bob"], ClientToken="b", **args)["JobId"]
    emu.clock.advance(301)
    path = lambda job: wm.describe_mailbox_export_job(OrganizationId=org, JobId=job)["S3Path"]  # noqa: E731
    assert objects.size("exports", path(kept)) == math.ceil(1.5 * MEGABYTE * EXPORT_RATIO)
    assert objects.size("exports", path(lost)) is None
    s3.put_object(Bucket="exports", Key="wm/empty.zip", Body=b"")
    assert objects.size("exports", "wm/empty.zip") == 0  # present and empty: 0, not None


def test_the_exit_store_reads_one_mailbox_result_with_one_getitem_and_merges_writes(emu):
    from mailwarden.aws.exit import DynamoExitStore

    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="offboarding",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    store = DynamoExitStore(ddb, "offboarding", emu.clock)
    assert store.exit_user("exit-1", "u1") == {}
    store.record_exit_user("exit-1", "u1", {"export": "verified", "jobId": "j1"})
    store.record_exit_user("exit-1", "u1", {"deleted": True})
    store.record_exit_user("exit-1", "u2", {"export": "unverified"})
    before = emu.calls.copy()
    assert store.exit_user("exit-1", "u1") == {"export": "verified", "jobId": "j1", "deleted": True}
    assert emu.calls - before == {"dynamodb.GetItem": 1}
    assert store.exit_user("exit-2", "u1") == {}  # another exit's results are its own
    assert store.exit_users("exit-1") == {
        "u1": {"export": "verified", "jobId": "j1", "deleted": True},
        "u2": {"export": "unverified"},
    }
