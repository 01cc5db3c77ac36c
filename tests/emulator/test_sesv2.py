"""Emulated SESv2 through real boto3: tenants, reputation entities, recommendations, MAIL FROM."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from local.emulator import Emulator


@pytest.fixture
def ses(emu: Emulator):
    emu.control.rate_limit("sesv2", None)  # these tests are about semantics, not the 1 req/s limit
    return boto3.client("sesv2")


def tenant(ses, name: str = "acme-marketing") -> str:
    return ses.create_tenant(TenantName=name, Tags=[{"Key": "team", "Value": "growth"}])["TenantArn"]


def entity(ses, arn: str) -> dict:
    return ses.get_reputation_entity(ReputationEntityType="RESOURCE", ReputationEntityReference=arn)["ReputationEntity"]


def test_a_tenant_is_a_resource_reputation_entity_with_both_status_records(ses):
    arn = tenant(ses)
    assert arn.startswith("arn:aws:ses:us-east-1:123456789012:tenant/acme-marketing/tn-")
    e = entity(ses, arn)
    assert e["ReputationEntityType"] == "RESOURCE"
    assert e["ReputationManagementPolicy"] == "arn:aws:ses:us-east-1:aws:reputation-policy/standard"
    assert e["CustomerManagedStatus"]["Status"] == e["AwsSesManagedStatus"]["Status"] == "ENABLED"
    assert e["SendingStatusAggregate"] == "ENABLED"
    assert ses.get_tenant(TenantName="acme-marketing")["Tenant"]["Tags"] == [{"Key": "team", "Value": "growth"}]


def test_duplicate_and_unknown_tenants_raise_the_documented_errors(ses):
    tenant(ses)
    with pytest.raises(ses.exceptions.AlreadyExistsException):
        tenant(ses)
    with pytest.raises(ses.exceptions.NotFoundException) as exc:
        ses.get_tenant(TenantName="nobody")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize(
    ("customer", "ses_managed", "aggregate"),
    [
        ("ENABLED", "ENABLED", "ENABLED"),
        ("DISABLED", "ENABLED", "DISABLED"),
        ("ENABLED", "DISABLED", "DISABLED"),
        ("REINSTATED", "ENABLED", "REINSTATED"),
        ("REINSTATED", "DISABLED", "DISABLED"),  # REINSTATED never overrides SES's DISABLED
    ],
)
def test_aggregate_follows_seed_001(ses, emu, customer, ses_managed, aggregate):
    arn = tenant(ses)
    emu.control.set_ses_managed_status(arn, ses_managed, "test")
    ses.update_reputation_entity_customer_managed_status(
        ReputationEntityType="RESOURCE", ReputationEntityReference=arn, SendingStatus=customer
    )
    e = entity(ses, arn)
    assert e["SendingStatusAggregate"] == aggregate
    assert e["AwsSesManagedStatus"]["Status"] == ses_managed  # the customer update left it unchanged


def test_enum_and_required_members_are_validated_server_side(ses):
    arn = tenant(ses)
    with pytest.raises(ses.exceptions.BadRequestException, match="SendingStatus: 'PAUSED' is not one of"):
        ses.update_reputation_entity_customer_managed_status(
            ReputationEntityType="RESOURCE", ReputationEntityReference=arn, SendingStatus="PAUSED"
        )
    with pytest.raises(ses.exceptions.BadRequestException, match="ReputationEntityType: 'TENANT'"):
        ses.get_reputation_entity(ReputationEntityType="TENANT", ReputationEntityReference=arn)
    with pytest.raises(ParamValidationError):  # botocore's own client-side check still runs first
        ses.get_reputation_entity(ReputationEntityType="RESOURCE")


def test_policy_update_accepts_only_managed_policy_arns(ses):
    arn = tenant(ses)
    ses.update_reputation_entity_policy(
        ReputationEntityType="RESOURCE",
        ReputationEntityReference=arn,
        ReputationEntityPolicy="arn:aws:ses:us-east-1:aws:reputation-policy/strict",
    )
    assert entity(ses, arn)["ReputationManagementPolicy"].endswith("/strict")
    with pytest.raises(ses.exceptions.BadRequestException):
        ses.update_reputation_entity_policy(
            ReputationEntityType="RESOURCE", ReputationEntityReference=arn, ReputationEntityPolicy="lenient"
        )


def test_updates_answer_only_their_modelled_errors(ses, emu):
    """Both updates model TooManyRequests, BadRequest and Conflict: no NotFound for an unknown entity;
    Conflict while another writer's update of the entity is still being applied."""
    arn = tenant(ses)
    strict = "arn:aws:ses:us-east-1:aws:reputation-policy/strict"
    unknown = arn.replace("acme-marketing", "gone")
    with pytest.raises(ses.exceptions.BadRequestException, match="does not exist"):
        ses.update_reputation_entity_customer_managed_status(
            ReputationEntityType="RESOURCE", ReputationEntityReference=unknown, SendingStatus="DISABLED"
        )
    with pytest.raises(ses.exceptions.BadRequestException, match="does not exist"):
        ses.update_reputation_entity_policy(
            ReputationEntityType="RESOURCE", ReputationEntityReference=unknown, ReputationEntityPolicy=strict
        )
    emu.control.update_in_progress(arn, seconds=30)
    with pytest.raises(ses.exceptions.ConflictException) as exc:
        ses.update_reputation_entity_customer_managed_status(
            ReputationEntityType="RESOURCE", ReputationEntityReference=arn, SendingStatus="DISABLED"
        )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(ses.exceptions.ConflictException):
        ses.update_reputation_entity_policy(
            ReputationEntityType="RESOURCE", ReputationEntityReference=arn, ReputationEntityPolicy=strict
        )
    assert entity(ses, arn)["CustomerManagedStatus"]["Status"] == "ENABLED"  # nothing written
    emu.clock.advance(30)
    ses.update_reputation_entity_policy(
        ReputationEntityType="RESOURCE", ReputationEntityReference=arn, ReputationEntityPolicy=strict
    )
    assert entity(ses, arn)["ReputationManagementPolicy"] == strict


