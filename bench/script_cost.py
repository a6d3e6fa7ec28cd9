#!/usr/bin/env python3
"""Redis's own cost of the matchmaking script, without the instances.

Starts a redis-server on a free loopback port, loads src/redis_script.lua.hpp
and runs it the way churn does: SESSIONS sessions join, then every round each
paired session sends `next`, in batches of BATCH operations. Prints Redis's
CPU per operation and per match from INFO commandstats.

Usage: bench/script_cost.py [SESSIONS=2000] [BATCH=100] [ROUNDS=20]
"""
import os, re, socket, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
SESSIONS, BATCH, ROUNDS = (int(a) for a in (sys.argv[1:] + ['2000', '100', '20'][len(sys.argv) - 1:]))
source = open(os.path.join(here, '..', 'src', 'redis_script.lua.hpp')).read()
script = source[source.index('R"LUA(') + 6:source.index(')LUA"')]


class Redis:
    """A minimal RESP client: enough for commands, replies and one subscription."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port))
        self.buf = b''

    def send(self, args):
        out = [b'*%d\r\n' % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b'$%d\r\n%s\r\n' % (len(a), a))
        self.sock.sendall(b''.join(out))

    def _line(self):
        while b'\r\n' not in self.buf:
            self.buf += self.sock.recv(1 << 20)
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b'+':
            return rest.decode()
        if kind == b'-':
            raise RuntimeError(rest.decode())
        if kind == b':':
            return int(rest)
        if kind == b'$':
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 20)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        return [self.read() for _ in range(int(rest))]

    def call(self, *args):
        self.send(list(args))
        return self.read()


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    port = free_port()
    server = subprocess.Popen(['redis-server', '--port', str(port), '--bind', '127.0.0.1', '--save', '',
                               '--appendonly', 'no'], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                cmd = Redis(port)
                break
            except OSError:
                time.sleep(0.05)
        sub = Redis(port)
        sub.call('SUBSCRIBE', 'sd:c:bench')
        sha = cmd.call('SCRIPT', 'LOAD', script).decode()
        # instance, fallback, pair timeout, resume, held, recent, session ttl, instance ttl, threshold, per hour
        fixed = ['bench', 5000, 30000, 30000, 64, 3, 30000, 5000, 3, 5]

        def run(ops):
            args = ['EVALSHA', sha, 0] + fixed
            for op in ops:
                args += [op[0], 0, len(op) - 1] + list(op[1:])
            return cmd.call(*args)

        def batches(ops):
            for i in range(0, len(ops), BATCH):
                run(ops[i:i + BATCH])
            return len(ops)

        def published():
            # Every action of the calls so far: each call publishes at most one message here.
            actions = []
            sub.sock.settimeout(0.2)
            try:
                while True:
                    message = sub.read()
                    actions += [item.split(b'\x1f') for item in message[2].split(b'\x1d')]
            except socket.timeout:
                pass
            return actions

        ids = ['s%011d' % i for i in range(SESSIONS)]
        run([('beat', 0)])
        batches([('connect', i, 'token-' + i, 'address-' + i) for i in ids])
        batches([('join', i, 'token-' + i, 'video', '', '0') for i in ids])
        cmd.call('CONFIG', 'RESETSTAT')
        operations = matches = 0
        for _ in range(ROUNDS):
            paired = [a[0].decode() for a in published() if a[1] == b'm']
            matches += len(paired) // 2
            operations += batches([('next', i, 'token-' + i) for i in paired])
        stats = cmd.call('INFO', 'commandstats').decode()
        calls, usec = map(int, re.search(r'cmdstat_evalsha:calls=(\d+),usec=(\d+)', stats).groups())
        print('{"sessions": %d, "batch": %d, "operations": %d, "calls": %d, "matches": %d, '
              '"redis_us_per_operation": %.1f, "redis_us_per_match": %.1f}'
              % (SESSIONS, BATCH, operations, calls, matches, usec / operations, usec / matches))
    finally:
        server.terminate()
        server.wait()


main()
