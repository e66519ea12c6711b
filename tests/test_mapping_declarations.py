"""Event source mappings declared in lsim.toml and template.yaml: created when the Simulator starts, updated
when the declaration changes (and only then), deleted when it is gone; bad declarations are a clear error
naming the file and the key. Real SQLite, real project files, the SAM reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.clock import RealClock
from simulator.errors import ProjectFileError
from simulator.mappings.models import EventSourceMapping
from simulator.project import load_project
from simulator.queues import QueueService
from simulator.store import Store

FUNCTIONS = """
[functions.worker]
handler = "app.handler"
runtime = "python3.11"
code = "src"
"""


def project(folder: Path, events: str, functions: str = FUNCTIONS) -> Path:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "app.py").write_text("def handler(event, context):\n    return None\n")
    (folder / "lsim.toml").write_text(functions + events)
    return folder


def started(folder: Path, queues: dict[str, dict[str, str]] | None = None) -> list[EventSourceMapping]:
    """Create the queues (as declared queues are, before the mappings), start a Simulator on the project
    and return its mappings."""
    store = Store(folder / ".lsim")
    service = QueueService(store, RealClock(), region="us-east-1", account_id="123456789012")
    for name, attributes in (queues if queues is not None else {"orders": {}}).items():
        service.create_queue(name, attributes)
    with BlockingSimulator(load_project(folder), backend="process", store=store) as lsim:
        return lsim.simulator.mappings.all()


def test_a_declared_mapping_is_created_with_its_settings(tmp_path: Path) -> None:
    folder = project(tmp_path, """
