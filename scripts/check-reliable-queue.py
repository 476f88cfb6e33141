#!/usr/bin/env python3
"""A reliable job queue on emberkv, end to end, through a SIGKILL.

The pattern redis-py users write for "at least once" queues:

- producers `LPUSH jobs <id>` and count a job as enqueued once the server
  acknowledges it;
- consumers `BLMOVE jobs processing RIGHT LEFT <timeout>`, do the job (`SADD
  done <id>`), then `LREM processing 1 <id>`;
- on (re)start, a recovery step moves whatever is left in `processing` back to
  `jobs` (work a consumer took but had not finished when the server died).

The server runs with `--appendfsync always`. Midway it is SIGKILLed and
restarted; producers and consumers reconnect and go on. At the end every job
whose LPUSH was acknowledged must be in `done`: processed at least once,
none lost.

Usage: check-reliable-queue.py [path/to/emberkv-server]
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

PRODUCERS = 3
CONSUMERS = 4
JOBS_PER_PRODUCER = 1500


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, port, data):
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--dir", data, "--appendfsync", "always"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            redis.Redis(port=port).ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("emberkv-server did not start")


def client(port):
    return redis.Redis(port=port, socket_timeout=5, decode_responses=True)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/debug/emberkv-server"
    port = free_port()
    data = tempfile.mkdtemp(prefix="emberkv-queue-")
    proc = start(binary, port, data)
    acked = set()
    acked_lock = threading.Lock()
    stop = threading.Event()
    producers_done = threading.Event()

    def producer(p):
        r = client(port)
        i = 0
        while i < JOBS_PER_PRODUCER:
            job = f"p{p}-{i}"
            try:
                r.lpush("jobs", job)
            except redis.RedisError:
                time.sleep(0.05)
                continue  # not acknowledged: send it again
            with acked_lock:
                acked.add(job)
            i += 1

    def consumer():
        r = client(port)
        while not stop.is_set():
            try:
                job = r.blmove("jobs", "processing", 0.2, "RIGHT", "LEFT")
                if job is None:
                    continue
                r.sadd("done", job)
                r.lrem("processing", 1, job)
            except redis.RedisError:
                time.sleep(0.05)

    def recover():
        r = client(port)
        for _ in range(r.llen("processing")):
            if r.lmove("processing", "jobs", "RIGHT", "RIGHT") is None:
                return

    workers = [threading.Thread(target=producer, args=(p,)) for p in range(PRODUCERS)]
    workers += [threading.Thread(target=consumer) for _ in range(CONSUMERS)]
    for w in workers:
        w.start()
    # Let the queue fill and drain for a while, then kill the server mid-run.
    deadline = time.time() + 60
    while len(acked) < PRODUCERS * JOBS_PER_PRODUCER // 3 and time.time() < deadline:
        time.sleep(0.05)
    at_kill = len(acked)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.3)
    proc = start(binary, port, data)
    recover()
    for w in workers[:PRODUCERS]:
        w.join()
    producers_done.set()
    # Wait until every acknowledged job is done.
    r = client(port)
    deadline = time.time() + 120
    while time.time() < deadline:
        if r.llen("jobs") == 0 and r.llen("processing") == 0:
            break
        time.sleep(0.1)
    stop.set()
    for w in workers[PRODUCERS:]:
        w.join()
    done = r.smembers("done")
    missing = acked - done
    proc.terminate()
    proc.wait(timeout=30)
    if missing:
        raise SystemExit(f"reliable queue: {len(missing)} acknowledged jobs never processed, "
                         f"e.g. {sorted(missing)[:5]}")
    print(f"reliable queue: {len(acked)} jobs acknowledged ({at_kill} before the SIGKILL), "
          f"all processed ({len(done)} done, at least once); {PRODUCERS} producers, "
          f"{CONSUMERS} BLMOVE consumers, appendfsync always")


if __name__ == "__main__":
    main()
