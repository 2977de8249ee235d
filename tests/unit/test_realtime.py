"""etl/realtime.py: the lifecycle the poller, watcher and simulator share (state, heartbeat, run loop,
loads through the inbox, the writer named in the run log)."""
from __future__ import annotations

import threading

from etl.realtime import Lifecycle, Pause
from lake import runlog, writerstate
from tests.helpers import SR_HEADER, sr_row


def test_the_loop_runs_to_its_limit_beating_between_steps_and_saves_stopped(lake_dir):
    life = Lifecycle("test-writer")
    life.started("test", name="a test writer")
    seen, pauses = [], []

    def step() -> dict:
        # The state as saved when the step starts: running, with the previous step's heartbeat.
        seen.append(writerstate.load("test-writer").get("state"))
        return {"n": len(seen)}

    def pause(result: dict, seconds: float) -> Pause:
        pauses.append((result["n"], seconds >= 0))
        return Pause(0.0, 30, "backing_off")

    life.run(step, pause, limit=3)
    assert pauses == [(1, True), (2, True), (3, True)]
    assert seen == [None, "backing_off", "backing_off"]
    saved = writerstate.load("test-writer")
    assert (saved["state"], saved["kind"], saved["key"], saved["name"]) == ("stopped", "test", "test-writer", "a test writer")
    assert saved["stopped_at"] and saved["expect_by"]


def test_a_stop_ends_the_loop_after_the_step_in_hand(lake_dir):
    stop = threading.Event()
    life = Lifecycle("test-writer", stop)
    calls = []

    def step() -> dict:
        calls.append(1)
        stop.set()  # a signal arrives during the step
        return {}

    life.run(step, lambda *_: Pause(60, 90))  # no limit: only the stop ends it, without waiting 60 s
    assert calls == [1] and writerstate.load("test-writer")["state"] == "stopped"


def test_a_load_from_memory_names_its_writer_in_the_run_log_and_leaves_no_temp_file(lake_dir):
    life = Lifecycle("test-writer")

    def write(fh) -> None:
        fh.write(",".join(SR_HEADER) + "\n" + ",".join(sr_row(1).values()) + "\n")

    result = life.load_written("service_requests", "test-batch.csv", "plain", write)
    assert (result["outcome"], result["inserted"]) == ("published", 1)
    (record,) = runlog.records("service_requests")
    assert record["writer"] == "test-writer" and "test-batch-" in record["source"]
    assert list((writerstate.folder() / "inbox").iterdir()) == []
    assert life.state["datasets"]["service_requests"]["last_version"] == 1


def test_an_error_is_counted_and_saved_at_once(lake_dir):
    life = Lifecycle("test-writer")
    life.error("the feed answered 500", "service_requests")
    errors = writerstate.load("test-writer")["errors"]
    assert errors["count"] == 1 and errors["last"]["message"] == "the feed answered 500"
