"""Emulated WorkMail: entities, memberships, delegates, permissions, aliases, lifecycle, exports."""

from __future__ import annotations

import math

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


# ---------------------------------------------------------------------------- organization exit: mail domains

REGION = "us-east-1"


def domains(wm, org):
    return {d["DomainName"]: d["DefaultDomain"] for d in wm.list_mail_domains(OrganizationId=org)["MailDomains"]}


def test_every_organization_keeps_its_test_domain_and_mail_domains_page(wm, org):
    assert domains(wm, org) == {"corp.awsapps.com": False, "corp.example.com": True}
    bare = wm.create_organization(Alias="bare")["OrganizationId"]
    assert domains(wm, bare) == {"bare.awsapps.com": True}  # the test domain is the initial default
    test = wm.get_mail_domain(OrganizationId=bare, DomainName="bare.awsapps.com")
    assert test["IsTestDomain"] and test["IsDefault"] and test["Records"] == []
    assert test["OwnershipVerificationStatus"] == test["DkimVerificationStatus"] == "VERIFIED"
    for i in range(5):
        wm.register_mail_domain(OrganizationId=org, DomainName=f"brand{i}.example")
    pages, kwargs = [], {"OrganizationId": org, "MaxResults": 2}
    while True:
        page = wm.list_mail_domains(**kwargs)
        pages.append([d["DomainName"] for d in page["MailDomains"]])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    assert [len(p) for p in pages] == [2, 2, 2, 1] and len({d for p in pages for d in p}) == 7
    with pytest.raises(wm.exceptions.MailDomainNotFoundException):
        wm.get_mail_domain(OrganizationId=org, DomainName="unknown.example")


def test_a_registered_domain_lists_workmails_records_and_is_verified_once_they_are_in_route53(wm, org, emu):
    wm.register_mail_domain(OrganizationId=org, DomainName="New.Example", ClientToken="reg-1")
    wm.register_mail_domain(OrganizationId=org, DomainName="new.example", ClientToken="reg-1")  # a retry
    with pytest.raises(wm.exceptions.MailDomainInUseException):
        wm.register_mail_domain(OrganizationId=org, DomainName="new.example", ClientToken="reg-2")
    other = emu.control.add_organization("other")
    with pytest.raises(wm.exceptions.MailDomainInUseException):  # one organization per domain in the account
        wm.register_mail_domain(OrganizationId=other, DomainName="new.example")
    got = wm.get_mail_domain(OrganizationId=org, DomainName="new.example")
    assert not got["IsTestDomain"] and not got["IsDefault"]
    assert got["OwnershipVerificationStatus"] == got["DkimVerificationStatus"] == "PENDING"
    records = {(r["Type"], r["Hostname"]): r["Value"] for r in got["Records"]}
    assert len(records) == len(got["Records"]) == 8
    assert records[("MX", "new.example")] == f"10 inbound-smtp.{REGION}.amazonaws.com"
    assert records[("CNAME", "autodiscover.new.example")] == f"autodiscover.mail.{REGION}.awsapps.com"
    assert records[("TXT", "new.example")] == "v=spf1 include:amazonses.com ~all"
    assert records[("TXT", "_dmarc.new.example")].startswith("v=DMARC1;")
    assert len(records[("TXT", "_amazonses.new.example")]) == 44  # SES's base64 verification token
    dkim = {h: v for (t, h), v in records.items() if h.endswith("._domainkey.new.example")}
    assert len(dkim) == 3 and all(v == h.split(".")[0] + ".dkim.amazonses.com" for h, v in dkim.items())
    uid = user(wm, org, "nina", register=False)
    with pytest.raises(wm.exceptions.MailDomainStateException):  # not verified yet
        wm.register_to_work_mail(OrganizationId=org, EntityId=uid, Email="nina@new.example")
    r53 = boto3.client("route53")
    zone = r53.create_hosted_zone(Name="new.example", CallerReference="z")["HostedZone"]["Id"]
    emu.control.publish_mail_domain(org, "new.example", zone)
    got = wm.get_mail_domain(OrganizationId=org, DomainName="new.example")
    assert got["OwnershipVerificationStatus"] == got["DkimVerificationStatus"] == "VERIFIED"
    wm.register_to_work_mail(OrganizationId=org, EntityId=uid, Email="nina@new.example")
    wm.update_default_mail_domain(OrganizationId=org, DomainName="new.example")
    assert domains(wm, org)["new.example"] and not domains(wm, org)["corp.example.com"]
    assert wm.describe_organization(OrganizationId=org)["DefaultMailDomain"] == "new.example"


