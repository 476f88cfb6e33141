#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets from real programs, into
fuzz/corpus-new/TARGET (then `fuzz/run.sh merge TARGET` adds what they cover to
the committed corpus):

- request_parser: the bytes redis-benchmark and redis-cli send, recorded by a
  proxy in front of redis-server, hand-typed inline commands, and hostile headers
  (huge and negative lengths, 2^63, 10-million-element multibulk headers);
- frame_parse: the replies redis-server 7.0 sends to those requests, RESP2 and
  RESP3 (HELLO 3; DEBUG PROTOCOL for every RESP3 type), cut into single frames;
- rdb_read: dump.rdb files saved by redis-server (every value type, expiries,
  LZF-compressed and integer-encoded strings) and the snapshot emberkv-server sends
  a replica (redis-cli --rdb);
- segment_scan, hint_parse: segment and hint files written by emberkv-server.

Usage: fuzz/seeds/capture.py [path/to/emberkv-server]   (needs redis-server,
redis-cli and redis-benchmark). Prefix bytes: request_parser inputs start with
two bytes (limits, split seed), segment_scan/hint_parse/rdb_read inputs with one
mode byte; see each target.
"""

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.dirname(HERE)
OUT = os.path.join(FUZZ, "corpus-new")


def save(target, data, keep=False):
    """Adds a seed to corpus-new/TARGET; `keep` also to the committed seeds/TARGET,
    which every run and CI's smoke run load besides the minimised corpus."""
    if keep:
        save_in(os.path.join(HERE, target), data)
    save_in(os.path.join(OUT, target), data)


def save_in(d, data):
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"{what} exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not start")


class Proxy:
    """Forwards 127.0.0.1:port to the server, recording each connection's bytes."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []  # (client->server bytearray, server->client bytearray)
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            rec = (bytearray(), bytearray())
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self.pump, args=(c, u, rec[0]), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c, rec[1]), daemon=True).start()

    @staticmethod
    def pump(src, dst, buf):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                buf.extend(b)
                dst.sendall(b)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def take(self):
        time.sleep(0.3)
        with self.lock:
            out = [(bytes(a), bytes(b)) for a, b in self.conns]
            self.conns.clear()
        return out


def frames(stream):
    """Cuts a RESP reply stream into frames (enough of RESP3 for real replies)."""
    out = []
    pos = 0

    def one(p):
        t = stream[p : p + 1]
        nl = stream.index(b"\n", p)
        line = stream[p + 1 : nl].rstrip(b"\r")
        p = nl + 1
        if t in (b"$", b"!", b"="):
            n = int(line)
            return p if n < 0 else p + n + 2
        if t in (b"*", b"~", b">", b"%", b"|"):
            n = int(line)
            if n < 0:
                return p
            for _ in range(n * (2 if t in (b"%", b"|") else 1)):
                p = one(p)
            return one(p) if t == b"|" else p
        return p

    while pos < len(stream):
        try:
            end = one(pos)
        except (ValueError, IndexError):
            break
        if end > len(stream):
            break
        out.append(stream[pos:end])
        pos = end
    return out


def cli(port, *args, stdin=None):
    return subprocess.run(
        ["redis-cli", "-p", str(port), *args], input=stdin, capture_output=True, check=False
    ).stdout


def send_raw(port, data, wait=0.3):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(data)
    time.sleep(wait)
    s.close()


def psync_rdb(port):
    """The snapshot a leader sends a new replica: PSYNC ? -1, +FULLRESYNC, $len, RDB."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"PSYNC ? -1\r\n")
    buf = b""
    while True:
        while b"\n" not in buf:
            buf += s.recv(65536)
        line, buf = buf.split(b"\n", 1)
        if line.startswith(b"$"):
            n = int(line[1:].strip())
            break
        if line.startswith(b"-"):
            sys.exit(f"PSYNC refused: {line!r}")
    while len(buf) < n:
        buf += s.recv(65536)
    s.close()
    return buf[:n]


