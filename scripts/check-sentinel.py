#!/usr/bin/env python3
"""Redis Sentinel (7.0) driving emberkv: automatic failover, end to end.

1 leader + 2 followers (emberkv, each started with a TOML --config file so
that Sentinel's CONFIG REWRITE persists the role it gives; followers
replicate as an ACL user with only +psync +replconf +ping) and 3 Sentinels
(`redis-server --sentinel`, down-after-milliseconds 1000, failover-timeout
10000) that log in as an ACL user with the minimal rules Redis documents. A redis-py client that finds the leader through `Sentinel` writes
`SET w<i> <i>` followed by `WAIT 1 1000`, continuously:

1. SIGKILL the leader: the follower of priority 100 is promoted within 15 s
   (the other has replica-priority 0),
   `SENTINEL get-master-addr-by-name` names it, the other follower follows
   it, the client resumes through Sentinel discovery, and every write
   acknowledged with WAIT >= 1 before the kill is on the new leader.
2. Restart the old leader (its own config file, which says it leads): it
   rejoins as a follower and converges (same DBSIZE and digest of all keys).
3. `SENTINEL FAILOVER` (a planned switch-over) under the same load: every
   write acknowledged with WAIT >= 1 before the switch is on the new leader.
4. The leader stopped (SIGSTOP) for longer than down-after: after it
   resumes there is one leader, the one Sentinel names.

Usage: check-sentinel.py [path/to/emberkv-server] [path/to/redis-server]
                         [--runs=N] [--against-redis]

--runs=N repeats everything N times and prints the median failover time;
--against-redis runs the same checks on redis-server nodes (the comparison in
bench/README.md).
"""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis
from redis.sentinel import Sentinel

NAME = "mymaster"
# The rules Redis's Sentinel documentation gives, without `+script|kill`
# (emberkv runs no scripts, so Sentinel never needs to kill one).
SENTINEL_USER = ("sentinel-user on >sentinel-pw allchannels +multi +slaveof +ping "
                 "+exec +subscribe +config|rewrite +role +publish +info "
                 "+client|setname +client|kill")
REPLICA_USER = "replica-user on >replica-pw +psync +replconf +ping"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, secs, f):
    deadline = time.time() + secs
    last = None
    while time.time() < deadline:
        try:
            if f():
                return
        except (redis.RedisError, OSError) as e:
            last = e
        time.sleep(0.1)
    raise SystemExit(f"FAIL: timed out after {secs} s: {what} (last error: {last})")


