# SPDX-License-Identifier: MIT
"""Numbered TAP for the Python tests (tests/ansible/examples.py, tests/guide/extract.py):

    tap = Tap()
    tap.check(NAME, COND, DETAIL)   one case: "ok N - NAME", or "not ok N - NAME" and DETAIL's
                                    lines as comments
    sys.exit(tap.done())            the plan (1..N); the exit status, 1 when a case failed
"""


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = False

    def check(self, name, cond, detail=""):
        self.n += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}")
        if not cond:
            self.failed = True
            for line in str(detail).splitlines():
                print(f"# {line}")
        return cond

    def done(self):
        print(f"1..{self.n}")
        return 1 if self.failed else 0
