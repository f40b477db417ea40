#!/usr/bin/env python3
"""A bounded load generator for a MetaRec service or cluster (standard library only).

    python3 Scripts/loadgen.py --url http://127.0.0.1:PORT --token-file TOKEN \
        [--threads 4] [--requests 2000] [--seconds 30] [--mix feedback=1,recommend=1] \
        [--ledger acked.jsonl] [--events events.csv] [--run RUNID] [--retries 40]

Each feedback request is a batch of --batch rows for a user of its own ("RUN-t<thread>-<n>"), with
an Idempotency-Key; on a connection error, a timeout or a 5xx the same batch is sent again with the
SAME key (at most --retries times, 0.1-0.5 s apart), so the store must hold it exactly once. Every
acknowledged batch (2xx) is appended to the ledger as JSON: key, user, items, replayed. Events are
one CSV line per attempt: start (Unix s), seconds, kind, status (HTTP code, "conn" or "timeout"),
attempt. Stops at --requests attempts or --seconds, whichever comes first, and prints a summary
(JSON on the last line).
"""
import argparse
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=2000, help="most attempts in all")
    parser.add_argument("--seconds", type=float, default=30, help="most seconds of load")
    parser.add_argument("--mix", default="feedback=1,recommend=1")
    parser.add_argument("--batch", type=int, default=5)
    parser.add_argument("--ledger")
    parser.add_argument("--events")
    parser.add_argument("--run", default=f"lg{int(time.time())}")
    parser.add_argument("--retries", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=15)
    args = parser.parse_args()
    assert 1 <= args.threads <= 64 and args.requests >= 1 and 0 < args.seconds <= 600
    return args