def test_list_reputation_entities_paginates_in_pages_of_at_most_100_and_filters(ses, emu):
    arns = [tenant(ses, f"t{i:03d}") for i in range(250)]
    pages = list(ses.get_paginator("list_reputation_entities").paginate())
    assert [len(p["ReputationEntities"]) for p in pages] == [100, 100, 50]
    assert [e["ReputationEntityReference"] for p in pages for e in p["ReputationEntities"]] == sorted(arns)
    first = ses.list_reputation_entities(PageSize=500)  # capped like AWS
    assert len(first["ReputationEntities"]) == 100
    emu.control.set_ses_managed_status(arns[7], "DISABLED")
    disabled = ses.list_reputation_entities(Filter={"SENDING_STATUS": "DISABLED"})["ReputationEntities"]
    assert [e["ReputationEntityReference"] for e in disabled] == [arns[7]]
    prefix = arns[7].rsplit("/", 1)[0]
    assert len(ses.list_reputation_entities(Filter={"ENTITY_REFERENCE_PREFIX": prefix})["ReputationEntities"]) == 1
    with pytest.raises(ses.exceptions.BadRequestException, match="NextToken"):
        ses.list_reputation_entities(NextToken="garbage!")


def test_findings_drive_impact_and_the_standard_policy_pauses_on_high(ses, emu):
    arn = tenant(ses)
    emu.control.raise_finding(arn, "DKIM", "LOW")
    e = entity(ses, arn)
    assert (e["ReputationImpact"], e["AwsSesManagedStatus"]["Status"]) == ("LOW", "ENABLED")
    emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    e = entity(ses, arn)
    assert (e["ReputationImpact"], e["AwsSesManagedStatus"]["Status"], e["SendingStatusAggregate"]) == (
        "HIGH",
        "DISABLED",
        "DISABLED",
    )
    emu.control.resolve_finding(arn, "BOUNCE")
    e = entity(ses, arn)
    assert (e["ReputationImpact"], e["AwsSesManagedStatus"]["Status"]) == ("LOW", "ENABLED")


