"""Executors for parallel grading: local processes, a local or an existing Dask cluster."""

import json

import pytest

from autograder.grading import engines
from autograder.grading.course import CourseSetupError
from autograder.grading.engines import check_engine, describe_engine, open_executor

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    """An existing Dask cluster (one worker process, one thread) to connect to."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as running:
        yield running


def test_an_existing_scheduler_address_runs_tasks_with_its_thread_count(cluster):
    with open_executor("dask", scheduler=cluster.scheduler_address) as (executor, slots):
        assert slots == 1
        assert executor.submit(pow, 2, 10).result() == 1024
    with open_executor("dask", workers=4, scheduler=cluster.scheduler_address) as (_, slots):
        assert slots == 4


def test_a_scheduler_file_works_like_an_address(cluster, tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    scheduler_file.write_text(json.dumps({"address": cluster.scheduler_address}))
    with open_executor("dask", scheduler=str(scheduler_file)) as (executor, _):
        assert executor.submit(sum, [1, 2, 3]).result() == 6


def test_a_cluster_without_workers_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(engines, "CONNECT_TIMEOUT", "1s")
    with distributed.LocalCluster(n_workers=0, processes=True,
                                  dashboard_address=":0") as empty:
        with pytest.raises(CourseSetupError, match="has no workers"):
            with open_executor("dask", scheduler=empty.scheduler_address):
                pass


def test_local_processes_run_tasks():
    with open_executor("processes", workers=2) as (executor, slots):
        assert slots == 2
        assert executor.submit(pow, 3, 3).result() == 27


def test_engine_names_and_scheduler_are_checked():
    with pytest.raises(ValueError, match="not one of"):
        check_engine("threads")
    with pytest.raises(ValueError, match="needs engine='dask'"):
        check_engine("processes", "tcp://127.0.0.1:8786")
    assert "local Dask cluster" in describe_engine("dask", 2)
    assert "tcp://head:8786" in describe_engine("dask", 8, "tcp://head:8786")
    assert describe_engine("processes", 2) == "2 worker processes on this machine"
