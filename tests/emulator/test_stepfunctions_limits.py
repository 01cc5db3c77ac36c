"""Step Functions' platform limits in the local executor: 25,000 history events per execution and
256 KiB payloads, measured as AWS measures them."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator

ROLE = "arn:aws:iam::123456789012:role/sfn"
HISTORY_CAUSE = "The execution reached the maximum number of history events (25000)."


def machine(emu: Emulator, name: str, definition: dict[str, Any]) -> str:
    sfn = emu.client("stepfunctions")
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"])


def finished(emu: Emulator, execution: str, timeout: float = 60) -> dict[str, Any]:
    sfn = emu.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{execution} still running"
        time.sleep(0.01)
    return dict(described)


def compact(value: Any) -> str:
    """JSON as Step Functions measures it: no spaces, UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def start(emu: Emulator, state_machine: str, payload: Any = None) -> str:
    sfn = emu.client("stepfunctions")
    return str(sfn.start_execution(stateMachineArn=state_machine, input=compact(payload or {}))["executionArn"])


def run(emu: Emulator, name: str, definition: dict[str, Any], payload: Any = None) -> tuple[str, dict[str, Any]]:
    execution = start(emu, machine(emu, name, definition), payload)
    return execution, finished(emu, execution)


def wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def last_events(emu: Emulator, execution: str, n: int) -> list[dict[str, Any]]:
    sfn = emu.client("stepfunctions")
    return list(sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=n)["events"])


def history(emu: Emulator, execution: str) -> list[dict[str, Any]]:
    pages = emu.client("stepfunctions").get_paginator("get_execution_history").paginate(executionArn=execution)
    return [event for page in pages for event in page["events"]]


def entered(events: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def counting_loop(limit: int | None = None) -> dict[str, Any]:
    """Counts to ``limit`` (or ``$.n``): 4 history events per turn, 4 n + 8 in all."""
    bound = {"NumericGreaterThanEquals": limit} if limit is not None else {"NumericGreaterThanEqualsPath": "$.n"}
    return {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Parameters": {"i": 0, "n.$": "$.n"}, "Next": "Check"},
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.i", **bound, "Next": "Done"}], "Default": "Inc"},
            "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)", "n.$": "$.n"}, "Next": "Check"},
            "Done": {"Type": "Succeed"},
        },
    }


def passes(count: int) -> dict[str, Any]:
    """A chain of ``count`` Pass states: 2 history events each."""
    names = [f"P{i}" for i in range(count)]
    states = {n: {"Type": "Pass", "Next": names[i + 1]} for i, n in enumerate(names[:-1])}
    return {"StartAt": names[0], "States": {**states, names[-1]: {"Type": "Pass", "End": True}}}


def map_state(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}}}


def task(function: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function},
        **fields,
    }


# --- history: 25,000 events per execution ---------------------------------------------------


def test_an_execution_fails_with_its_25000th_history_event_as_aws_fails_it(emu):
    under, done = run(emu, "under", counting_loop(6000), {"n": 0})
    assert done["status"] == "SUCCEEDED"
    assert emu.stepfunctions.stats()[under]["events"] == 4 * 6000 + 8
    [last] = last_events(emu, under, 1)
    assert (last["id"], last["type"]) == (24_008, "ExecutionSucceeded")

    over, done = run(emu, "over", counting_loop(6300), {"n": 0})
    assert done["status"] == "FAILED"
    assert (done["error"], done["cause"]) == ("States.Runtime", HISTORY_CAUSE)
    failure, before = last_events(emu, over, 2)
    assert (failure["id"], failure["previousEventId"], failure["type"]) == (25_000, 24_999, "ExecutionFailed")
    assert failure["executionFailedEventDetails"] == {"error": "States.Runtime", "cause": HISTORY_CAUSE}
    assert before["id"] == 24_999 and before["type"].endswith(("Entered", "Exited"))
    assert emu.stepfunctions.stats()[over]["events"] == 25_000


def test_the_event_count_is_what_get_execution_history_lists_page_by_page(emu):
    execution, done = run(emu, "short", counting_loop(30), {"n": 0})
    assert done["status"] == "SUCCEEDED"
    sfn = emu.client("stepfunctions")
    first = sfn.get_execution_history(executionArn=execution)
    assert len(first["events"]) == 100 and first["nextToken"]  # AWS's default page
    events = history(emu, execution)
    assert [e["id"] for e in events] == list(range(1, 4 * 30 + 9))
    assert emu.stepfunctions.stats()[execution]["events"] == len(events) == 128
    newest = sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=3)["events"]
    assert [e["id"] for e in newest] == [128, 127, 126]
    lean = sfn.get_execution_history(executionArn=execution, maxResults=1, includeExecutionData=False)["events"]
    assert lean[0]["type"] == "ExecutionStarted" and "input" not in lean[0]["executionStartedEventDetails"]
    with pytest.raises(ClientError) as err:
        sfn.get_execution_history(executionArn=execution, nextToken="garbage")
    assert err.value.response["Error"]["Code"] == "InvalidToken"


def test_an_inline_map_counts_in_its_execution_and_its_catch_does_not_save_it(emu):
    # 1,300 iterations of 20 events (MapIterationStarted, 9 Pass states, MapIterationSucceeded)
    each = map_state(
        passes(9),
        ItemsPath="$.items",
        MaxConcurrency=40,
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
    )
    each["States"]["Handled"] = {"Type": "Pass", "End": True}
    execution, done = run(emu, "inline", each, {"items": list(range(1300))})
    assert done["status"] == "FAILED"
    assert (done["error"], done["cause"]) == ("States.Runtime", HISTORY_CAUSE)
    assert emu.stepfunctions.stats()[execution]["events"] == 25_000
    assert "Handled" not in entered(last_events(emu, execution, 5))


