"""Several processes sharing one store: concurrent writers, and a driver killed with -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from crystallize.store import open_store

WRITER_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from crystallize.record import ReplicateRecord, StepRecord
    from crystallize.store import open_store

    root, go_file, name = sys.argv[1], sys.argv[2], sys.argv[3]
    store = open_store(root)  # both processes may create the schema at the same time
    run = store.create_run(experiment=name, fingerprint="f", spec={}, replicates=1500,
                           conditions=["c"], base_seed=0)
    print(run.run_id, flush=True)
    while not os.path.exists(go_file):
        time.sleep(0.001)
    for batch in range(300):
        store.append_records(run.run_id, [
            ReplicateRecord("c", batch * 5 + i, i, {"v": [batch, float(i)], "who": [name]},
                            [StepRecord("s", {"pad": "x" * 200})])
            for i in range(5)
        ])
        store.heartbeat(run.run_id)
    store.finish_run(run.run_id, "completed")
    store.close()
    """
)

CRASH_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from crystallize.record import ReplicateRecord, StepRecord
    from crystallize.store import RecordWriter, open_store

    store = open_store(sys.argv[1])
    run = store.create_run(experiment="crash", fingerprint="f", spec={}, replicates=10**6,
                           conditions=["c"], base_seed=0)
    print("run", run.run_id, flush=True)
    writer = RecordWriter(store, run.run_id, interval=0.1)
    i = 0
    while True:
        writer.add([ReplicateRecord("c", i, i, {"v": [i, i / 2]}, [StepRecord("s", {"i": i})])])
        i += 1
        print("added", i, time.monotonic(), flush=True)
        if i == 50:
            writer.flush()
            print("flushed", i, flush=True)
        time.sleep(0.002)
    """
)


def test_two_processes_write_the_same_new_store_at_once(tmp_path):
    root, go = tmp_path / "data", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, str(root), str(go), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("alpha", "beta")
    ]
    run_ids = [p.stdout.readline().strip() for p in procs]
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    with open_store(root) as store:
        for run_id, name in zip(run_ids, ("alpha", "beta"), strict=True):
            run = store.get_run(run_id)
            assert run.status == "completed" and run.n_records == 1500
            records = store.load_records(run_id)
            assert [r.replicate for r in records] == list(range(1500))
            assert {r.metrics["who"][0] for r in records} == {name}
            assert records[-1].metrics["v"] == [299, 4.0]


def test_killed_driver_loses_at_most_the_last_interval(tmp_path):
    root = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_SCRIPT, str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 20
    while sum(line.startswith("added") for line in list(lines)) < 300:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the writer script is too slow"
        time.sleep(0.01)
    killed_at = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)  # reaped, so its pid is really gone
    reader.join(timeout=10)
    proc.stderr.close()

    run_id = lines[0].split()[1]
    added = [
        (int(n), float(t))
        # complete lines only: the kill can cut the last one short
        for kind, n, t in (line.split() for line in lines[1:] if line.startswith("added") and line.endswith("\n"))
    ]
    flushed = [int(line.split()[1]) for line in lines if line.startswith("flushed")]
    assert flushed == [50]
    # records added more than interval (0.1 s) + 50 ms slack before the kill must be stored
    must_have = max(n for n, t in added if t <= killed_at - 0.15)
    total_added = added[-1][0]

    with open_store(root) as store:
        run = store.get_run(run_id)
        assert run.status == "interrupted"
        assert "ended without finishing" in run.warnings[-1]
        records = store.load_records(run_id)
    stored = len(records)
    assert stored >= must_have >= 50, (stored, must_have, total_added)
    assert stored <= total_added + 1  # the last add may not have been printed
    assert [r.replicate for r in records] == list(range(stored))  # a prefix, nothing torn
    assert records[-1].metrics["v"] == [stored - 1, (stored - 1) / 2]
    assert records[-1].steps[0].params == {"i": stored - 1}


def test_writer_left_open_is_flushed_at_interpreter_exit(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from crystallize.record import ReplicateRecord
        from crystallize.store import RecordWriter, open_store

        store = open_store(sys.argv[1])
        run = store.create_run(experiment="e", fingerprint="f", spec={}, replicates=7,
                               conditions=["c"], base_seed=0)
        print(run.run_id)
        writer = RecordWriter(store, run.run_id, interval=600)
        writer.add([ReplicateRecord("c", i, i, {}, []) for i in range(7)])
        # exits without flush() or close()
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    with open_store(tmp_path) as store:
        assert store.get_run(out.stdout.strip()).n_records == 7
