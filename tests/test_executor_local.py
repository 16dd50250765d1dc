"""Local executor: real detached subprocesses, on-disk job table, slots, timeout, cancel, re-attach."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evotrain.errors import EvotrainError
from evotrain.io import write_model
from workers.executors.base import JobSpec, JobState, JobStatus
from workers.executors.job_files import LaunchRecord, ProcessRef, is_alive, job_files, process_ref
from workers.executors.local import MAX_LAUNCHES, LocalExecutor

POLL = 0.05


def spec(job_id: str, script: str, cwd: Path, **kw: object) -> JobSpec:
    return JobSpec(job_id=job_id, command=["sh", "-c", script], cwd=str(cwd), **kw)


@pytest.fixture()
def ex(tmp_path: Path) -> LocalExecutor:
    return LocalExecutor(tmp_path / "jobs", total_slots=2, kill_grace_s=3.0)


def test_success_writes_result_and_captures_logs(ex: LocalExecutor, tmp_path: Path) -> None:
    st = ex.submit(spec("ok-1", "echo out; echo err >&2; echo $OMP_NUM_THREADS $EVOTRAIN_NUM_THREADS > r.txt",
                        tmp_path, cpu_slots=2))
    assert st.state in {JobState.PENDING, JobState.RUNNING}
    done = ex.wait("ok-1", poll_s=POLL, timeout_s=30)
    assert done.state == JobState.SUCCEEDED and done.exit_code == 0
    assert (tmp_path / "r.txt").read_text().split() == ["2", "2"]  # threads pinned to cpu_slots
    log = ex.logs("ok-1")
    assert "out" in log and "err" in log
    assert ex.logs("ok-1", tail=1) == "err\n"
    # the persisted status is what a reader of the job table sees
    on_disk = JobStatus.model_validate_json((tmp_path / "jobs" / "ok-1" / "status.json").read_text())
    assert on_disk == done and done.started_at is not None and done.ended_at >= done.started_at


def test_failure_keeps_exit_code(ex: LocalExecutor, tmp_path: Path) -> None:
    ex.submit(spec("fail-1", "echo boom; exit 7", tmp_path))
    st = ex.wait("fail-1", poll_s=POLL, timeout_s=30)
    assert st.state == JobState.FAILED and st.exit_code == 7
    assert "exit code 7" in st.message


def test_hang_past_timeout_is_killed(ex: LocalExecutor, tmp_path: Path) -> None:
    t0 = time.monotonic()
    # the command's own child (sleep) is in the same process group and must die with it
    ex.submit(spec("hang-1", "sleep 60 & wait", tmp_path, timeout_s=1.0))
    st = ex.wait("hang-1", poll_s=POLL, timeout_s=30)
    assert st.state == JobState.TIMEOUT
    assert time.monotonic() - t0 < 15
    child = job_files(ex.state_dir, "hang-1").read_optional(job_files(ex.state_dir, "hang-1").child, ProcessRef)
    assert isinstance(child, ProcessRef) and not is_alive(child)


def test_cancel_stops_the_process(ex: LocalExecutor, tmp_path: Path) -> None:
    ex.submit(spec("cancel-1", "echo started > s.txt; sleep 60", tmp_path))
    deadline = time.monotonic() + 20
    while not (tmp_path / "s.txt").exists() and time.monotonic() < deadline:
        time.sleep(POLL)
    st = ex.cancel("cancel-1")
    assert st.state == JobState.CANCELLED
    files = job_files(ex.state_dir, "cancel-1")
    child = files.read_optional(files.child, ProcessRef)
    assert isinstance(child, ProcessRef) and not is_alive(child)
    assert ex.cancel("cancel-1").state == JobState.CANCELLED  # cancelling a finished job is a no-op


def test_cancel_a_queued_job_never_starts_it(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs", total_slots=1)
    ex.submit(spec("busy", "sleep 2", tmp_path))
    ex.submit(spec("queued", "touch ran.txt", tmp_path))
    assert ex.status("queued").state == JobState.PENDING
    assert ex.cancel("queued").state == JobState.CANCELLED
    assert ex.wait("busy", poll_s=POLL, timeout_s=30).state == JobState.SUCCEEDED
    assert ex.status("queued").state == JobState.CANCELLED
    assert not (tmp_path / "ran.txt").exists()


def test_submit_is_idempotent(ex: LocalExecutor, tmp_path: Path) -> None:
    s = spec("once-1", "echo x >> counter.txt; sleep 1", tmp_path)
    ex.submit(s)
    ex.submit(s)  # while running
    LocalExecutor(ex.state_dir, total_slots=2).submit(s)  # from another executor instance
    assert ex.wait("once-1", poll_s=POLL, timeout_s=30).state == JobState.SUCCEEDED
    assert ex.submit(s).state == JobState.SUCCEEDED  # after it finished: picked up, not re-run
    assert (tmp_path / "counter.txt").read_text() == "x\n"


def test_reattach_from_new_instance(ex: LocalExecutor, tmp_path: Path) -> None:
    ex.submit(spec("long-1", "sleep 3; echo done > d.txt", tmp_path))
    ex.submit(spec("short-1", "echo quick", tmp_path))
    assert ex.wait("short-1", poll_s=POLL, timeout_s=30).state == JobState.SUCCEEDED
    fresh = LocalExecutor(ex.state_dir, total_slots=2)
    running = fresh.attach("long-1")
    assert running is not None and running.state == JobState.RUNNING
    finished = fresh.attach("short-1")
    assert finished is not None and finished.state == JobState.SUCCEEDED and "quick" in fresh.logs("short-1")
    assert fresh.wait("long-1", poll_s=POLL, timeout_s=30).state == JobState.SUCCEEDED
    assert (tmp_path / "d.txt").read_text() == "done\n"
    assert fresh.attach("never-submitted") is None


def _intervals(paths: list[Path]) -> list[tuple[float, float]]:
    out = []
    for p in paths:
        start, end = (float(x) for x in p.read_text().split())
        out.append((start, end))
    return sorted(out)


def test_slots_are_never_oversubscribed(tmp_path: Path) -> None:
    state = tmp_path / "jobs"
    a, b = LocalExecutor(state, total_slots=2), LocalExecutor(state, total_slots=2)  # two executors agree
    script = "s=$(date +%s.%N); sleep 0.4; e=$(date +%s.%N); echo $s $e > {name}.t"
    ids = [f"slot-{i}" for i in range(4)]
    for i, job_id in enumerate(ids):
        (a if i % 2 else b).submit(spec(job_id, script.format(name=job_id), tmp_path, cpu_slots=2))
    assert [a.status(j).state for j in ids].count(JobState.RUNNING) == 1
    for job_id in ids:
        assert a.wait(job_id, poll_s=POLL, timeout_s=60).state == JobState.SUCCEEDED
    spans = _intervals([tmp_path / f"{j}.t" for j in ids])
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, f"jobs overlapped: {spans}"


def test_small_jobs_share_the_slots(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs", total_slots=2)
    for i in range(2):
        ex.submit(spec(f"par-{i}", f"sleep 1; echo $(date +%s.%N) > p{i}.t", tmp_path, cpu_slots=1))
    assert [ex.status(f"par-{i}").state for i in range(2)] == [JobState.RUNNING, JobState.RUNNING]
    for i in range(2):
        assert ex.wait(f"par-{i}", poll_s=POLL, timeout_s=30).state == JobState.SUCCEEDED


def test_bad_specs_are_one_line_errors(ex: LocalExecutor, tmp_path: Path) -> None:
    with pytest.raises(EvotrainError, match="field 'job_id'"):
        ex.submit(spec("../escape", "true", tmp_path))
    with pytest.raises(EvotrainError, match="field 'cpu_slots'"):
        ex.submit(spec("big-1", "true", tmp_path, cpu_slots=3))
    with pytest.raises(EvotrainError, match="field 'gpus'"):
        ex.submit(spec("gpu-1", "true", tmp_path, gpus=1))
    with pytest.raises(EvotrainError, match="field 'cwd'"):
        ex.submit(spec("cwd-1", "true", tmp_path / "missing"))
    with pytest.raises(EvotrainError, match="field 'cwd'"):
        ex.submit(spec("cwd-2", "true", Path("relative/dir")))
    with pytest.raises(EvotrainError, match="unknown job id"):
        ex.status("nope")
    ex.submit(spec("same-1", "true", tmp_path))
    with pytest.raises(EvotrainError, match="different spec"):
        ex.submit(spec("same-1", "false", tmp_path))
    assert not (ex.state_dir / "big-1").exists()  # nothing half-written for a refused job


def test_recycled_pid_is_not_the_job(ex: LocalExecutor, tmp_path: Path) -> None:
    # a job whose wrapper pid now belongs to another process (this test) must not look alive
    files = job_files(ex.state_dir, "ghost-1")
    files.dir.mkdir(parents=True)
    write_model(files.spec, spec("ghost-1", "true", tmp_path))
    now = time.time()
    files.write_status(JobStatus(job_id="ghost-1", state=JobState.RUNNING, submitted_at=now, started_at=now))
    write_model(files.launch, LaunchRecord(launched_at=now))
    write_model(files.pid, ProcessRef(pid=os.getpid(), create_time=123.0))
    st = ex.status("ghost-1")
    assert st.state == JobState.FAILED and "without recording an exit code" in st.message


def test_a_clock_step_does_not_make_a_running_job_look_dead(ex: LocalExecutor, tmp_path: Path) -> None:
    """psutil's create_time adds the boot time, which moves when the wall clock is stepped; the
    wrapper and the executor may compute it a second apart for the same process."""
    ex.submit(spec("step-1", "sleep 2; echo done > out.txt", tmp_path))
    files = job_files(ex.state_dir, "step-1")
    deadline = time.monotonic() + 20
    while not files.pid.is_file() and time.monotonic() < deadline:
        time.sleep(POLL)
    ref = files.read_optional(files.pid, ProcessRef)
    assert isinstance(ref, ProcessRef) and ref.start_ticks is not None
    write_model(files.pid, ref.model_copy(update={"create_time": ref.create_time + 1.0}))  # as after a step
    assert ex.status("step-1").state == JobState.RUNNING
    done = ex.wait("step-1", poll_s=POLL, timeout_s=30)
    assert done.state == JobState.SUCCEEDED and (tmp_path / "out.txt").read_text() == "done\n"


def test_a_recycled_pid_is_told_by_its_start_ticks() -> None:
    me = process_ref(os.getpid())
    assert me is not None and me.start_ticks is not None
    assert is_alive(me)
    assert not is_alive(me.model_copy(update={"start_ticks": me.start_ticks - 1}))  # another process, same pid
    assert is_alive(me.model_copy(update={"create_time": me.create_time - 1.0}))  # a clock step only


def test_job_survives_orchestrator_kill(tmp_path: Path) -> None:
    state = tmp_path / "jobs"
    driver = textwrap.dedent(f"""
        import sys, time
        from workers.executors.base import JobSpec
        from workers.executors.local import LocalExecutor
        ex = LocalExecutor({str(state)!r}, total_slots=2)
        ex.submit(JobSpec(job_id="survivor", command=["sh", "-c", "sleep 3; echo alive > out.txt"],
                          cwd={str(tmp_path)!r}))
        ex.submit(JobSpec(job_id="deadline", command=["sleep", "60"], cwd={str(tmp_path)!r}, timeout_s=1.0))
        print("submitted", flush=True)
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", driver], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "submitted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ex = LocalExecutor(state, total_slots=2)
    st = ex.attach("survivor")
    assert st is not None and st.state == JobState.RUNNING
    assert ex.wait("survivor", poll_s=POLL, timeout_s=30).state == JobState.SUCCEEDED
    assert (tmp_path / "out.txt").read_text() == "alive\n"
    # the deadline held although the process that submitted the job was dead
    assert ex.wait("deadline", poll_s=POLL, timeout_s=30).state == JobState.TIMEOUT