[functions.worker.events.orders]
type = "sqs"
queue = "orders"
batch_size = 50
maximum_batching_window_in_seconds = 2
maximum_concurrency = 3
function_response_types = ["ReportBatchItemFailures"]
filters = ['{"body": {"kind": ["order"]}}', { body = { kind = ["refund"] } }]
""")  # fmt: skip
    (mapping,) = started(folder)
    assert mapping.function_name == "worker" and mapping.qualifier is None
    assert mapping.queue_name == "orders"
    assert mapping.event_source_arn == "arn:aws:sqs:us-east-1:123456789012:orders"
    assert (mapping.batch_size, mapping.maximum_batching_window_s, mapping.maximum_concurrency) == (50, 2, 3)
    assert mapping.report_batch_item_failures and mapping.enabled and mapping.state == "Enabled"
    assert mapping.filter_patterns == ('{"body": {"kind": ["order"]}}', '{"body": {"kind": ["refund"]}}')
    assert mapping.declared_by == "functions.worker.events.orders"


def test_restart_keeps_the_uuid_and_api_changes_until_the_file_changes(tmp_path: Path) -> None:
    folder = project(tmp_path, '\n[functions.worker.events.orders]\ntype = "sqs"\nqueue = "orders"\n')
    (first,) = started(folder)
    lsim = BlockingSimulator(load_project(folder), backend="process", store=Store(folder / ".lsim"))
    try:
        lsim.simulator.mappings.update_event_source_mapping(first.uuid, enabled=False)  # through the API
    finally:
        lsim.close()
    (again,) = started(folder)
    assert again.uuid == first.uuid and not again.enabled  # the file did not change: the API's change stays
    project(folder, '\n[functions.worker.events.orders]\ntype = "sqs"\nqueue = "orders"\nbatch_size = 5\n')
    (changed,) = started(folder)
    assert changed.uuid == first.uuid and changed.batch_size == 5 and changed.enabled  # the file wins again
    project(folder, "")
    assert started(folder) == []  # the declaration is gone: so is its mapping


def test_an_api_mapping_is_left_alone(tmp_path: Path) -> None:
    folder = project(tmp_path, "")
    lsim = BlockingSimulator(load_project(folder), backend="process", store=Store(folder / ".lsim"))
    try:
        lsim.simulator.queues.create_queue("orders")
        made = lsim.simulator.mappings.create_event_source_mapping(
            "worker", "arn:aws:sqs:us-east-1:123456789012:orders"
        )
    finally:
        lsim.close()
    assert [m.uuid for m in started(folder)] == [made.uuid]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('type = "kinesis"\nqueue = "orders"', "functions.worker.events.orders.type: type 'kinesis': lsim runs event "
                                               "source mappings from SQS queues only"),
        ('type = "sqs"', "functions.worker.events.orders.queue: Field required"),
        ('type = "sqs"\nqueue = "orders"\nbatch_size = 11', "functions.worker.events.orders: Maximum batch window in "
                                                           "seconds must be greater than 0 if maximum batch size is "
                                                           "greater than 10"),
        ('type = "sqs"\nqueue = "orders"\nbatch_size = 0', "Value '0' at 'batchSize'"),
        ('type = "sqs"\nqueue = "o.fifo"\nmaximum_batching_window_in_seconds = 1',
         "Batching window is not supported for FIFO queues"),
        ('type = "sqs"\nqueue = "orders"\nmaximum_concurrency = 1', "Value '1' at 'scalingConfig.maximumConcurrency'"),
        ('type = "sqs"\nqueue = "orders"\nfilters = ["nope"]', "Invalid filter pattern definition."),
        ('type = "sqs"\nqueue = "orders"\nfunction_response_types = ["All"]', "functionResponseTypes"),
        ('type = "sqs"\nqueue = "orders"\nbatchsize = 5', "functions.worker.events.orders.batchsize: unknown key"),
        ('type = "sqs"\nqueue = "a/b"', "functions.worker.events.orders.queue: queue 'a/b'"),
    ],
)  # fmt: skip
def test_bad_declarations_name_the_file_and_the_key(tmp_path: Path, table: str, message: str) -> None:
    folder = project(tmp_path, f"\n[functions.worker.events.orders]\n{table}\n")
    with pytest.raises(ProjectFileError) as caught:
        load_project(folder)
    assert str(folder / "lsim.toml") in str(caught.value)
    assert message in str(caught.value)


def test_a_declaration_whose_queue_or_rule_fails_at_start(tmp_path: Path) -> None:
    folder = project(tmp_path, '\n[functions.worker.events.orders]\ntype = "sqs"\nqueue = "missing"\n')
    with pytest.raises(ProjectFileError, match=r"lsim\.toml functions\.worker\.events\.orders: Error occurred while "
                                               "ReceiveMessage.*NonExistentQueue"):  # fmt: skip
        started(folder, {})
    slow = FUNCTIONS.replace('code = "src"', 'code = "src"\ntimeout = 60')
    folder = project(tmp_path / "slow", '\n[functions.worker.events.orders]\ntype = "sqs"\nqueue = "orders"\n', slow)
    with pytest.raises(ProjectFileError, match="Queue visibility timeout: 30 seconds is less than Function timeout"):
        started(folder)


def test_the_event_is_not_part_of_the_functions_configuration(tmp_path: Path) -> None:
    folder = project(tmp_path, '\n[functions.worker.events.orders]\ntype = "sqs"\nqueue = "orders"\n')
    function = load_project(folder).functions["worker"]
    assert "events" not in function.model_dump() and "orders" in function.events


def test_declared_queue_and_mapping_together(tmp_path: Path) -> None:
    """[queues.NAME] and the function's event in one lsim.toml: the queue exists before its mapping is made."""
    folder = project(tmp_path, """
[queues.orders]
visibility_timeout = 120

[queues."orders.fifo"]
fifo_queue = true
content_based_deduplication = true
visibility_timeout = 600

[functions.worker.events.orders]
type = "sqs"
queue = "orders"

[functions.worker.events.ordered]
type = "sqs"
queue = "orders.fifo"
batch_size = 10
""", FUNCTIONS.replace('code = "src"', 'code = "src"\ntimeout = 100'))  # fmt: skip
    mappings = {m.queue_name: m for m in started(folder, {})}
    assert set(mappings) == {"orders", "orders.fifo"}
    assert mappings["orders.fifo"].fifo and mappings["orders.fifo"].batch_size == 10