class Client:
    """One keep-alive connection, reopened after any failure."""

    def __init__(self, url, timeout):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self.connection = None

    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers, body bytes); status is 'conn' or 'timeout' on failure."""
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.connection.request(method, path, body=body, headers=headers or {})
            response = self.connection.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, response, data
        except TimeoutError:
            self.close()
            return "timeout", None, b""
        except (OSError, http.client.HTTPException):
            self.close()
            return "conn", None, b""

    def close(self):
        if self.connection is not None:
            try:
                self.connection.close()
            except OSError:
                pass
        self.connection = None


class Load:
    def __init__(self, args):
        self.args = args
        self.token = open(args.token_file).read().strip()
        self.lock = threading.Lock()
        self.attempts = 0
        self.deadline = time.time() + args.seconds
        self.counts = {}  # (kind, status) -> attempts
        self.latencies = {}  # kind -> [seconds] of 2xx answers
        self.acked = 0
        self.replayed = 0
        self.given_up = 0
        self.bodies_5xx = {}  # (status, body) -> count, to show what a 5xx said
        self.users = []  # users with acknowledged feedback, for recommendations
        self.ledger = open(args.ledger, "a") if args.ledger else None
        self.events = open(args.events, "a") if args.events else None
        mix = dict(part.split("=") for part in args.mix.split(","))
        self.kinds = [kind for kind, weight in mix.items() for _ in range(int(weight))]
        assert set(self.kinds) <= {"feedback", "recommend", "healthz"}, args.mix
        self.items = self.catalogue()

    def catalogue(self):
        client = Client(self.args.url, 5)
        for _ in range(50):
            status, _, data = client.request("GET", "/v1/items?limit=1000")
            if status == 200:
                return [item["id"] for item in json.loads(data)["items"]]
            time.sleep(0.2)
        sys.exit("loadgen: cannot read the catalogue from " + self.args.url)

    def take(self):
        """A slot for one more attempt, or False when the budget or the time is spent."""
        with self.lock:
            if self.attempts >= self.args.requests or time.time() >= self.deadline:
                return False
            self.attempts += 1
            return True

    def note(self, kind, status, start, seconds, attempt, data=b""):
        with self.lock:
            self.counts[(kind, status)] = self.counts.get((kind, status), 0) + 1
            if isinstance(status, int) and 200 <= status < 300:
                self.latencies.setdefault(kind, []).append(seconds)
            if isinstance(status, int) and status >= 500:
                key = (status, data[:120].decode("utf-8", "replace"))
                self.bodies_5xx[key] = self.bodies_5xx.get(key, 0) + 1
            if self.events:
                self.events.write(f"{start:.4f},{seconds:.4f},{kind},{status},{attempt}\n")

    def feedback(self, client, thread, number):
        user = f"{self.args.run}-t{thread}-{number}"
        items = random.sample(self.items, min(self.args.batch, len(self.items)))
        rows = [{"user": user, "item": item, "value": random.randint(1, 5)} for item in items]
        body = json.dumps({"feedback": rows}).encode()
        key = f"{user}-{random.getrandbits(64):016x}"
        headers = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json", "Idempotency-Key": key}
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1:  # a retry finishes its batch even past the budget (bounded by --retries)
                with self.lock:
                    self.attempts += 1
            start = time.time()
            status, response, data = client.request("POST", "/v1/feedback", body, headers)
            self.note("feedback", status, start, time.time() - start, attempt, data)
            if isinstance(status, int) and 200 <= status < 300:
                replayed = response.getheader("Idempotent-Replayed") == "true"
                with self.lock:
                    self.acked += 1
                    self.replayed += replayed
                    self.users.append(user)
                    if self.ledger:
                        self.ledger.write(json.dumps({"key": key, "user": user, "items": items, "replayed": replayed}) + "\n")
                        self.ledger.flush()
                return
            if isinstance(status, int) and 400 <= status < 500:
                return  # refused: never stored, nothing to retry
            if attempt > self.args.retries:
                break
            time.sleep(random.uniform(0.1, 0.5))
        with self.lock:
            self.given_up += 1

    def recommend(self, client):
        with self.lock:
            user = random.choice(self.users) if self.users else None
        if user is None:
            return False
        start = time.time()
        status, _, data = client.request("GET", f"/v1/users/{user}/recommendations?k=10")
        self.note("recommend", status, start, time.time() - start, 1, data)
        return True

    def healthz(self, client):
        start = time.time()
        status, _, data = client.request("GET", "/healthz")
        self.note("healthz", status, start, time.time() - start, 1, data)

    def worker(self, thread):
        client = Client(self.args.url, self.args.timeout)
        number = 0
        while self.take():
            kind = random.choice(self.kinds)
            if kind == "recommend" and self.recommend(client):
                continue
            if kind == "healthz":
                self.healthz(client)
                continue
            number += 1
            self.feedback(client, thread, number)
        client.close()

    def run(self):
        started = time.time()
        threads = [threading.Thread(target=self.worker, args=(n,), daemon=True) for n in range(self.args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.args.seconds + self.args.timeout * (self.args.retries + 2))
        elapsed = time.time() - started
        for handle in (self.ledger, self.events):
            if handle:
                handle.close()
        by_status = {}
        for (kind, status), count in sorted(self.counts.items(), key=lambda entry: (entry[0][0], str(entry[0][1]))):
            by_status.setdefault(kind, {})[str(status)] = count
        summary = {
            "attempts": self.attempts, "seconds": round(elapsed, 1), "by_status": by_status,
            "acked_batches": self.acked, "replayed": self.replayed, "given_up": self.given_up,
        }
        for kind, values in sorted(self.latencies.items()):
            values.sort()
            summary[f"{kind}_p50_ms"] = round(values[len(values) // 2] * 1000, 1)
            summary[f"{kind}_p99_ms"] = round(values[min(len(values) - 1, int(len(values) * 0.99))] * 1000, 1)
        for (status, body), count in sorted(self.bodies_5xx.items(), key=lambda entry: -entry[1])[:5]:
            print(f"{count} x {status} {body}")
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    Load(parse_args()).run()