class Node:
    """A server with its own directory and config file: emberkv (TOML), or
    redis-server (redis.conf) when the same checks run against Redis."""

    def __init__(self, binary, root, name, port, leader=None, priority=None, redis_kind=False):
        self.binary, self.port, self.name = binary, port, name
        self.redis_kind = redis_kind
        self.dir = os.path.join(root, name)
        os.makedirs(os.path.join(self.dir, "data"))
        if redis_kind:
            self.config = os.path.join(self.dir, "redis.conf")
            lines = [f"port {port}", "bind 127.0.0.1", f"dir {self.dir}/data",
                     'save ""', "appendonly yes", "daemonize no",
                     "user default on nopass ~* &* +@all",
                     # Redis's list, with the +script|kill emberkv refuses.
                     f"user {SENTINEL_USER} +script|kill", f"user {REPLICA_USER}",
                     "masteruser replica-user", "masterauth replica-pw"]
            if leader:
                lines.append(f"replicaof 127.0.0.1 {leader}")
            if priority is not None:
                lines.append(f"replica-priority {priority}")
        else:
            self.config = os.path.join(self.dir, "emberkv.toml")
            # The minimal ACL users, as Redis documents them: Sentinel's, and
            # the one a follower replicates as (the default user stays open
            # for the client).
            lines = [f"port = {port}", f'dir = "{self.dir}/data"',
                     f"user = [{SENTINEL_USER!r}, {REPLICA_USER!r}]",
                     'masteruser = "replica-user"', 'masterauth = "replica-pw"']
            if leader:
                lines.append(f'replicaof = "127.0.0.1:{leader}"')
            if priority is not None:
                lines.append(f"replica_priority = {priority}")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = None
        self.start()

    def start(self):
        if self.redis_kind:
            cmd = [self.binary, self.config]
        else:
            cmd = [self.binary, "--config", self.config]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        wait_for(f"{self.name} up", 30, lambda: self.conn().ping())

    def follows_in_config(self, port):
        with open(self.config) as f:
            text = f.read().replace("'", '"')
        if self.redis_kind:
            return f"replicaof 127.0.0.1 {port}" in text
        return f'replicaof = "127.0.0.1:{port}"' in text

    def conn(self):
        return redis.Redis(port=self.port, socket_timeout=5, decode_responses=True)

    def role(self):
        return self.conn().info("replication")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_sentinel(redis_server, root, i, port, leader_port):
    conf = os.path.join(root, f"sentinel{i}.conf")
    with open(conf, "w") as f:
        f.write(
            f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {root}\n"
            f"sentinel monitor {NAME} 127.0.0.1 {leader_port} 2\n"
            f"sentinel down-after-milliseconds {NAME} 1000\n"
            f"sentinel failover-timeout {NAME} 10000\n"
            f"sentinel auth-user {NAME} sentinel-user\n"
            f"sentinel auth-pass {NAME} sentinel-pw\n")
    log = open(os.path.join(root, f"sentinel{i}.log"), "ab")
    return subprocess.Popen([redis_server, conf, "--sentinel"], stdout=log, stderr=log)


class Writer:
    """SET w<i> <i> then WAIT 1 1000 through Sentinel discovery, until stopped.
    Records each write WAIT confirmed on at least one follower, with the time
    it was confirmed, and the time of the last error."""

    def __init__(self, sentinel_ports):
        self.sentinel = Sentinel([("127.0.0.1", p) for p in sentinel_ports],
                                 socket_timeout=1)
        self.confirmed = []  # (i, time confirmed)
        self.started = {}  # i -> time its SET was sent
        self.stop_flag = threading.Event()
        self.errors = 0
        self.last_error = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        master = self.sentinel.master_for(NAME, socket_timeout=1, decode_responses=True)
        i = 0
        while not self.stop_flag.is_set():
            try:
                self.started[i] = time.time()
                master.set(f"w{i}", i)
                n = master.execute_command("WAIT", 1, 1000)
                if n >= 1:
                    self.confirmed.append((i, time.time()))
            except (redis.RedisError, OSError) as e:
                self.errors += 1
                self.last_error = (time.time(), repr(e))
                time.sleep(0.05)
            i += 1

    def confirmed_after(self, t):
        return [i for i, at in self.confirmed if at > t]

    def confirmed_before(self, t):
        return [i for i, at in self.confirmed if at <= t]

    def finish(self):
        self.stop_flag.set()
        self.thread.join(10)


def leader_addr(sentinel_port):
    r = redis.Redis(port=sentinel_port, socket_timeout=2, decode_responses=True)
    host, port = r.execute_command("SENTINEL", "get-master-addr-by-name", NAME)
    return int(port)


def digest(conn):
    """DBSIZE and a digest of every key and string value."""
    keys = sorted(conn.scan_iter(count=1000))
    h = hashlib.sha256()
    for k in keys:
        h.update(k.encode() + b"\0" + (conn.get(k) or "").encode() + b"\0")
    return len(keys), h.hexdigest()


