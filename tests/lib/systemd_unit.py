# SPDX-License-Identifier: MIT
"""How systemd reads a service unit and its EnvironmentFile (systemd.service(5), systemd.exec(5)),
for the guide test's systemctl stand-in (tests/guide/systemctl.py) and the examples test
(tests/ansible/examples.py), which must read saslauthd's unit the same way."""


def service_settings(texts):
    """The [Service] settings of a unit and its drop-ins, in order: NAME -> [values]; an empty
    value resets the list."""
    out = {}
    for text in texts:
        section = None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[Service]" and "=" in line and not line.startswith(("#", ";")):
                k, v = line.split("=", 1)
                k, v = k.strip(), v.strip()
                if v == "":
                    out[k] = []
                else:
                    out.setdefault(k, []).append(v)
    return out


def environment_text(text):
    """An EnvironmentFile's text: NAME=value lines, one pair of quotes stripped, no shell."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        k, v = line.split("=", 1)
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        env[k.strip()] = v
    return env
