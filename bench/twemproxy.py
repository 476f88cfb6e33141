#!/usr/bin/env python3
"""redis-benchmark through twemproxy: 3 emberkv shards vs 3 redis-server
shards, same run, same proxy configuration (ketama, redis: true), rounds
alternating. Prints a Markdown table of requests per second and the ratio.

Usage: bench/twemproxy.py [--rounds N] [--requests N] [--emberkv PATH]
       (needs nutcracker, redis-server and redis-benchmark on PATH or in
       /usr/sbin; build emberkv with `cargo build --release` first)
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, secs=30):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"nothing answers on :{port}")


def start_cluster(kind, emberkv, root):
    procs, ports = [], []
    for i in range(3):
        port = free_port()
        d = os.path.join(root, f"{kind}{i}")
        os.makedirs(d)
        if kind == "emberkv":
            cmd = [emberkv, "--port", str(port), "--dir", d]
        else:
            cmd = ["redis-server", "--port", str(port), "--dir", d, "--save", "",
                   "--appendonly", "yes", "--appendfsync", "everysec"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        ports.append(port)
    for p in ports:
        wait_port(p)
    pport = free_port()
    conf = os.path.join(root, f"{kind}-nutcracker.yml")
    with open(conf, "w") as f:
        f.write(f"pool:\n  listen: 127.0.0.1:{pport}\n  hash: fnv1a_64\n"
                "  distribution: ketama\n  redis: true\n  timeout: 5000\n  servers:\n"
                + "".join(f"   - 127.0.0.1:{p}:1 s{i}\n" for i, p in enumerate(ports)))
    nutcracker = shutil.which("nutcracker") or "/usr/sbin/nutcracker"
    procs.append(subprocess.Popen([nutcracker, "-c", conf, "-s", str(free_port())],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(pport)
    return procs, pport


def bench(port, test, pipeline, requests):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", test, "-n", str(requests), "-c", "50",
         "-P", str(pipeline), "-r", "100000", "-d", "64", "-q"],
        capture_output=True, text=True, timeout=600).stdout.replace("\r", "\n")
    m = re.findall(r"([\d.]+) requests per second", out)
    if not m:
        raise SystemExit(f"redis-benchmark printed no result:\n{out}")
    return float(m[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--emberkv", default="target/release/emberkv-server")
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="emberkv-twemproxy-bench-")
    clusters = {}
    try:
        for kind in ("redis", "emberkv"):
            clusters[kind] = start_cluster(kind, a.emberkv, root)
        rows = [("set", 1), ("get", 1), ("set", 16), ("get", 16)]
        results = {(k, r): [] for k in clusters for r in rows}
        for rnd in range(a.rounds):
            for r in rows:
                for kind in ("redis", "emberkv"):
                    results[(kind, r)].append(bench(clusters[kind][1], r[0], r[1], a.requests))
            print(f"round {rnd + 1}/{a.rounds} done", flush=True)
        print("\n| through twemproxy, 3 shards, 50 clients | Redis | emberkv | ratio | per-round ratios |")
        print("|---|---:|---:|---:|---|")
        for r in rows:
            red, emb = results[("redis", r)], results[("emberkv", r)]
            ratios = " ".join(f"{e / x:.2f}" for e, x in zip(emb, red))
            print(f"| {r[0].upper()} 64 B, -P {r[1]} | {statistics.median(red):,.0f} | "
                  f"{statistics.median(emb):,.0f} | "
                  f"{statistics.median(emb) / statistics.median(red):.2f} | {ratios} |")
    finally:
        for procs, _ in clusters.values():
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