def test_publishing_a_domain_merges_an_existing_spf_record_and_keeps_other_txt_values(wm, org, emu):
    r53 = boto3.client("route53")
    zone = r53.create_hosted_zone(Name="shop.example", CallerReference="z")["HostedZone"]["Id"]
    apex = {"Name": "shop.example.", "Type": "TXT", "TTL": 300}
    existing = ['"v=spf1 include:_spf.google.com ~all"', '"google-site-verification=abc"']
    rrset = {**apex, "ResourceRecords": [{"Value": v} for v in existing]}
    r53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": rrset}]}
    )
    records = emu.control.add_mail_domain(org, "shop.example")
    assert {r["Type"] for r in records} == {"TXT", "MX", "CNAME"}
    emu.control.publish_mail_domain(org, "shop.example", zone)
    sets = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    txt = sorted(
        v["Value"] for s in sets if s["Name"] == "shop.example." and s["Type"] == "TXT" for v in s["ResourceRecords"]
    )
    assert txt == ['"google-site-verification=abc"', '"v=spf1 include:_spf.google.com include:amazonses.com ~all"']
    mx = [s for s in sets if s["Name"] == "shop.example." and s["Type"] == "MX"]
    assert [r["Value"] for r in mx[0]["ResourceRecords"]] == [f"10 inbound-smtp.{REGION}.amazonaws.com"]
    assert len([s for s in sets if s["Type"] == "CNAME"]) == 4  # autodiscover and the three DKIM names


def test_deregister_mail_domain_refuses_the_default_domain_and_a_domain_still_in_use(wm, org, emu):
    emu.control.add_mail_domain(org, "extra.example")
    alice = user(wm, org, "alice")
    wm.create_alias(OrganizationId=org, EntityId=alice, Alias="alice@extra.example")
    with pytest.raises(wm.exceptions.MailDomainInUseException, match="user alice"):
        wm.deregister_mail_domain(OrganizationId=org, DomainName="extra.example")
    wm.delete_alias(OrganizationId=org, EntityId=alice, Alias="alice@extra.example")
    room = wm.create_resource(OrganizationId=org, Name="room-9", Type="ROOM")["ResourceId"]
    wm.register_to_work_mail(OrganizationId=org, EntityId=room, Email="room-9@extra.example")
    with pytest.raises(wm.exceptions.MailDomainInUseException, match="resource room-9"):
        wm.deregister_mail_domain(OrganizationId=org, DomainName="extra.example")
    wm.deregister_from_work_mail(OrganizationId=org, EntityId=room)  # a DISABLED entity still holds its email
    wm.delete_resource(OrganizationId=org, ResourceId=room)
    wm.deregister_mail_domain(OrganizationId=org, DomainName="extra.example")
    assert "extra.example" not in domains(wm, org)
    wm.deregister_mail_domain(OrganizationId=org, DomainName="extra.example")  # gone already: a success
    with pytest.raises(wm.exceptions.MailDomainInUseException, match="default"):
        wm.deregister_mail_domain(OrganizationId=org, DomainName="corp.example.com")
    with pytest.raises(wm.exceptions.InvalidParameterException, match="test domain"):
        wm.deregister_mail_domain(OrganizationId=org, DomainName="corp.awsapps.com")
    with pytest.raises(wm.exceptions.MailDomainNotFoundException):
        wm.create_alias(OrganizationId=org, EntityId=alice, Alias="a@extra.example")


# ---------------------------------------------------------------------------- mailbox sizes, groups, resources


def test_get_mailbox_details_reports_the_emulated_size_while_the_user_has_a_mailbox(wm, org, emu):
    alice, bob = user(wm, org, "alice"), user(wm, org, "bob")
    fresh = wm.get_mailbox_details(OrganizationId=org, UserId=alice)
    assert fresh["MailboxSize"] > 0 and fresh["MailboxQuota"] == 51_200  # a fresh mailbox is not empty
    emu.control.set_mailbox_size(org, "alice", 12.5)
    emu.control.set_mailbox_size(org, bob, 0)
    assert wm.get_mailbox_details(OrganizationId=org, UserId="alice@corp.example.com")["MailboxSize"] == 12.5
    assert wm.get_mailbox_details(OrganizationId=org, UserId=bob)["MailboxSize"] == 0
    newbie = user(wm, org, "newbie", register=False)
    with pytest.raises(wm.exceptions.EntityNotFoundException, match="no mailbox"):  # never registered
        wm.get_mailbox_details(OrganizationId=org, UserId=newbie)
    wm.deregister_from_work_mail(OrganizationId=org, EntityId=alice)
    assert wm.get_mailbox_details(OrganizationId=org, UserId=alice)["MailboxSize"] == 12.5  # kept 30 days
    emu.clock.advance(30 * 86400 + 1)
    with pytest.raises(wm.exceptions.EntityNotFoundException):
        wm.get_mailbox_details(OrganizationId=org, UserId=alice)
    wm.deregister_from_work_mail(OrganizationId=org, EntityId=bob)
    wm.delete_user(OrganizationId=org, UserId=bob)
    with pytest.raises(wm.exceptions.EntityNotFoundException):
        wm.get_mailbox_details(OrganizationId=org, UserId=bob)
    with pytest.raises(wm.exceptions.EntityNotFoundException):
        wm.get_mailbox_details(OrganizationId=org, UserId="nobody")


