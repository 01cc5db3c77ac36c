"""Step Functions' platform limits and scaling in the local executor: 25,000 history events per
execution, 256 KiB payloads, Distributed Map children and startExecution.sync children, each on
the virtual clock and each with a history of its own."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator

ROLE = "arn:aws:iam::123456789012:role/sfn"
HISTORY_CAUSE = "The execution reached the maximum number of history events (25000)."
DISTRIBUTED = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}}


def machine(emu: Emulator, name: str, definition: dict[str, Any]) -> str:
    sfn = emu.client("stepfunctions")
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"])


def finished(emu: Emulator, execution: str, timeout: float = 60) -> dict[str, Any]:
    sfn = emu.client("stepfunctions")
    described = emu.wait_until(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        f"{execution} to finish",
        timeout,
    )
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


# --- Distributed Map: each item a child execution ---------------------------------------------


def map_run(emu: Emulator, execution: str) -> dict[str, Any]:
    sfn = emu.client("stepfunctions")
    [listed] = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    return dict(sfn.describe_map_run(mapRunArn=listed["mapRunArn"]))


def children(emu: Emulator, map_run_arn: str) -> list[dict[str, Any]]:
    pages = emu.client("stepfunctions").get_paginator("list_executions").paginate(mapRunArn=map_run_arn)
    return [e for page in pages for e in page["executions"]]


def test_a_distributed_map_runs_each_item_as_a_child_with_its_own_history(emu):
    # the items that killed the inline Map above, 2,000 of them: each child has 20 events
    execution, done = run(
        emu,
        "distributed",
        map_state({**DISTRIBUTED, **passes(9)}, ItemsPath="$.items"),
        {"items": [{"n": i} for i in range(2000)]},
    )
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == [{"n": i} for i in range(2000)]
    parent = [e["type"] for e in history(emu, execution)]
    assert parent == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    run_ = map_run(emu, execution)
    assert run_["status"] == "SUCCEEDED" and run_["maxConcurrency"] == 0
    assert run_["itemCounts"]["total"] == run_["itemCounts"]["succeeded"] == 2000
    assert run_["executionCounts"]["succeeded"] == 2000 and run_["executionCounts"]["running"] == 0
    stats = emu.stepfunctions.stats()
    kids = [arn for arn in stats if arn != execution]
    assert len(kids) == 2000 and {stats[arn]["events"] for arn in kids} == {20}
    assert stats[execution]["events"] == 8
    # a child is an execution AWS-style: its ARN names the Map Run, and the API shows it
    sfn = emu.client("stepfunctions")
    listed = children(emu, run_["mapRunArn"])
    assert len(listed) == 2000 and {c["status"] for c in listed} == {"SUCCEEDED"}
    child = listed[0]["executionArn"]
    assert child.startswith("arn:aws:states:us-east-1:123456789012:execution:distributed/")
    described = sfn.describe_execution(executionArn=child)
    assert described["status"] == "SUCCEEDED" and json.loads(described["input"]) == json.loads(described["output"])
    events = history(emu, child)
    assert [e["type"] for e in events][:2] == ["ExecutionStarted", "PassStateEntered"]
    assert events[-1]["type"] == "ExecutionSucceeded" and len(events) == stats[child]["events"]


def test_max_concurrency_bounds_the_running_children_and_the_makespan_is_virtual(emu):
    wait_child = {**DISTRIBUTED, "StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}
    fleet = machine(emu, "fleet", map_state(wait_child, ItemsPath="$.items", MaxConcurrency=10))
    started = emu.clock.time()
    execution = start(emu, fleet, {"items": [{"s": 300}] * 1000})
    assert finished(emu, execution)["status"] == "SUCCEEDED"
    assert emu.clock.time() - started == 1000 / 10 * 300  # ceil(n / c) x the child's 5 minutes
    run_ = map_run(emu, execution)
    assert run_["maxConcurrency"] == 10 and run_["executionCounts"]["succeeded"] == 1000
    spans = [(c["startDate"].timestamp(), c["stopDate"].timestamp()) for c in children(emu, run_["mapRunArn"])]
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])  # an end before a start at a tie
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak == 10

    # children start as slots free in virtual time: the 300 s item on one slot, three 100 s on the other
    uneven = machine(emu, "uneven", map_state(wait_child, ItemsPath="$.items", MaxConcurrency=2))
    started = emu.clock.time()
    assert (
        finished(emu, start(emu, uneven, {"items": [{"s": s} for s in (300, 100, 100, 100)]}))["status"] == "SUCCEEDED"
    )
    assert emu.clock.time() - started == 300


def test_failed_children_are_tolerated_up_to_the_threshold_and_beyond_it_the_map_fails(emu):
    child = {
        **DISTRIBUTED,
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.bad", "BooleanEquals": True, "Next": "Bad"}],
                "Default": "Good",
            },
            "Bad": {"Type": "Fail", "Error": "Item.Bad", "Cause": "a bad item"},
            "Good": {"Type": "Pass", "End": True},
        },
    }
    items = {"items": [{"bad": i in (0, 1), "i": i} for i in range(10)]}

    _, done = run(emu, "tolerant", map_state(child, ItemsPath="$.items", ToleratedFailurePercentage=20), items)
    assert done["status"] == "SUCCEEDED"
    output = json.loads(done["output"])
    assert output[2:] == items["items"][2:]
    assert [(o["Status"], o["Error"], o["Cause"]) for o in output[:2]] == [("FAILED", "Item.Bad", "a bad item")] * 2
    assert json.loads(output[0]["Input"]) == items["items"][0]

    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    strict = map_state(child, ItemsPath="$.items", ToleratedFailurePercentage=10, Catch=catch)
    strict["States"]["Caught"] = {"Type": "Pass", "End": True}
    _, done = run(emu, "strict", strict, items)
    assert done["status"] == "SUCCEEDED"  # a Map Run's failure is an ordinary error: States.ALL catches it
    assert json.loads(done["output"])["Error"] == "States.ExceedToleratedFailureThreshold"

    one_at_a_time = map_state(child, ItemsPath="$.items", ToleratedFailureCount=1, MaxConcurrency=1)
    execution, done = run(emu, "count", one_at_a_time, items)
    assert (done["status"], done["error"]) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    counts = map_run(emu, execution)["itemCounts"]
    assert (counts["failed"], counts["succeeded"], counts["pending"], counts["total"]) == (2, 0, 8, 10)
    assert [e["type"] for e in last_events(emu, execution, 3)] == ["ExecutionFailed", "MapStateFailed", "MapRunFailed"]


def test_a_child_past_25000_events_fails_alone_against_its_own_history(emu):
    loop = map_state({**DISTRIBUTED, **counting_loop()}, ItemsPath="$.items", ToleratedFailureCount=1)
    execution, done = run(emu, "loops", loop, {"items": [{"n": 6300}, {"n": 2}]})
    assert done["status"] == "SUCCEEDED"
    failed, passed = json.loads(done["output"])
    assert (failed["Status"], failed["Error"], failed["Cause"]) == ("FAILED", "States.Runtime", HISTORY_CAUSE)
    assert passed == {"i": 2, "n": 2}
    stats = emu.stepfunctions.stats()
    assert stats[failed["ExecutionArn"]]["events"] == 25_000
    assert stats[execution]["events"] == 8


def test_item_reader_and_result_writer_use_s3(emu):
    s3 = boto3.client("s3")
    for bucket in ("items", "results"):
        s3.create_bucket(Bucket=bucket)
    items = [{"user": f"u{i}", "bad": i == 3} for i in range(25)]
    s3.put_object(Bucket="items", Key="batch.json", Body=json.dumps(items).encode())
    child = {
        **DISTRIBUTED,
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.bad", "BooleanEquals": True, "Next": "Bad"}],
                "Default": "Done",
            },
            "Bad": {"Type": "Fail", "Error": "Item.Bad"},
            "Done": {"Type": "Pass", "Parameters": {"done.$": "$.user"}, "End": True},
        },
    }
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "items", "Key.$": "$.key"},
    }
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "results", "Prefix": "runs"}}
    definition = map_state(child, ItemReader=reader, ResultWriter=writer, ToleratedFailureCount=1, MaxConcurrency=5)
    execution, done = run(emu, "from-s3", definition, {"key": "batch.json"})
    assert done["status"] == "SUCCEEDED"
    output = json.loads(done["output"])
    run_id = output["MapRunArn"].rsplit(":", 1)[1]
    assert output["ResultWriterDetails"] == {"Bucket": "results", "Key": f"runs/{run_id}/manifest.json"}
    manifest = json.loads(s3.get_object(Bucket="results", Key=f"runs/{run_id}/manifest.json")["Body"].read())
    assert manifest["MapRunArn"] == output["MapRunArn"] and manifest["DestinationBucket"] == "results"
    assert [f["Key"] for f in manifest["ResultFiles"]["SUCCEEDED"]] == [f"runs/{run_id}/SUCCEEDED_0.json"]
    succeeded = json.loads(s3.get_object(Bucket="results", Key=f"runs/{run_id}/SUCCEEDED_0.json")["Body"].read())
    assert sorted(json.loads(r["Output"])["done"] for r in succeeded) == sorted(f"u{i}" for i in range(25) if i != 3)
    [failed] = json.loads(s3.get_object(Bucket="results", Key=f"runs/{run_id}/FAILED_0.json")["Body"].read())
    assert (failed["Status"], failed["Error"], json.loads(failed["Input"])) == ("FAILED", "Item.Bad", items[3])
    assert map_run(emu, execution)["itemCounts"]["resultsWritten"] == 25

    _, done = run(emu, "missing", definition, {"key": "nowhere.json"})
    assert (done["status"], done["error"]) == ("FAILED", "States.ItemReaderFailed")


def test_children_run_lambda_tasks_retries_and_task_tokens_on_their_own_timelines(emu):
    attempts: dict[int, int] = {}
    lock = threading.Lock()

    def flaky(event: dict[str, Any]) -> dict[str, Any]:
        with lock:
            attempts[event["i"]] = attempts.get(event["i"], 0) + 1
            if event["i"] == 5:
                raise ValueError("item 5 is broken")
            if attempts[event["i"]] == 1:
                raise RuntimeError("first call fails")
        return {"i": event["i"]}

    tokens: list[tuple[int, str]] = []
    emu.lambdas.register("flaky", flaky)
    emu.lambdas.register("ask", lambda event: tokens.append((event["i"], event["token"])))
    child = {
        **DISTRIBUTED,
        "StartAt": "Work",
        "States": {
            "Work": {
                **task("flaky", ResultSelector={"i.$": "$.Payload.i"}, Next="Ask"),
                "Parameters": {"FunctionName": "flaky", "Payload": {"i.$": "$.i"}},
                "Retry": [{"ErrorEquals": ["RuntimeError"], "IntervalSeconds": 60, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "Ask"}],
            },
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "ask", "Payload": {"i.$": "$.i", "token.$": "$$.Task.Token"}},
                "ResultPath": "$.answer",
                "End": True,
            },
        },
    }
    started = emu.clock.time()
    execution = start(
        emu,
        machine(emu, "asks", map_state(child, ItemsPath="$.items", MaxConcurrency=3)),
        {"items": [{"i": i} for i in range(6)]},
    )
    sfn = boto3.client("stepfunctions")
    for wave in (1, 2):
        wait_for(lambda wave=wave: len(tokens) == 3 * wave)
        time.sleep(0.1)
        assert len(tokens) == 3 * wave  # the three slots are taken by children waiting for an answer
        for i, token in tokens[3 * (wave - 1) :]:
            sfn.send_task_success(taskToken=token, output=json.dumps({"answer": i * 10}))
    done = finished(emu, execution)
    assert done["status"] == "SUCCEEDED"
    output = json.loads(done["output"])
    assert [o["answer"] for o in output] == [{"answer": i * 10} for i in range(6)]
    assert output[5]["error"]["Error"] == "ValueError" and "error" not in output[4]  # caught in its child
    assert attempts == {**dict.fromkeys(range(5), 2), 5: 1}
    assert emu.clock.time() - started == 2 * 60  # two waves, each child retrying after 60 s


# --- the virtual clock: Parallel, inline Map, startExecution.sync ----------------------------


def test_inline_map_iterations_and_parallel_branches_run_on_timelines_of_their_own(emu):
    waiting = {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}
    for concurrency, seconds, makespan in ((0, [300] * 10, 300), (2, [300, 100, 100, 100], 300), (10, [60] * 95, 600)):
        started = emu.clock.time()
        _, done = run(
            emu,
            f"inline-{concurrency}",
            map_state(waiting, ItemsPath="$.items", MaxConcurrency=concurrency),
            {"items": [{"s": s} for s in seconds]},
        )
        assert done["status"] == "SUCCEEDED"
        assert emu.clock.time() - started == makespan

    # state names are unique across the machine, branches included
    other = {"StartAt": "W2", "States": {"W2": waiting["States"]["W"]}}
    branches = {"Type": "Parallel", "Branches": [waiting, other], "End": True}
    started = emu.clock.time()
    _, done = run(
        emu, "parallel", {"StartAt": "Both", "States": {"Both": {**branches, "Parameters": {"s.$": "$.s"}}}}, {"s": 250}
    )
    assert done["status"] == "SUCCEEDED" and emu.clock.time() - started == 250


def test_start_execution_sync_runs_the_child_on_the_virtual_clock_with_its_own_history(emu):
    child = machine(
        emu,
        "child",
        {
            "StartAt": "Work",
            "States": {
                "Work": {"Type": "Wait", "Seconds": 600, "Next": "Done"},
                "Done": {"Type": "Pass", "Parameters": {"x.$": "$.x", "done": True}, "End": True},
            },
        },
    )
    call = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": child, "Input": {"x.$": "$.x"}},
        "End": True,
    }
    started = emu.clock.time()
    parent, done = run(emu, "parent", {"StartAt": "Call", "States": {"Call": call}}, {"x": 7})
    assert done["status"] == "SUCCEEDED"
    result = json.loads(done["output"])
    assert result["Output"] == {"x": 7, "done": True} and result["Status"] == "SUCCEEDED"
    assert emu.clock.time() - started == 600
    stats = emu.stepfunctions.stats()
    assert stats[result["ExecutionArn"]]["events"] == len(history(emu, result["ExecutionArn"])) == 6
    assert stats[parent]["events"] == len(history(emu, parent))

    # three children started from a Map's iterations run side by side: 600 s, not 1,800
    started = emu.clock.time()
    fan = map_state({"StartAt": "Call", "States": {"Call": call}}, ItemsPath="$.items")
    _, done = run(emu, "fan", fan, {"items": [{"x": 1}, {"x": 2}, {"x": 3}]})
    assert [r["Output"]["x"] for r in json.loads(done["output"])] == [1, 2, 3]
    assert emu.clock.time() - started == 600

    # the parent's clock runs with its child's: a 300 s task timeout ends a 600 s child's wait
    _, done = run(emu, "impatient", {"StartAt": "Call", "States": {"Call": {**call, "TimeoutSeconds": 300}}}, {"x": 1})
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")


def test_a_state_name_used_twice_anywhere_in_a_definition_is_refused_as_aws_refuses_it(emu):
    """State names are unique across the whole machine, Map processors included (moto's parser
    accepts a duplicate; AWS and asl-validator do not)."""
    sfn = emu.client("stepfunctions")
    inner = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": inner, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    with pytest.raises(ClientError) as err:
        sfn.create_state_machine(name="dup", definition=json.dumps(definition), roleArn=ROLE)
    assert err.value.response["Error"]["Code"] == "InvalidDefinition"
    assert "Duplicate State name: Done" in err.value.response["Error"]["Message"]
    inner["States"] = {"ItemDone": {"Type": "Succeed"}}
    inner["StartAt"] = "ItemDone"
    assert sfn.create_state_machine(name="unique", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]


def test_a_task_that_ends_past_its_timeout_on_its_own_timeline_timed_out_however_the_threads_raced(emu):
    """The event a task's timeout waits on (moto's ``terminated_event``): the deadline counts from
    when the state made it, and a set from the waiter's own timeline after the deadline is a timeout,
    even when the task's thread ran first (the race a .sync child used to win 1 run in 4)."""
    from local.emulator.stepfunctions import _virtual_event

    event_type = _virtual_event(emu.clock, emu.stepfunctions)
    late = event_type()  # the state starts
    emu.clock.sleep(600)  # its task runs 600 s (on the shared timeline) before the state waits
    late.set()
    assert late.wait(300) is False

    on_time = event_type()
    emu.clock.sleep(200)
    on_time.set()
    assert on_time.wait(300) is True

    # set from another timeline (a forked one, far ahead): that time is not the waiter's, so on time
    elsewhere = event_type()
    done = threading.Event()

    def answer() -> None:
        emu.clock.fork(emu.clock.time() + 10_000)
        elsewhere.set()
        done.set()

    threading.Thread(target=answer).start()
    done.wait(5)
    assert elsewhere.wait(300) is True