def test_lsim_serve_watch_applies_changed_declarations(tmp_path: Path) -> None:
    """`lsim serve --watch`: a declaration added, changed or removed in lsim.toml changes the mapping at once,
    one console line each; the functions' environments are left alone."""
    from tests.test_api_awscli import start_serve, stop_serve
    from tests.test_watch import client, wait_for

    base = FUNCTIONS + "\n[queues.orders]\n"
    folder = project(tmp_path, "\n[queues.orders]\n")
    served = start_serve(folder, "--watch", "--backend", "process")
    try:
        lambda_client = client(served)
        assert lambda_client.list_event_source_mappings()["EventSourceMappings"] == []
        event = '\n[functions.worker.events.orders]\ntype = "sqs"\nqueue = "orders"\n'
        (folder / "lsim.toml").write_text(base + event)
        wait_for(lambda: any("created event source mapping" in line for line in served.lines), "the creation")
        (mapping,) = lambda_client.list_event_source_mappings()["EventSourceMappings"]
        assert mapping["EventSourceArn"].endswith(":orders") and mapping["BatchSize"] == 10
        (folder / "lsim.toml").write_text(base + event + "batch_size = 4\n")
        wait_for(lambda: any("updated event source mapping" in line for line in served.lines), "the update")
        assert lambda_client.get_event_source_mapping(UUID=mapping["UUID"])["BatchSize"] == 4
        (folder / "lsim.toml").write_text(base + event + "batch_size = 11\n")  # refused when the file is read
        wait_for(lambda: any("Maximum batch window in seconds" in line for line in served.lines), "the complaint")
        (folder / "lsim.toml").write_text(base + event.replace('orders"\n', 'nowhere"\n') + "batch_size = 4\n")
        wait_for(lambda: any("mappings stay as they were" in line for line in served.lines), "the refusal")
        assert lambda_client.get_event_source_mapping(UUID=mapping["UUID"])["BatchSize"] == 4
        (folder / "lsim.toml").write_text(base)
        wait_for(lambda: any("deleted event source mapping" in line for line in served.lines), "the removal")
        assert lambda_client.list_event_source_mappings()["EventSourceMappings"] == []
        assert not any("start fresh environments" in line for line in served.lines), served.console()
    finally:
        assert stop_serve(served) == 0


def test_a_changed_declaration_is_no_change_of_the_function(tmp_path: Path) -> None:
    from simulator.project_changes import compare_projects

    folder = project(tmp_path, "")
    before = load_project(folder)
    after = load_project(project(folder, '\n[functions.worker.events.orders]\ntype = "sqs"\nqueue = "o"\n'))
    changes = compare_projects(before, after)
    assert changes.events == ["worker"] and not changes.changed and bool(changes)
    assert not compare_projects(after, after)


def test_the_filter_quota_is_a_limit(tmp_path: Path) -> None:
    """AWS allows 5 filters per mapping, 10 on request: [limits] event_source_mapping_filters says which."""
    six = "filters = [" + ", ".join(f'\'{{"body": {{"k": ["{n}"]}}}}\'' for n in range(6)) + "]\n"
    event = f'\n[functions.worker.events.orders]\ntype = "sqs"\nqueue = "orders"\n{six}'
    with pytest.raises(ProjectFileError, match="6 filters given: an event source mapping takes at most 5"):
        load_project(project(tmp_path / "a", event))
    folder = project(tmp_path / "b", event, "[limits]\nevent_source_mapping_filters = 10\n" + FUNCTIONS)
    (mapping,) = started(folder)
    assert len(mapping.filter_patterns) == 6
    with BlockingSimulator(load_project(folder), backend="process", store=Store(folder / ".lsim")) as lsim:
        seven = (*mapping.filter_patterns, '{"body": {"k": ["7"]}}')
        criteria = {"Filters": [{"Pattern": p} for p in seven]}
        assert lsim.simulator.mappings.update_event_source_mapping(mapping.uuid, filter_criteria=criteria)