def test_groups_are_deleted_once_disabled_and_leave_their_parent_groups(wm, org):
    outer = wm.create_group(OrganizationId=org, Name="all-staff")["GroupId"]
    inner = wm.create_group(OrganizationId=org, Name="sales")["GroupId"]
    wm.register_to_work_mail(OrganizationId=org, EntityId=inner, Email="sales@corp.example.com")
    wm.associate_member_to_group(OrganizationId=org, GroupId=outer, MemberId=inner)
    with pytest.raises(wm.exceptions.EntityStateException, match="DISABLED"):
        wm.delete_group(OrganizationId=org, GroupId=inner)
    wm.deregister_from_work_mail(OrganizationId=org, EntityId=inner)
    wm.delete_group(OrganizationId=org, GroupId="sales")  # by name, as modelled
    assert wm.describe_group(OrganizationId=org, GroupId=inner)["State"] == "DELETED"
    assert wm.list_group_members(OrganizationId=org, GroupId=outer)["Members"] == []
    with pytest.raises(wm.exceptions.EntityStateException, match="already deleted"):
        wm.delete_group(OrganizationId=org, GroupId=inner)
    with pytest.raises(wm.exceptions.InvalidParameterException):  # DeleteGroup models no EntityNotFound
        wm.delete_group(OrganizationId=org, GroupId="nobody")
    assert wm.create_group(OrganizationId=org, Name="sales")["GroupId"] != inner  # the name is free again


def test_resources_keep_booking_options_and_are_deleted_once_disabled(wm, org):
    bob = user(wm, org, "bob")
    rid = wm.create_resource(OrganizationId=org, Name="room-1", Type="ROOM")["ResourceId"]
    d = wm.describe_resource(OrganizationId=org, ResourceId=rid)
    assert d["BookingOptions"] == {
        "AutoAcceptRequests": True,
        "AutoDeclineRecurringRequests": False,
        "AutoDeclineConflictingRequests": True,
    }
    wm.update_resource(OrganizationId=org, ResourceId=rid, BookingOptions={"AutoAcceptRequests": False})
    wm.associate_delegate_to_resource(OrganizationId=org, ResourceId=rid, EntityId=bob)
    assert wm.describe_resource(OrganizationId=org, ResourceId=rid)["BookingOptions"]["AutoAcceptRequests"] is False
    with pytest.raises(wm.exceptions.NameAvailabilityException):
        wm.update_resource(OrganizationId=org, ResourceId=rid, Name="bob")
    wm.register_to_work_mail(OrganizationId=org, EntityId=rid, Email="room-1@corp.example.com")
    with pytest.raises(wm.exceptions.EntityStateException, match="DISABLED"):
        wm.delete_resource(OrganizationId=org, ResourceId=rid)
    wm.deregister_from_work_mail(OrganizationId=org, EntityId=rid)
    wm.delete_resource(OrganizationId=org, ResourceId=rid)
    assert wm.describe_resource(OrganizationId=org, ResourceId=rid)["State"] == "DELETED"
    with pytest.raises(wm.exceptions.EntityStateException):
        wm.delete_resource(OrganizationId=org, ResourceId=rid)
    with pytest.raises(wm.exceptions.EntityStateException):
        wm.update_resource(OrganizationId=org, ResourceId=rid, Description="gone")
    with pytest.raises(wm.exceptions.InvalidParameterException):
        wm.delete_resource(OrganizationId=org, ResourceId=bob)  # a user is not a resource


# ---------------------------------------------------------------------------- DeleteOrganization