# --- payloads: 256 KiB of UTF-8 JSON ---------------------------------------------------------


def test_the_payload_quota_is_262144_bytes_of_compact_utf8_json(emu):
    at_quota = {"s": "é" * 131_068}  # {"s":"..."} = 8 bytes + 2 per é = 262,144
    passthrough = {"StartAt": "Same", "States": {"Same": {"Type": "Pass", "End": True}}}
    execution, done = run(emu, "at-quota", passthrough, at_quota)
    assert done["status"] == "SUCCEEDED"
    assert emu.stepfunctions.stats()[execution]["max_state_bytes"] == 262_144

    one_more = {
        "StartAt": "Grow",
        "States": {"Grow": {"Type": "Pass", "Parameters": {"s.$": "$.s", "t": 1}, "End": True}},
    }
    _, done = run(emu, "over-quota", one_more, at_quota)
    assert (done["status"], done["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert "'Grow'" in done["cause"]

    sfn = emu.client("stepfunctions")
    with pytest.raises(ClientError) as err:
        sfn.start_execution(stateMachineArn=machine(emu, "input", passthrough), input=compact({"s": "é" * 131_069}))
    assert err.value.response["Error"]["Code"] == "InvalidExecutionInput"


def test_a_pass_state_result_over_the_quota_fails_the_execution_as_aws_records_it(emu):
    # AWS's own history (localstack's AWS-validated snapshot of test_start_large_input): entered, then failed
    result = {"Arg1": "a" * 257 * 1024}
    big = {"StartAt": "State_1", "States": {"State_1": {"Type": "Pass", "Result": result, "End": True}}}
    execution, done = run(emu, "large", big)
    assert [e["type"] for e in history(emu, execution)] == ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]
    assert (done["error"], done["cause"]) == (
        "States.DataLimitExceeded",
        "The state/task 'State_1' returned a result with a size exceeding the maximum number of bytes service limit.",
    )


def test_a_state_output_over_the_quota_fails_the_execution_and_states_all_does_not_catch_it(emu):
    emu.lambdas.register("enrich", lambda event: {"blob": "x" * 150_000})  # a result well under the quota
    definition = {
        "StartAt": "Enrich",
        "States": {
            "Enrich": {
                **task("enrich", ResultSelector={"blob.$": "$.Payload.blob"}, ResultPath="$.result", Next="Done"),
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
            },
            "Handled": {"Type": "Pass", "End": True},
            "Done": {"Type": "Succeed"},
        },
    }
    execution, done = run(emu, "output", definition, {"pad": "y" * 150_000})  # input + result: ~300 KB
    assert (done["status"], done["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert "returned a result with a size exceeding the maximum number of bytes service limit" in done["cause"]
    assert entered(history(emu, execution)) == ["Enrich"]


def test_a_result_or_an_input_over_the_quota_is_caught_only_by_name(emu):
    emu.lambdas.register("huge", lambda event: {"blob": "x" * 300_000})
    emu.lambdas.register("echo", lambda event: event)

    def caught_by(errors: list[str], function: str, parameters: dict[str, Any]) -> dict[str, Any]:
        definition = {
            "StartAt": "Call",
            "States": {
                "Call": {
                    **task(function),
                    "Parameters": {"FunctionName": function, **parameters},
                    "Catch": [{"ErrorEquals": errors, "Next": "Handled"}],
                    "End": True,
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        }
        return run(emu, f"catch-{function}-{len(errors[0])}", definition, {"s": "z" * 140_000})[1]

    result_all = caught_by(["States.ALL"], "huge", {})
    assert (result_all["status"], result_all["error"]) == ("FAILED", "States.DataLimitExceeded")
    result_named = caught_by(["States.DataLimitExceeded"], "huge", {})
    assert result_named["status"] == "SUCCEEDED"
    assert json.loads(result_named["output"])["Error"] == "States.DataLimitExceeded"

    twice = {"Payload": {"a.$": "$.s", "b.$": "$.s"}}  # the effective input: ~280 KB
    input_all = caught_by(["States.ALL"], "echo", twice)
    assert (input_all["status"], input_all["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert not [i for i in emu.lambdas.invocations if i["function"] == "echo"]  # refused before the call
    assert caught_by(["States.TaskFailed"], "echo", twice)["status"] == "FAILED"  # nor by that wildcard


def test_a_task_token_answer_over_the_quota_is_refused_by_send_task_success(emu):
    tokens: list[str] = []
    emu.lambdas.register("ask", lambda event: tokens.append(event["token"]))
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    execution = start(emu, machine(emu, "ask", definition))
    wait_for(lambda: len(tokens) == 1)
    sfn = boto3.client("stepfunctions")
    with pytest.raises(ClientError) as err:
        sfn.send_task_success(taskToken=tokens[0], output=compact({"s": "é" * 131_069}))
    assert err.value.response["Error"]["Code"] == "InvalidOutput"
    sfn.send_task_success(taskToken=tokens[0], output=compact({"s": "é" * 131_068}))  # exactly 256 KiB
    done = finished(emu, execution)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"s": "é" * 131_068}
    assert emu.stepfunctions.stats()[execution]["max_state_bytes"] == 262_144
