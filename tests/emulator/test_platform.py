"""The platform around the services, as AWS runs it: Lambda timeouts on the virtual clock (to Step
Functions and to asynchronous invocations), Lambda payload limits, message and item sizes."""

from __future__ import annotations

import json
import threading

import pytest
from botocore.exceptions import ClientError
from mailwarden.contracts.names import OperatorDetailType

from local.deployment import AsyncFailure, LocalDeployment
from local.emulator import sandbox
from local.emulator.lambda_context import FakeLambdaContext
from tests.workmail_support import acme, request


def _strip_only_machine(d: LocalDeployment) -> str:
    """A one-task workflow running the offboarding ``strip`` step, without the stack's retries."""
    emu = d.emu
    fn = f"arn:aws:lambda:{emu.region}:{emu.account}:function:{d.function_name('workmail_offboard')}"
    definition = {
        "StartAt": "Strip",
        "States": {
            "Strip": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": fn, "Payload": {"step": "strip", "requestId.$": "$.requestId"}},
                "End": True,
            }
        },
    }
    sfn = emu.client("stepfunctions")
    role = f"arn:aws:iam::{emu.account}:role/strip"
    out = sfn.create_state_machine(name="strip", definition=json.dumps(definition), roleArn=role)
    return str(out["stateMachineArn"])


def test_a_function_past_its_timeout_fails_its_task_with_sandbox_timedout_and_keeps_what_it_wrote(deployment):
    org = acme(deployment)
    snapshot = {"organizationId": org.id, "user": org.users["alice"], "requestedBy": "hr", "reason": "leaver"}
    deployment.invoke("workmail_offboard", {"step": "snapshot", "request": {**snapshot, "requestId": "r1"}})
    # alice is in two groups: the second removal hangs past the function's 300 s timeout
    deployment.emu.control.stall("workmail", "DisassociateMemberFromGroup", 400, after=1)
    sfn = deployment.emu.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=_strip_only_machine(deployment), input='{"requestId": "r1"}')
    done = deployment.finished(arn["executionArn"])
    assert done["status"] == "FAILED" and done["error"] == "Sandbox.Timedout"
    assert "Task timed out after 300.00 seconds" in done["cause"]
    (stopped,) = [i for i in deployment.invocations if i.stopped]
    assert stopped.function == "workmail_offboard" and stopped.seconds == 300
    assert len(org.access("alice")["groups"]) == 1  # the first removal was made; nothing after the timeout


def test_an_asynchronous_invocation_is_tried_three_times_then_sent_to_the_on_failure_destination(deployment):
    org = acme(deployment)
    deployment.emu.control.inject("workmail", "DescribeUser", latency=90)  # every attempt outlasts the 60 s timeout
    started = deployment.emu.clock.time()
    detail = {"organizationId": org.id, "user": "alice", "requestedBy": "hr", "reason": "leaver"}
    (result,) = request(deployment, OperatorDetailType.OFFBOARD_REQUESTED, detail)
    assert isinstance(result, AsyncFailure) and result.attempts == 3 and result.error_type == "Sandbox.Timedout"
    (record,) = deployment.dead_letters()
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:mailwarden-local-workmail_trigger:$LATEST")
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"
    assert record["requestPayload"]["detail"] == detail
    # three 60 s attempts, 1 and 2 minutes apart
    assert deployment.emu.clock.time() - started >= 3 * 60 + 60 + 120


def test_a_retry_of_an_asynchronous_invocation_that_succeeds_sends_nothing_to_the_dlq(deployment):
    org = acme(deployment)
    deployment.emu.control.stall("workmail", "DescribeUser", 90)  # only the first attempt times out
    detail = {"organizationId": org.id, "user": "alice", "requestedBy": "hr", "reason": "leaver", "dryRun": True}
    (result,) = request(deployment, OperatorDetailType.OFFBOARD_REQUESTED, detail)
    assert result["status"] == "planned"
    assert deployment.dead_letters() == []
    assert [i.stopped for i in deployment.invocations if i.function == "workmail_trigger"] == [True, False]