def test_delete_organization_is_refused_while_a_user_is_enabled_unless_forced(wm, org, emu):
    alice = user(wm, org, "alice")
    with pytest.raises(wm.exceptions.OrganizationStateException, match="1 enabled user"):
        wm.delete_organization(OrganizationId=org, DeleteDirectory=True, ClientToken="close-1")
    assert wm.describe_organization(OrganizationId=org)["State"] == "Active"
    wm.deregister_from_work_mail(OrganizationId=org, EntityId=alice)
    out = wm.delete_organization(OrganizationId=org, DeleteDirectory=True, ClientToken="close-1")
    assert out == {"OrganizationId": org, "State": "Deleted", "ResponseMetadata": out["ResponseMetadata"]}
    assert wm.describe_organization(OrganizationId=org)["State"] == "Deleted"
    assert wm.delete_organization(OrganizationId=org, DeleteDirectory=True, ClientToken="close-1")["State"] == "Deleted"
    with pytest.raises(wm.exceptions.OrganizationStateException, match="state: Deleted"):
        wm.delete_organization(OrganizationId=org, DeleteDirectory=True, ClientToken="close-2")
    with pytest.raises(wm.exceptions.OrganizationStateException, match="state: Deleted"):
        wm.list_users(OrganizationId=org)
    with pytest.raises(wm.exceptions.OrganizationStateException):
        wm.list_mail_domains(OrganizationId=org)
    listed = {o["OrganizationId"]: o["State"] for o in wm.list_organizations()["OrganizationSummaries"]}
    assert listed[org] == "Deleted"
    forced = emu.control.add_organization("forced", "forced.example.com")
    emu.control.add_users(forced, "zed")
    wm.delete_organization(OrganizationId=forced, DeleteDirectory=False, ForceDelete=True)
    assert wm.describe_organization(OrganizationId=forced)["State"] == "Deleted"
    wm.register_mail_domain(OrganizationId=emu.control.add_organization("heir"), DomainName="forced.example.com")
    with pytest.raises(wm.exceptions.OrganizationNotFoundException):
        wm.delete_organization(OrganizationId="m-" + "0" * 32, DeleteDirectory=True)


# ---------------------------------------------------------------------------- export objects


EXPORT_ARGS = dict(
    RoleArn="arn:aws:iam::123456789012:role/export",
    KmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/k",
    S3BucketName="exports",
    S3Prefix="wm",
)


def test_an_export_archive_is_sized_by_the_mailbox_and_the_faults_empty_or_lose_it(wm, org, emu):
    from local.emulator.workmail import EXPORT_RATIO

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="exports")
    sizes = {"big": 2.0, "empty": 0.0, "fresh": None, "hollow": 3.0, "lost": 3.0}
    ids = {name: user(wm, org, name) for name in sizes}
    for name, mb in sizes.items():
        if mb is not None:
            emu.control.set_mailbox_size(org, ids[name], mb)
    jobs = {}
    for name in ("big", "empty", "fresh"):
        jobs[name] = wm.start_mailbox_export_job(
            OrganizationId=org, EntityId=ids[name], ClientToken=name, **EXPORT_ARGS
        )
    emu.control.empty_next_export(org)
    jobs["hollow"] = wm.start_mailbox_export_job(
        OrganizationId=org, EntityId=ids["hollow"], ClientToken="h", **EXPORT_ARGS
    )
    emu.control.lose_next_export(org)
    jobs["lost"] = wm.start_mailbox_export_job(OrganizationId=org, EntityId=ids["lost"], ClientToken="l", **EXPORT_ARGS)
    emu.clock.advance(301)
    got = {}
    for name, job in jobs.items():
        d = wm.describe_mailbox_export_job(OrganizationId=org, JobId=job["JobId"])
        assert d["State"] == "COMPLETED" and d["S3Path"], name  # every job says it completed
        try:
            got[name] = s3.head_object(Bucket="exports", Key=d["S3Path"])["ContentLength"]
        except s3.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "404"
            got[name] = None
    fresh_mb = wm.get_mailbox_details(OrganizationId=org, UserId=ids["fresh"])["MailboxSize"]
    assert got == {
        "big": math.ceil(2 * 1024 * 1024 * EXPORT_RATIO),
        "empty": 22,  # an empty zip
        "fresh": math.ceil(fresh_mb * 1024 * 1024 * EXPORT_RATIO),
        "hollow": 22,  # empty although the mailbox holds 3 MB
        "lost": None,  # no object at all
    }
    body = s3.get_object(Bucket="exports", Key=f"wm/{jobs['empty']['JobId']}.zip")["Body"].read()
    assert body.startswith(b"PK\x05\x06")
