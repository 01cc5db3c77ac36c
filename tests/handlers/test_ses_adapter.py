"""The SESv2 reputation adapter maps every error the operations' models list (against the emulator)."""

from __future__ import annotations

import boto3
import pytest
from mailwarden.aws.ses import SesReputation
from mailwarden.errors import NotFound, Rejected, Throttled, UpdateInProgress

from local.emulator import Emulator


@pytest.fixture
def api(emu: Emulator) -> SesReputation:
    emu.control.rate_limit("sesv2", None)
    return SesReputation(boto3.client("sesv2"))


def test_writes_map_conflict_bad_request_and_a_vanished_entity(emu, api):
    arn = emu.sesv2.add_tenant("acme").arn
    gone = emu.sesv2.add_tenant("gone").arn
    emu.sesv2.tenants.pop("gone")
    emu.sesv2.entities.pop(gone)
    with pytest.raises(NotFound, match="no longer exists"):  # SES: BadRequestException; GetReputationEntity: 404
        api.set_customer_status(gone, "DISABLED")
    with pytest.raises(NotFound, match="no longer exists"):
        api.set_policy(gone, "strict")
    with pytest.raises(Rejected, match="BadRequestException"):  # the entity exists: a real bad request
        api.set_policy(arn, "lenient")
    emu.control.update_in_progress(arn, seconds=10)
    with pytest.raises(UpdateInProgress, match="another update"):
        api.set_customer_status(arn, "DISABLED")
    emu.control.inject("sesv2", "UpdateReputationEntityPolicy", throttle_rate=1.0)
    with pytest.raises(Throttled):
        api.set_policy(arn, "strict")


def test_reads_of_what_does_not_exist_are_empty(emu, api):
    gone = "arn:aws:ses:us-east-1:123456789012:tenant/gone/tn-0"
    assert api.get(gone) is None
    assert api.tags(gone) == {}
    assert api.findings(gone) == []


def test_the_mail_from_write_maps_its_modelled_errors_to_the_callers_400(emu):
    from mailwarden.aws.mailfrom import SesMailFrom
    from mailwarden.mailfrom.model import InvalidRequest

    emu.control.rate_limit("sesv2", None)
    ses = SesMailFrom(boto3.client("sesv2"))
    with pytest.raises(InvalidRequest, match="no email identity"):  # NotFoundException: deleted meanwhile
        ses.set_mail_from("gone.example", "mail.gone.example", "USE_DEFAULT_VALUE")
    boto3.client("sesv2").create_email_identity(EmailIdentity="acme.example")
    with pytest.raises(InvalidRequest, match="SES refused MAIL FROM domain 'mail.other.org'"):  # BadRequestException
        ses.set_mail_from("acme.example", "mail.other.org", "USE_DEFAULT_VALUE")
