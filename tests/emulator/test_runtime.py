"""The emulator's machinery: virtual clock, SES rate limit, fault injection, call counting, routing."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from mailwarden.clock import default_clock

from local.emulator import emulated_aws


def test_ses_management_apis_are_limited_to_one_request_per_second_on_the_virtual_clock():
    with emulated_aws() as emu:
        ses = boto3.client("sesv2", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        ses.list_tenants()
        with pytest.raises(ses.exceptions.TooManyRequestsException) as exc:
            ses.list_tenants()
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        emu.clock.advance(1)
        ses.list_tenants()  # a second later, admitted again
        assert emu.dispatcher.outcomes["sesv2.ListTenants:TooManyRequestsException"] == 1


def test_the_harness_reads_are_neither_limited_nor_faulted_and_spend_none_of_the_callers_budget():
    with emulated_aws() as emu:
        emu.control.inject("sesv2", throttle_rate=1.0)
        emu.control.inject("route-53", throttle_rate=1.0)
        harness = emu.client("sesv2")
        for _ in range(5):
            harness.list_tenants()  # five in the same virtual second, all faulted if they were the caller's
        emu.client("route53").list_hosted_zones()
        assert emu.clock.slept == 0
        assert not [k for k in emu.dispatcher.outcomes if not k.endswith(":ok")]
        emu.control.clear_faults()
        boto3.client("sesv2", config=Config(retries={"mode": "standard", "total_max_attempts": 1})).list_tenants()


def test_botocore_retries_back_off_in_virtual_time():
    with emulated_aws() as emu:
        ses = boto3.client("sesv2", config=Config(retries={"mode": "standard", "max_attempts": 10}))
        for _ in range(5):
            ses.list_tenants()  # each burst beyond 1 req/s is retried after a virtual sleep
        assert emu.clock.slept > 0
        assert emu.calls["sesv2.ListTenants"] > 5  # throttled attempts were made and retried


def test_retry_jitter_is_seeded_so_a_throttled_run_waits_the_same_virtual_time_every_time():
    def throttled_run(seed: int) -> tuple[float, int]:
        with emulated_aws(seed=seed) as emu:
            ses = boto3.client("sesv2", config=Config(retries={"mode": "standard", "max_attempts": 10}))
            for _ in range(6):
                ses.list_tenants()
            return emu.clock.slept, emu.calls["sesv2.ListTenants"]

    first = throttled_run(7)
    assert first[0] > 0 and first == throttled_run(7)
    assert throttled_run(8)[0] != first[0]  # the jitter is drawn, not switched off


def test_injected_throttling_and_5xx_are_survived_by_standard_retries():
    with emulated_aws(ses_rate=None) as emu:
        emu.control.inject("workmail", throttle_rate=0.3, error_rate=0.2)
        wm = boto3.client("workmail", config=Config(retries={"mode": "standard", "max_attempts": 10}))
        org = emu.control.add_organization("corp", "corp.example.com")
        ids = [wm.create_user(OrganizationId=org, Name=f"u{i}", DisplayName=f"U{i}")["UserId"] for i in range(30)]
        assert len(set(ids)) == 30
        faults = sum(
            v
            for k, v in emu.dispatcher.outcomes.items()
            if k.startswith("workmail.CreateUser:") and not k.endswith(":ok")
        )
        assert faults > 5  # faults really happened, and every create still succeeded exactly once
        emu.control.clear_faults()
        assert len(wm.list_users(OrganizationId=org)["Users"]) == 30


def test_injected_latency_moves_virtual_time_only():
    with emulated_aws() as emu:
        emu.control.inject("partnercentral-account", "GetConnectionPreferences", latency=2.5)
        before = emu.clock.time()
        boto3.client("partnercentral-account").get_connection_preferences(Catalog="AWS")
        assert emu.clock.time() - before == pytest.approx(2.5)


def test_the_virtual_clock_is_the_default_clock_inside_and_not_outside():
    with emulated_aws() as emu:
        assert default_clock() is emu.clock
    assert default_clock() is not emu.clock


def test_moto_services_still_work_alongside_the_emulator(emu):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="exports")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["exports"]
    assert emu.calls["s3.CreateBucket"] == 1


def test_aws_ses_events_are_emitted_and_routed_by_the_shared_rules(emu, deployment):
    ses = boto3.client("sesv2")
    arn = ses.create_tenant(TenantName="acme")["TenantArn"]
    emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    assert [e.detail_type for e in emu.control.emitted] == [
        "Advisor Recommendation Status Open",
        "Sending Status Disabled",
    ]
    delivered = deployment.deliver()
    assert [(d.function, d.event["detail-type"]) for d in delivered] == [
        ("ses_events", "Advisor Recommendation Status Open"),
        ("ses_events", "Sending Status Disabled"),
    ]
    status = delivered[1].event["detail"]["data"]
    assert status["origin"] == "AWS_MANAGED" and isinstance(status["record"]["lastUpdatedTimestamp"], list)


def test_events_matching_no_rule_reach_no_function(emu, deployment):
    deployment.put_event("aws.ses", "Email Sent", {"x": 1})
    deployment.put_event("custom.app", "Sending Status Disabled", {"x": 1})
    assert deployment.deliver() == []


def test_mailwarden_clients_are_paced_so_no_throttling_error_reaches_the_caller():
    from mailwarden.aws import clients

    with emulated_aws() as emu:
        ses = clients.client("sesv2")
        for i in range(20):
            ses.create_tenant(TenantName=f"t{i}")
        assert emu.dispatcher.outcomes["sesv2.CreateTenant:ok"] == 20
        assert not [k for k in emu.dispatcher.outcomes if k.endswith("TooManyRequestsException")]
        assert emu.calls["sesv2.CreateTenant"] == 20  # no retries were needed: calls == minimum
        assert clients.limiter("sesv2").waited == pytest.approx(19.0)


def test_calls_count_only_the_code_under_test_not_the_emulator_or_the_harness(emu, deployment):
    from mailwarden.aws import clients

    ses = clients.client("sesv2")  # paced like the handler, so no throttled retries inflate the counts
    arn = ses.create_tenant(TenantName="acme")["TenantArn"]
    emu.control.raise_finding(arn, "BOUNCE", "HIGH")  # the emulator emits 2 events (internal)
    deployment.deliver()  # the harness drains queues (internal); the handler reads SES once per event
    assert emu.calls["sesv2.CreateTenant"] == 1
    assert emu.calls["sesv2.GetReputationEntity"] == 2
    # per event, the handler's observation and its (planned, dry-run) disable; not the emulator's emits
    assert emu.calls["eventbridge.PutEvents"] == 4
    assert "sqs.ReceiveMessage" not in emu.calls and "eventbridge.PutRule" not in emu.calls
    assert emu.internal_calls["eventbridge.PutEvents"] == 2 and emu.internal_calls["sqs.ReceiveMessage"] > 0


def test_moto_finds_a_method_added_to_a_response_class_after_it_listed_the_class_once():
    """moto's per-class method list is remembered (local/emulator/boot.py) only while the class's
    namespaces keep their size: a method patched in later is found."""
    import moto.core.responses as responses

    class Replies(responses.BaseResponse):
        def list_things(self) -> str:
            return "[]"

    assert "list_things" in responses.method_names_from_class(Replies)
    assert "get_thing" not in responses.method_names_from_class(Replies)
    Replies.get_thing = lambda self: "{}"  # type: ignore[attr-defined]
    assert "get_thing" in responses.method_names_from_class(Replies)
    del Replies.get_thing  # type: ignore[attr-defined]
    assert "get_thing" not in responses.method_names_from_class(Replies)


def test_the_harness_clients_are_made_once_per_process_and_reach_the_emulator_active_now():
    with emulated_aws() as first:
        client = first.client("sqs")
        client.create_queue(QueueName="only-in-the-first")
    with emulated_aws() as second:
        assert second.client("sqs") is client
        assert "QueueUrls" not in client.list_queues()  # the second emulator's state, not the first's


def test_botocore_data_read_from_a_torn_or_stale_pickle_is_parsed_again_and_rewritten(tmp_path, monkeypatch):
    import os
    import shutil
    from pathlib import Path

    import botocore

    from local.emulator import boot

    monkeypatch.setattr(boot, "CACHE_DIR", tmp_path / "cache")
    source = next((Path(botocore.__file__).parent / "data" / "sqs" / "2012-11-05").glob("service-2.json*"))
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    model = str(tmp_path / "service-2")
    loader = boot._PickledJsonFiles()
    parsed = loader.load_file(model)
    assert parsed["metadata"]["serviceId"] == "SQS"
    (entry,) = (tmp_path / "cache" / "botocore").iterdir()
    entry.write_bytes(b"\x80torn")  # a crash mid-write elsewhere, or another Python's pickle
    assert loader.load_file(model) == parsed
    assert entry.read_bytes() != b"\x80torn"  # parsed again and rewritten
    os.utime(copy, ns=(copy.stat().st_atime_ns, copy.stat().st_mtime_ns + 10**9))  # botocore upgraded in place
    assert loader.load_file(model) == parsed
    assert len(list((tmp_path / "cache" / "botocore").iterdir())) == 2  # a new entry, not the stale one


def test_the_local_issuers_key_survives_a_bad_cache_file_and_stays_owner_only(tmp_path, monkeypatch):
    from local import issuer

    monkeypatch.setattr(issuer, "CACHE_DIR", tmp_path)
    (tmp_path / "local-issuer-key.pem").write_text("not a key")
    made = issuer._signing_key.__wrapped__()  # the per-process memo bypassed: what a new process does
    assert (tmp_path / "local-issuer-key.pem").stat().st_mode & 0o077 == 0
    again = issuer._signing_key.__wrapped__()
    assert again.private_numbers() == made.private_numbers()  # the next process signs with the same key


def test_the_router_skips_only_a_queue_holding_nothing_in_flight_or_visible(deployment):
    url = deployment.tap_url
    assert deployment._holds_nothing(url)
    deployment.sqs.send_message(QueueUrl=url, MessageBody="{}")
    assert not deployment._holds_nothing(url)
    (m,) = deployment.sqs.receive_message(QueueUrl=url)["Messages"]  # in flight, not yet deleted
    assert not deployment._holds_nothing(url)
    deployment.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert deployment._holds_nothing(url)