def test_strict_pauses_on_any_finding_and_none_never_does(ses, emu):
    strict, none = tenant(ses, "strict"), tenant(ses, "none")
    emu.control.set_policy(strict, "strict")
    emu.control.set_policy(none, "none")
    emu.control.raise_finding(strict, "DMARC", "LOW")
    emu.control.raise_finding(none, "COMPLAINT", "HIGH")
    assert entity(ses, strict)["AwsSesManagedStatus"]["Status"] == "DISABLED"
    assert entity(ses, none)["AwsSesManagedStatus"]["Status"] == "ENABLED"


def test_list_recommendations_filters_and_enforces_allowed_key_pairs(ses, emu):
    a, b = tenant(ses, "a"), tenant(ses, "b")
    emu.control.raise_finding(a, "BOUNCE", "HIGH")
    emu.control.raise_finding(b, "SPF", "LOW")
    emu.control.resolve_finding(b, "SPF")
    recs = ses.list_recommendations(Filter={"STATUS": "OPEN", "IMPACT": "HIGH"})["Recommendations"]
    assert [(r["ResourceArn"], r["Type"]) for r in recs] == [(a, "BOUNCE")]
    fixed = ses.list_recommendations(Filter={"STATUS": "FIXED", "TYPE": "SPF"})["Recommendations"]
    assert [r["ResourceArn"] for r in fixed] == [b]
    assert ses.list_recommendations(Filter={"RESOURCE_ARN": b})["Recommendations"][0]["Status"] == "FIXED"
    with pytest.raises(ses.exceptions.BadRequestException, match="STATUS with IMPACT"):
        ses.list_recommendations(Filter={"TYPE": "SPF", "IMPACT": "LOW"})
    with pytest.raises(ses.exceptions.BadRequestException, match="at most 2 entries"):
        ses.list_recommendations(Filter={"TYPE": "SPF", "IMPACT": "LOW", "STATUS": "OPEN"})


@pytest.mark.parametrize(
    ("operation", "low", "high"), [("list_recommendations", 1, 100), ("list_email_identities", 0, 1000)]
)
def test_page_sizes_outside_the_documented_bounds_are_refused(ses, operation, low, high):
    """The models give these PageSizes no range; the API reference does (1-100, 0-1000)."""
    call = getattr(ses, operation)
    for size in (low, high):
        call(PageSize=size)
    for size in (low - 1, high + 1):
        with pytest.raises(ses.exceptions.BadRequestException, match=f"between {low} and {high}"):
            call(PageSize=size)


def test_tenant_resources_associate_only_existing_identities(ses):
    tenant(ses)
    ses.create_email_identity(EmailIdentity="example.com")
    arn = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
    ses.create_tenant_resource_association(TenantName="acme-marketing", ResourceArn=arn)
    listed = ses.list_tenant_resources(TenantName="acme-marketing")["TenantResources"]
    assert listed == [{"ResourceType": "EMAIL_IDENTITY", "ResourceArn": arn}]
    assert ses.list_resource_tenants(ResourceArn=arn)["ResourceTenants"][0]["TenantName"] == "acme-marketing"
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.create_tenant_resource_association(
            TenantName="acme-marketing", ResourceArn="arn:aws:ses:us-east-1:123456789012:identity/other.com"
        )


def _upsert(r53, zone: str, name: str, kind: str, *values: str, action: str = "UPSERT") -> None:
    rrset = {"Name": name, "Type": kind, "TTL": 300, "ResourceRecords": [{"Value": v} for v in values]}
    r53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": rrset}]}
    )


def _verification(ses, name: str) -> tuple[str, bool, str]:
    out = ses.get_email_identity(EmailIdentity=name)
    return out["VerificationStatus"], out["VerifiedForSendingStatus"], out["DkimAttributes"]["Status"]