def check_present(new_leader, writes, what):
    c = new_leader.conn()
    missing = [i for i in writes if c.get(f"w{i}") != str(i)]
    if missing:
        raise SystemExit(f"FAIL: {len(missing)} of {len(writes)} writes acknowledged "
                         f"with WAIT >= 1 {what} are missing on the new leader "
                         f"(first: {missing[:5]})")
    print(f"  {len(writes)} writes acknowledged with WAIT >= 1 {what}: all on the new leader")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = [a for a in sys.argv[1:] if a.startswith("--")]
    binary = args[0] if args else "target/debug/emberkv-server"
    redis_server = args[1] if len(args) > 1 else shutil.which("redis-server")
    if not redis_server:
        raise SystemExit("FAIL: redis-server (for --sentinel) not found")
    runs = next((int(o.split("=")[1]) for o in opts if o.startswith("--runs=")), 1)
    against_redis = "--against-redis" in opts
    times = []
    for run in range(runs):
        if runs > 1:
            print(f"== run {run + 1}/{runs}")
        times.append(scenario(redis_server if against_redis else binary, redis_server,
                              against_redis))
    if runs > 1:
        times.sort()
        what = "redis-server" if against_redis else "emberkv"
        print(f"== {what}: failover time (SIGKILL -> first write confirmed through "
              f"Sentinel) over {runs} runs: median {times[runs // 2]:.2f} s, "
              f"all {' '.join(f'{t:.2f}' for t in times)}")