def redis_captures(tmp):
    port = free_port()
    d = os.path.join(tmp, "redis")
    os.makedirs(d)
    srv = subprocess.Popen(
        ["redis-server", "--port", str(port), "--dir", d, "--save", "", "--appendonly", "no",
         "--enable-debug-command", "yes", "--rdbcompression", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, srv, "redis-server")
        px = Proxy(port)
        # Requests and replies: redis-benchmark (pipelined and not), redis-cli.
        for args in (["-t", "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange,mset",
                      "-n", "30", "-c", "1"],
                     ["-t", "set,get,mset", "-n", "40", "-c", "1", "-P", "8", "-d", "100", "-r", "1000"]):
            subprocess.run(["redis-benchmark", "-p", str(px.port), "-q", *args],
                           capture_output=True, check=False)
        for cmd in (["set", "k", "v", "ex", "100"], ["get", "k"], ["mget", "k", "nope"], ["incr", "n"],
                    ["hset", "h", "f", "1", "g", "2"], ["hgetall", "h"], ["zadd", "z", "1.5", "a", "-2", "b"],
                    ["zrange", "z", "0", "-1", "withscores"], ["sadd", "s", "x", "y"], ["smembers", "s"],
                    ["lpush", "l", "a", "b"], ["lrange", "l", "0", "-1"], ["xadd", "st", "*", "f", "v"],
                    ["xrange", "st", "-", "+"], ["type", "h"], ["ttl", "k"], ["object", "encoding", "h"],
                    ["config", "get", "maxmemory*"], ["client", "list"], ["nosuchcommand", "x"],
                    ["get"], ["info", "server"], ["command", "info", "get"], ["scan", "0"],
                    ["setrange", "bin", "0", "\x01\x7f\r\n"], ["get", "bin"]):
            cli(px.port, *cmd)
        # RESP3: HELLO 3 and every type DEBUG PROTOCOL produces.
        resp3 = b"HELLO 3\r\n"
        for t in ("string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib",
                  "push", "verbatim", "true", "false"):
            resp3 += f"DEBUG PROTOCOL {t}\r\n".encode()
        resp3 += b"HGETALL h\r\nZRANGE z 0 -1 WITHSCORES\r\nSMEMBERS s\r\nINFO keyspace\r\nCLIENT INFO\r\n"
        resp3 += b"ZSCORE z a\r\nXRANGE st - +\r\nCONFIG GET maxmemory\r\nGET nope\r\n"
        send_raw(px.port, resp3)
        # Hand-typed inline commands, as over telnet.
        send_raw(px.port, b"PING\r\nSET greeting \"hello world\"\r\nGET greeting\n"
                          b"  set  'it\\'s'  \"a\\x41\\n\\t\"  \r\nECHO \"\\xff\\x00\"\r\n\r\n")
        for up, down in px.take():
            if up:
                save("request_parser", b"\x00\x00" + up[:8000])
            for f in frames(down)[:400]:
                save("frame_parse", f)

        # dump.rdb files: every type, expiries, compressed and integer strings; one
        # file with everything, and one small file per group (within the fuzzer's
        # input size).
        groups = [
            ["set str hello", "set int 12345", "set neg -7", "set exp v", "pexpire exp 100000000",
             "set bin \"\\x00\\xff\\r\\n\"", "select 3", "set other-db 1"],
            ["set big " + "abcdefgh" * 300],
            ["rpush list a b c 1 2 3", "rpush biglist " + " ".join(f"item{i}" for i in range(200))],
            ["sadd set a b c", "sadd intset 1 2 3 100000", "sadd bigset " + " ".join(f"s{i}" for i in range(200))],
            ["zadd zset 1 a 2.5 b -3 c", "zadd bigzset " + " ".join(f"{i}.5 m{i}" for i in range(150))],
            ["hset hash f1 v1 f2 2", "hset bighash " + " ".join(f"f{i} {'v' * 70}" for i in range(5))],
            ["xadd stream 1-1 f v", "xadd stream 2-1 g w", "xgroup create stream grp 0",
             "xreadgroup group grp alice count 1 streams stream >"],
            ["function load \"#!lua name=lib\\nredis.register_function('f', function() return 1 end)\""],
        ]
        for script in groups + [sum(groups, [])]:
            cli(port, "flushall")
            cli(port, "function", "flush")
            cli(port, stdin="\n".join(script).encode() + b"\n")
            cli(port, "save")
            with open(os.path.join(d, "dump.rdb"), "rb") as f:
                save("rdb_read", b"\x00" + f.read(), keep=True)
        # redis-cli --rdb: what a leader sends a replica.
        rdb = os.path.join(tmp, "redis-sync.rdb")
        subprocess.run(["redis-cli", "-p", str(port), "--rdb", rdb], capture_output=True, check=False)
        if os.path.exists(rdb):
            with open(rdb, "rb") as f:
                save("rdb_read", b"\x05" + f.read(), keep=True)
    finally:
        srv.terminate()
        srv.wait()


def emberkv_captures(tmp, server):
    port = free_port()
    d = os.path.join(tmp, "ember")
    srv = subprocess.Popen(
        [server, "--port", str(port), "--dir", d, "--segment-size", "4kb",
         "--compaction-min-size", "4kb", "--compaction-threshold", "0.1", "--appendfsync", "always"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, srv, "emberkv-server")
        script = ["set a 1", "set b hello ex 1000", "incr a", "del b", "set c x", "expire c 500",
                  "persist c", "mset m1 1 m2 2 m3 3", "getdel m1", "append c yz", "flushall",
                  "set binary \"\\x00\\x01\\xfe\\xff\"", "set long " + "z" * 600]
        script += [f"set key:{i} value-{i}" for i in range(40)]
        script += [f"set key:{i} again-{i}" for i in range(0, 40, 2)]
        cli(port, stdin="\n".join(script).encode() + b"\n")
        save("rdb_read", b"\x03" + psync_rdb(port), keep=True)
        snapshot(d)
        cli(port, "bgrewriteaof")
        time.sleep(1.5)
        cli(port, "set", "after", "compaction")
    finally:
        srv.terminate()
        srv.wait()
    snapshot(d)


def snapshot(d):
    """Saves the segment and hint files emberkv-server has written so far."""
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        if name.endswith(".log"):
            save("segment_scan", b"\x00" + data[:4000], keep=True)
        elif name.endswith(".hint"):
            save("hint_parse", b"\x00" + data[:4000], keep=True)


def hostile():
    """Tiny inputs declaring huge sizes: the targets assert they cost no memory."""
    big = [b"*2147483647\r\n", b"*10000000\r\n$3\r\nSET\r\n", b"*1\r\n$536870912\r\n",
           b"*1\r\n$536870913\r\n", b"*1\r\n$9223372036854775807\r\n", b"*1\r\n$-1\r\n",
           b"*-1\r\n", b"*9223372036854775808\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2147483648\r\nx",
           b"*2\r\n$3\r\nGET\r\n+k\r\n", b"SET \"unbalanced\r\n", b"\x00\xff\xfe garbage \r\n",
           b"*1\r\n$" + b"9" * 100 + b"\r\n", b"*0\r\n*-5\r\n\r\n   \n",
           b"*10000000\r\n" + b"$1\r\na\r\n" * 50]
    for b in big:
        save("request_parser", b"\x00\x00" + b, keep=True)
    for b in (b"$2147483648\r\n", b"*2147483648\r\n", b"%1073741824\r\n", b"*1\r\n" * 70,
              b"*10000000\r\n" + b"_\r\n" * 50, b"%10000000\r\n" + b":1\r\n" * 50,
              b"|1\r\n+a\r\n+b\r\n:1\r\n", b">2\r\n+message\r\n$1\r\nx\r\n", b",nan\r\n",
              b",-inf\r\n", b",1e400\r\n", b"(123456789012345678901234567890\r\n", b"=5\r\nab:cd\r\n",
              b"#x\r\n", b"=7\r\nt\x88\x8b:abc\r\n"):
        save("frame_parse", b, keep=True)
    # Hint files: 4 billion entries declared (mode 2: the checksum is fixed up).
    save("hint_parse", b"\x02EMBRHNT1\x01\x00\x00\x00\xff\xff\xff\xff" + bytes(34), keep=True)
    # A segment whose first record declares a 512 MiB key (mode 1: header added).
    rec = bytes(4) + b"\x01\x00\x00\x00" + bytes(16) + (512 << 20).to_bytes(4, "little") + bytes(4)
    save("segment_scan", b"\x03" + rec + b"key", keep=True)
    # RDB: a 512 MiB string, an LZF block claiming 512 MiB from 4 bytes, a list of
    # 2^63 elements, a module with no end, all with a few bytes of data.
    head = b"REDIS0010"
    for body in (b"\x00\x01k\x80\x20\x00\x00\x00abc",
                 b"\x00\x01k\xc3\x04\x80\x20\x00\x00\x00\x1f\x00\x00\x00",
                 b"\x01\x01k\x81\x7f\xff\xff\xff\xff\xff\xff\xff\x01a",
                 b"\x07\x01k\x81\x00\x00\x00\x00\x00\x00\x00\x00\x02\x05"):
        save("rdb_read", b"\x00" + head + body, keep=True)


def main():
    server = sys.argv[1] if len(sys.argv) > 1 else os.path.join(FUZZ, "..", "target", "debug", "emberkv-server")
    with tempfile.TemporaryDirectory() as tmp:
        redis_captures(tmp)
        emberkv_captures(tmp, server)
    hostile()
    for t in sorted(os.listdir(OUT)):
        print(t, len(os.listdir(os.path.join(OUT, t))), "seed files")


if __name__ == "__main__":
    main()
