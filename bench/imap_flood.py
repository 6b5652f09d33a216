#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Right and wrong IMAP LOGINs at fixed rates, open loop, against Cyrus imapd on 127.0.0.1.

  imap_flood.py --port P --user U --rate R --flood F --seconds S --warmup W --out DIR
                --label NAME [--timeout T]   (the password: environment variable IMAP_PW)

Each request runs in a thread of its own at its fixed time: connect, read the greeting, send
LOGIN, read the tagged answer, LOGOUT. The time is from connect to the tagged answer: what a
mail client (or a guesser) waits for. Counts the requests sent after the warm-up; a request with
no answer within the timeout is an error. Writes DIR/NAME.json as sasl_load's open-loop mode."""
import argparse
import json
import os
import socket
import threading
import time


def login(port, user, password, timeout):
    """'OK', 'NO', 'BAD' or 'error: ...', and the seconds to the tagged answer."""
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            f = s.makefile("rb")
            if not f.readline().startswith(b"* OK"):
                return "error: greeting", time.monotonic() - t0
            s.sendall(b'a LOGIN "%s" "%s"\r\n' % (user.encode(), password.encode()))
            while True:
                line = f.readline()
                if not line:
                    return "error: closed", time.monotonic() - t0
                if line.startswith(b"a "):
                    break
            took = time.monotonic() - t0
            answer = line.split()[1].decode()
            try:
                s.sendall(b"b LOGOUT\r\n")
            except OSError:
                pass
            return answer, took
    except OSError as e:
        return f"error: {e.__class__.__name__}", time.monotonic() - t0


def quantile(v, q):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(q * len(v) + 0.5)) - 1))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--rate", type=float, default=5)
    ap.add_argument("--flood", type=float, default=0)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--out", required=True)
    ap.add_argument("--label", required=True)
    a = ap.parse_args()
    password = os.environ["IMAP_PW"]
    start = time.monotonic() + 0.05
    measure_from = start + a.warmup
    stop_at = measure_from + a.seconds
    events = []
    for name, rate, pw in (("right", a.rate, password), ("wrong", a.flood, "not the password")):
        if rate > 0:
            k = 0
            while start + k / rate < stop_at:
                events.append((start + k / rate, name, pw))
                k += 1
    events.sort()
    results = []
    lock = threading.Lock()

    def one(at, name, pw):
        answer, took = login(a.port, a.user, pw, a.timeout)
        with lock:
            results.append((at, name, answer, took))

    threads = []
    for at, name, pw in events:
        now = time.monotonic()
        if at > now:
            time.sleep(at - now)
        t = threading.Thread(target=one, args=(at, name, pw), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(a.timeout + 5)
    out = {"label": a.label, "mode": "imap open-loop", "seconds": a.seconds,
           "warmup": a.warmup, "timeout": a.timeout}
    for name, rate, want in (("right", a.rate, "OK"), ("wrong", a.flood, "NO")):
        mine = [r for r in results if r[1] == name and r[0] >= measure_from]
        lat = [r[3] * 1e3 for r in mine if r[2] == want]
        out[name] = {
            "rate": rate, "sent": len(mine),
            "ok": sum(r[2] == "OK" for r in mine), "no": sum(r[2] == "NO" for r in mine),
            "refused": 0, "errors": sum(r[2] not in ("OK", "NO") for r in mine),
            "mismatched": sum(r[2] in ("OK", "NO") and r[2] != want for r in mine),
            "answered": len(lat), "p50_ms": quantile(lat, 0.5), "p99_ms": quantile(lat, 0.99),
            "max_ms": max(lat, default=0.0)}
    with open(os.path.join(a.out, a.label + ".json"), "w") as f:
        json.dump(out, f, indent=2)
    r, w = out["right"], out["wrong"]
    print(f"{a.label}: right {a.rate:g}/s: {r['sent']} sent, {r['ok']} OK, {r['no']} NO, "
          f"{r['errors']} errors, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms | wrong "
          f"{a.flood:g}/s: {w['sent']} sent, {w['no']} NO, {w['ok']} OK, {w['errors']} errors, "
          f"time to NO p50 {w['p50_ms']:.1f} ms, p99 {w['p99_ms']:.1f} ms")
    return 0 if r["mismatched"] == 0 and w["mismatched"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