def scenario(binary, redis_server, redis_kind):
    """One run of every check; returns the failover time of step 1."""
    root = tempfile.mkdtemp(prefix="emberkv-sentinel-")
    ports = [free_port() for _ in range(3)]
    nodes = {}
    sentinels = []
    try:
        nodes[ports[0]] = Node(binary, root, "n0", ports[0], redis_kind=redis_kind)
        nodes[ports[1]] = Node(binary, root, "n1", ports[1], leader=ports[0],
                               redis_kind=redis_kind)
        # replica-priority 0: Sentinel must never promote it.
        nodes[ports[2]] = Node(binary, root, "n2", ports[2], leader=ports[0], priority=0,
                               redis_kind=redis_kind)
        wait_for("followers linked", 30, lambda: all(
            nodes[p].role().get("master_link_status") == "up" for p in ports[1:]))
        sports = [free_port() for _ in range(3)]
        for i, sp in enumerate(sports):
            sentinels.append(start_sentinel(redis_server, root, i, sp, ports[0]))

        def sentinels_see_everything():
            for sp in sports:
                s = redis.Redis(port=sp, socket_timeout=2, decode_responses=True)
                if len(s.execute_command("SENTINEL", "replicas", NAME)) != 2:
                    return False
                if len(s.execute_command("SENTINEL", "sentinels", NAME)) != 2:
                    return False
            return True

        wait_for("sentinels see 2 followers and each other", 30, sentinels_see_everything)
        print("== 3 sentinels monitor 1 leader + 2 followers")

        # 1. SIGKILL the leader under load.
        w = Writer(sports)
        wait_for("writes confirmed", 20, lambda: len(w.confirmed) > 50)
        time.sleep(1)
        old = leader_addr(sports[0])
        t_kill = time.time()
        nodes[old].kill()
        print(f"== SIGKILL leader :{old} after {len(w.confirmed)} confirmed writes")
        wait_for("a follower promoted and named by Sentinel", 15,
                 lambda: leader_addr(sports[0]) != old
                 and nodes[leader_addr(sports[0])].role()["role"] == "master")
        new = leader_addr(sports[0])
        print(f"  promoted :{new} after {time.time() - t_kill:.1f} s")
        if new != ports[1]:
            raise SystemExit(f"FAIL: :{new} promoted; the one follower of priority "
                             f"100 is :{ports[1]} (:{ports[2]} has replica-priority 0)")
        other = next(p for p in ports if p not in (old, new))
        wait_for("the other follower follows the new leader", 30, lambda: (
            int(nodes[other].role().get("master_port", 0)) == new
            and nodes[other].role().get("master_link_status") == "up"))
        wait_for("the client resumes through Sentinel", 30,
                 lambda: len(w.confirmed_after(t_kill + 0.5)) > 20)
        w.finish()
        # Until a write sent after the kill is confirmed (on the new leader).
        failover_time = min(at for i, at in w.confirmed if w.started[i] > t_kill) - t_kill
        print(f"  failover time (SIGKILL -> first write confirmed through Sentinel): "
              f"{failover_time:.2f} s")
        check_present(nodes[new], w.confirmed_before(t_kill), "before the kill")
        check_present(nodes[new], w.confirmed_after(t_kill), "after the kill")

        # 2. The old leader comes back as a follower and converges.
        nodes[old].start()
        wait_for("the old leader rejoins as a follower", 60, lambda: (
            nodes[old].role()["role"] == "slave"
            and int(nodes[old].role().get("master_port", 0)) == new
            and nodes[old].role().get("master_link_status") == "up"))
        want = digest(nodes[new].conn())
        wait_for("every node has the same keys and values", 30,
                 lambda: all(digest(nodes[p].conn()) == want for p in ports))
        print(f"== old leader :{old} rejoined; {want[0]} keys, same digest on all 3")
        if not nodes[old].follows_in_config(new):
            raise SystemExit("FAIL: CONFIG REWRITE did not persist the follower role")

        # 3. A planned switch-over.
        w = Writer(sports)
        wait_for("writes confirmed", 20, lambda: len(w.confirmed) > 50)
        before = leader_addr(sports[0])
        t_switch = time.time()
        redis.Redis(port=sports[1]).execute_command("SENTINEL", "FAILOVER", NAME)
        wait_for("SENTINEL FAILOVER switches leaders", 30,
                 lambda: leader_addr(sports[0]) != before)
        after = leader_addr(sports[0])
        wait_for("the client resumes", 30,
                 lambda: len(w.confirmed_after(time.time() - 1)) > 5)
        w.finish()
        check_present(nodes[after], w.confirmed_before(t_switch), "before SENTINEL FAILOVER")
        # Sentinel promotes with REPLICAOF NO ONE and demotes the old leader
        # afterwards. Redis's old leader takes writes in between that the
        # other follower confirms, and they are lost (reported); an emberkv
        # follower first fences its leader: nothing confirmed is lost.
        c = nodes[after].conn()
        during = w.confirmed_after(t_switch)
        lost = [i for i in during if c.get(f"w{i}") != str(i)]
        print(f"  {len(during)} confirmed after SENTINEL FAILOVER was sent, "
              f"{len(lost)} of them not on the new leader")
        if lost and not redis_kind:
            raise SystemExit(f"FAIL: {len(lost)} writes confirmed during SENTINEL FAILOVER "
                             f"lost, e.g. w{lost[0]}")
        print(f"== SENTINEL FAILOVER :{before} -> :{after}")

        # 4. A leader stopped for longer than down-after, then resumed.
        stopped = leader_addr(sports[0])
        nodes[stopped].proc.send_signal(signal.SIGSTOP)
        wait_for("a new leader while the old one is stopped", 30,
                 lambda: leader_addr(sports[0]) != stopped)
        nodes[stopped].proc.send_signal(signal.SIGCONT)
        named = leader_addr(sports[0])

        def one_leader():
            masters = [p for p in ports if nodes[p].role()["role"] == "master"]
            return masters == [named] and leader_addr(sports[0]) == named

        wait_for("one leader after the stopped one resumes", 60, one_leader)
        if named == ports[2]:
            raise SystemExit("FAIL: the follower of replica-priority 0 was promoted")
        print(f"== :{stopped} stopped past down-after: one leader after it resumed (:{named})")
        print("== sentinel checks passed")
        return failover_time
    finally:
        for s in sentinels:
            s.terminate()
        for n in nodes.values():
            n.stop()
        for s in sentinels:
            try:
                s.wait(10)
            except subprocess.TimeoutExpired:
                s.kill()
        if os.environ.get("KEEP_SENTINEL_DIR"):
            print(f"(left {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