def test_a_new_domain_identity_is_unverified_until_its_dkim_cnames_are_in_route53(ses, emu):
    created = ses.create_email_identity(EmailIdentity="example.com")
    assert created["VerifiedForSendingStatus"] is False
    dkim = created["DkimAttributes"]
    assert (dkim["Status"], dkim["SigningEnabled"], dkim["SigningAttributesOrigin"]) == ("PENDING", True, "AWS_SES")
    tokens = dkim["Tokens"]
    assert len(tokens) == len(set(tokens)) == 3 and all(len(t) == 32 and t.isalnum() for t in tokens)
    assert _verification(ses, "example.com") == ("PENDING", False, "PENDING")
    got = ses.get_email_identity(EmailIdentity="example.com")
    assert got["DkimAttributes"]["Tokens"] == tokens and got["VerificationInfo"]["ErrorType"] == "HOST_NOT_FOUND"
    r53 = boto3.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"]
    _upsert(r53, zone, f"{tokens[0]}._domainkey.example.com", "CNAME", f"{tokens[0]}.dkim.amazonses.com")
    _upsert(r53, zone, f"{tokens[1]}._domainkey.example.com", "CNAME", "elsewhere.example.net")
    got = ses.get_email_identity(EmailIdentity="example.com")
    assert (got["VerificationStatus"], got["VerificationInfo"]["ErrorType"]) == ("PENDING", "INVALID_VALUE")
    assert got["VerificationInfo"]["SOARecord"]["SerialNumber"] >= 1
    for token in tokens:
        _upsert(r53, zone, f"{token}._domainkey.example.com", "CNAME", f"{token}.dkim.amazonses.com")
    assert _verification(ses, "example.com") == ("SUCCESS", True, "SUCCESS")
    info = ses.get_email_identity(EmailIdentity="example.com")["VerificationInfo"]
    assert "ErrorType" not in info and info["LastSuccessTimestamp"] == info["LastCheckedTimestamp"]
    listed = ses.list_email_identities()["EmailIdentities"]
    assert listed == [
        {
            "IdentityType": "DOMAIN",
            "IdentityName": "example.com",
            "SendingEnabled": True,
            "VerificationStatus": "SUCCESS",
        }
    ]


def test_vanished_dkim_records_are_a_temporary_failure_then_failed_after_72_hours(ses, emu):
    tokens = ses.create_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
    r53 = boto3.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"]
    for token in tokens:
        _upsert(r53, zone, f"{token}._domainkey.example.com", "CNAME", f"{token}.dkim.amazonses.com")
    assert emu.control.check_identities() == {"example.com": "SUCCESS"}
    _upsert(
        r53, zone, f"{tokens[2]}._domainkey.example.com", "CNAME", f"{tokens[2]}.dkim.amazonses.com", action="DELETE"
    )
    assert _verification(ses, "example.com") == ("TEMPORARY_FAILURE", False, "TEMPORARY_FAILURE")
    emu.clock.advance(71 * 3600)
    _upsert(r53, zone, f"{tokens[2]}._domainkey.example.com", "CNAME", f"{tokens[2]}.dkim.amazonses.com")
    assert emu.control.check_identities() == {"example.com": "SUCCESS"}  # back within 72 h
    _upsert(
        r53, zone, f"{tokens[2]}._domainkey.example.com", "CNAME", f"{tokens[2]}.dkim.amazonses.com", action="DELETE"
    )
    assert emu.control.check_identities() == {"example.com": "TEMPORARY_FAILURE"}
    emu.clock.advance(72 * 3600)
    assert emu.control.check_identities() == {"example.com": "FAILED"}
    _upsert(r53, zone, f"{tokens[2]}._domainkey.example.com", "CNAME", f"{tokens[2]}.dkim.amazonses.com")
    assert emu.control.check_identities() == {"example.com": "FAILED"}  # terminal: create the identity again


def test_a_domain_never_published_fails_after_72_hours_and_a_private_zone_is_not_seen(ses, emu):
    tokens = ses.create_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
    r53 = boto3.client("route53")
    private = r53.create_hosted_zone(
        Name="example.com",
        CallerReference="p",
        VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-1"},
        HostedZoneConfig={"PrivateZone": True},
    )["HostedZone"]["Id"]
    for token in tokens:
        _upsert(r53, private, f"{token}._domainkey.example.com", "CNAME", f"{token}.dkim.amazonses.com")
    emu.clock.advance(72 * 3600 - 1)
    assert emu.control.check_identities() == {"example.com": "PENDING"}
    emu.clock.advance(1)
    assert _verification(ses, "example.com") == ("FAILED", False, "FAILED")