def orphan_launch(ex: LocalExecutor, job_id: str, script: str, cwd: Path, launches: int) -> None:
    """The files an executor leaves when it dies between recording a launch and starting the wrapper."""
    files = job_files(ex.state_dir, job_id)
    files.dir.mkdir(parents=True)
    write_model(files.spec, spec(job_id, script, cwd))
    then = time.time() - 60
    files.write_status(JobStatus(job_id=job_id, state=JobState.RUNNING, submitted_at=then, started_at=then))
    write_model(files.launch, LaunchRecord(launched_at=then, launches=launches))


def test_launch_that_never_started_is_requeued_and_runs_once(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs", total_slots=2, launch_grace_s=5.0)
    orphan_launch(ex, "lost-1", "echo ran >> runs.txt", tmp_path, launches=1)
    assert ex.wait("lost-1", poll_s=POLL, timeout_s=30).state == JobState.SUCCEEDED
    assert (tmp_path / "runs.txt").read_text() == "ran\n"
    launch = LaunchRecord.model_validate_json(job_files(ex.state_dir, "lost-1").launch.read_text())
    assert launch.launches == 2


def test_launch_that_never_started_fails_after_its_last_requeue(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs", total_slots=2, launch_grace_s=5.0)
    orphan_launch(ex, "lost-3", "echo ran >> runs.txt", tmp_path, launches=MAX_LAUNCHES)
    st = ex.status("lost-3")
    assert st.state == JobState.FAILED and "never started" in st.message
    assert not (tmp_path / "runs.txt").exists()


def test_a_second_wrapper_of_one_job_leaves_it_to_the_first(tmp_path: Path) -> None:
    ex = LocalExecutor(tmp_path / "jobs", total_slots=2)
    ex.submit(spec("twice", "echo ran >> runs.txt; sleep 2", tmp_path))
    files = job_files(ex.state_dir, "twice")
    deadline = time.time() + 20
    while not files.child.is_file() and time.time() < deadline:  # the first wrapper holds the lock
        time.sleep(POLL)
    second = subprocess.run([sys.executable, "-m", "workers.executors.job_wrapper", str(files.dir)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert second.returncode == 0 and "another wrapper holds" in second.stderr
    assert ex.wait("twice", poll_s=POLL, timeout_s=30).state == JobState.SUCCEEDED
    late = subprocess.run([sys.executable, "-m", "workers.executors.job_wrapper", str(files.dir)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert late.returncode == 0  # the job has ended: a late wrapper does not run it again
    assert (tmp_path / "runs.txt").read_text() == "ran\n"


def test_threads_sharing_one_executor(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ex = LocalExecutor(tmp_path / "jobs", total_slots=2)

    def one(i: int) -> JobState:
        ex.submit(spec(f"thr-{i}", f"echo {i} > t{i}.out", tmp_path))
        return ex.wait(f"thr-{i}", poll_s=POLL, timeout_s=60).state

    with ThreadPoolExecutor(max_workers=4) as pool:
        states = list(pool.map(one, range(4)))
    assert states == [JobState.SUCCEEDED] * 4
    assert [(tmp_path / f"t{i}.out").read_text() for i in range(4)] == [f"{i}\n" for i in range(4)]


def test_an_exited_unreaped_child_is_dead() -> None:
    """A zombie keeps its pid and start ticks until reaped: is_alive must read its state, not just its start."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    ref = process_ref(child.pid)
    assert ref is not None and ref.start_ticks is not None and is_alive(ref)
    assert child.stdin is not None
    child.stdin.close()  # the child exits; nobody reaps it until child.wait() below
    deadline = time.time() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().split(")")[-1].split()[0] != "Z" and time.time() < deadline:
        time.sleep(0.05)
    assert not is_alive(ref)
    assert process_ref(child.pid) is not None  # still a process table entry, so the state is what decides
    child.wait()
    assert not is_alive(ref)