def test_remaining_time_follows_the_invocations_own_virtual_timeline(emu):
    with sandbox.invocation(emu.clock, "f", 10, "r") as inv:
        context = FakeLambdaContext(timeout_seconds=10, clock=emu.clock)
        emu.clock.sleep(4)
        other = threading.Thread(target=emu.clock.sleep, args=(100,))  # another execution's Wait state
        other.start()
        other.join()
        assert context.get_remaining_time_in_millis() == 6000
        with pytest.raises(sandbox.LambdaTimedOut, match="Task timed out after 10.00 seconds"):
            emu.clock.sleep(7)  # would pass the deadline: the sandbox stops at it
    assert inv.stopped and inv.seconds == 10


def test_lambda_payload_limits(deployment):
    lam = deployment.emu.client("lambda")
    name = deployment.function_name("health_metrics")
    big = json.dumps({"pad": "x" * (6 * 1024 * 1024)}).encode()
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(FunctionName=name, Payload=big)
    event = json.dumps({"pad": "x" * (300 * 1024)}).encode()
    with pytest.raises(lam.exceptions.RequestTooLargeException, match="Event"):
        lam.invoke(FunctionName=name, Payload=event, InvocationType="Event")


def test_eventbridge_sqs_sns_and_dynamodb_refuse_what_aws_refuses(deployment):
    emu = deployment.emu
    entry = {"Source": "mailwarden.operator", "DetailType": "x", "EventBusName": "mailwarden-local"}
    with pytest.raises(ClientError, match="Total size of the entries in the request is over the limit"):
        emu.client("events").put_events(Entries=[{**entry, "Detail": json.dumps({"pad": "x" * 263_000})}])
    assert (
        emu.client("events").put_events(Entries=[{**entry, "Detail": json.dumps({"pad": "x" * 200_000})}])[
            "FailedEntryCount"
        ]
        == 0
    )
    with pytest.raises(ClientError, match="Message must be shorter than 262144 bytes"):
        emu.client("sqs").send_message(QueueUrl=deployment.dlq_url, MessageBody="x" * (256 * 1024 + 1))
    with pytest.raises(ClientError, match="InvalidParameter"):
        emu.client("sns").publish(TopicArn=next(iter(deployment.topics.values())), Message="x" * (256 * 1024 + 1))
    table = deployment.tables["audit"]
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        emu.client("dynamodb").put_item(
            TableName=table, Item={"subject": {"S": "a"}, "at": {"S": "b"}, "pad": {"S": "x" * 410_000}}
        )


def _undeliverable_offboarding(deployment: LocalDeployment) -> dict:
    org = acme(deployment)
    deployment.fail_deliveries("WorkmailRequests")  # EventBridge cannot invoke workmail_trigger this time
    detail = {"organizationId": org.id, "user": "alice", "requestedBy": "hr", "reason": "leaver"}
    (result,) = request(deployment, OperatorDetailType.OFFBOARD_REQUESTED, detail)
    return dict(result)


def test_a_failed_eventbridge_delivery_lands_in_the_dlq_the_stack_encrypts_with_sse_sqs(deployment):
    assert deployment.emu.access.encryption[deployment.dlq_arn] == "SSE-SQS"  # read from the synthesized template
    assert _undeliverable_offboarding(deployment)["status"] == "dead-lettered"
    messages = deployment.emu.client("sqs").receive_message(
        QueueUrl=deployment.dlq_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    (message,) = messages
    assert json.loads(message["Body"])["detail-type"] == OperatorDetailType.OFFBOARD_REQUESTED
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == deployment.rule_arns["WorkmailRequests"]
    assert attributes["ERROR_CODE"] == "RETRY_ATTEMPTS_EXHAUSTED" and deployment.dropped_deliveries == []


def test_with_the_aws_managed_key_eventbridge_cannot_dead_letter_and_the_event_is_dropped(deployment):
    from local import synthesized

    template = json.loads(json.dumps(synthesized.template()))
    (dlq,) = [
        r for r in template["Resources"].values() if r["Metadata"]["aws:cdk:path"].endswith("/DeadLetters/Resource")
    ]
    dlq["Properties"].pop("SqsManagedSseEnabled")
    dlq["Properties"]["KmsMasterKeyId"] = "alias/aws/sqs"  # the stack before issue 17
    deployment.install_iam(template)
    assert _undeliverable_offboarding(deployment)["status"] == "dropped"
    assert deployment.dead_letters() == []
    (dropped,) = deployment.dropped_deliveries
    assert "alias/aws/sqs" in dropped["reason"] and dropped["rule"] == "WorkmailRequests"
    assert deployment.emu.dispatcher.outcomes["eventbridge.Delivery:dropped"] == 1