def test_an_email_address_is_verified_by_its_owner_within_24_hours(ses, emu):
    created = ses.create_email_identity(EmailIdentity="ops@example.com")
    assert created["DkimAttributes"] == {"SigningEnabled": False, "Status": "NOT_STARTED", "Tokens": []}
    ses.create_email_identity(EmailIdentity="late@example.com")
    assert emu.control.check_identities() == {"ops@example.com": "PENDING", "late@example.com": "PENDING"}
    emu.control.confirm_email_identity("ops@example.com")
    emu.clock.advance(24 * 3600)
    assert emu.control.check_identities() == {"ops@example.com": "SUCCESS", "late@example.com": "FAILED"}
    emu.control.confirm_email_identity("late@example.com")  # too late: the link expired
    assert _verification(ses, "late@example.com")[0] == "FAILED"


def test_byodkim_verifies_on_the_selector_txt_record(ses, emu):
    created = ses.create_email_identity(
        EmailIdentity="example.com",
        DkimSigningAttributes={"DomainSigningSelector": "mw1", "DomainSigningPrivateKey": "TUlJQ2V3SUJBREFOQmdrcWhr"},
    )
    assert (created["DkimAttributes"]["SigningAttributesOrigin"], created["DkimAttributes"]["Tokens"]) == (
        "EXTERNAL",
        ["mw1"],
    )
    r53 = boto3.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"]
    _upsert(r53, zone, "mw1._domainkey.example.com", "TXT", '"v=DKIM1; k=rsa; p=MIIBIjANBgkq"')
    assert _verification(ses, "example.com") == ("SUCCESS", True, "SUCCESS")


def test_mail_from_succeeds_only_once_the_identity_is_verified_and_the_records_are_there(ses, emu):
    tokens = ses.create_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
    ses.put_email_identity_mail_from_attributes(EmailIdentity="example.com", MailFromDomain="bounce.example.com")
    attrs = ses.get_email_identity(EmailIdentity="example.com")["MailFromAttributes"]
    assert attrs == {
        "MailFromDomain": "bounce.example.com",
        "MailFromDomainStatus": "PENDING",
        "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
    }
    r53 = boto3.client("route53")
    zone = r53.create_hosted_zone(Name="example.com", CallerReference="z")["HostedZone"]["Id"]
    _upsert(r53, zone, "bounce.example.com", "MX", "10 feedback-smtp.us-east-1.amazonses.com")
    _upsert(r53, zone, "bounce.example.com", "TXT", '"v=spf1 include:amazonses.com ~all"')
    status = lambda: ses.get_email_identity(EmailIdentity="example.com")["MailFromAttributes"]["MailFromDomainStatus"]  # noqa: E731
    assert status() == "PENDING"  # the identity itself is not verified yet
    for token in tokens:
        _upsert(r53, zone, f"{token}._domainkey.example.com", "CNAME", f"{token}.dkim.amazonses.com")
    assert status() == "SUCCESS"


def test_mail_from_fails_after_72_hours_without_records_and_rejects_non_subdomains(ses, emu):
    ses.create_email_identity(EmailIdentity="ops@example.com")
    emu.control.confirm_email_identity("ops@example.com")
    with pytest.raises(ses.exceptions.BadRequestException, match="subdomain"):
        ses.put_email_identity_mail_from_attributes(EmailIdentity="ops@example.com", MailFromDomain="mail.other.org")
    ses.put_email_identity_mail_from_attributes(EmailIdentity="ops@example.com", MailFromDomain="mail.example.com")
    emu.clock.advance(71 * 3600)
    assert emu.control.check_mail_from() == {"ops@example.com": "PENDING"}
    emu.clock.advance(3600)
    assert emu.control.check_mail_from() == {"ops@example.com": "FAILED"}
    with pytest.raises(ses.exceptions.NotFoundException):
        ses.put_email_identity_mail_from_attributes(EmailIdentity="nobody@example.com", MailFromDomain="m.example.com")


def test_errors_are_client_errors_with_http_status(ses):
    with pytest.raises(ClientError) as exc:
        ses.get_reputation_entity(ReputationEntityType="RESOURCE", ReputationEntityReference="arn:aws:ses:x")
    assert exc.value.response["Error"]["Code"] == "NotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
