#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A stand-in for systemctl and systemd-tmpfiles in the guide test's root, where no systemd
runs (tests/guide/in-root.sh installs it as /usr/local/sbin/systemctl, and as
systemd-tmpfiles through a symlink). Only what the guide's blocks call:

  systemctl [enable [--now]|disable|start|stop|restart|reload|daemon-reload] UNIT...
  systemd-tmpfiles --create FILE...     (lines L and d)

A unit that the guide changes with a drop-in (saslauthd on Debian 13) is started the way the
unit and its drop-ins say, as systemd would: EnvironmentFile (NAME=value, no shell),
ExecStartPre, ExecStart ($NAME split into words), RuntimeDirectory (made, removed at stop),
PIDFile waited for. A service without such a unit goes through its init script when it has
one, else through its own command. enable and disable change nothing here (no boot)."""
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

# In the root this file is /usr/local/sbin/systemctl, a symlink to the tree's copy: the shared
# module sits in the tree's tests/lib.
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from systemd_unit import environment_text, service_settings  # noqa: E402

UNIT_DIRS = ["/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"]
# Units emulated from their files; the rest go through init scripts or commands.
EMULATED = {"saslauthd"}
COMMANDS = {
    "dovecot": (["dovecot"], ["doveadm", "stop"], ["doveadm", "reload"]),
    "postfix": (["postfix", "start"], ["postfix", "stop"], ["postfix", "reload"]),
    "cyrus-imapd": (["/usr/sbin/cyrmaster", "-d", "-p", "/run/cyrus-master.pid"], None, None),
}


def unit_texts(name):
    texts = []
    for d in reversed(UNIT_DIRS):
        p = Path(d) / (name + ".service")
        if p.exists():
            texts = [p.read_text()]
    for d in UNIT_DIRS:
        dd = Path(d) / (name + ".service.d")
        if dd.is_dir():
            texts += [f.read_text() for f in sorted(dd.glob("*.conf"))]
    return texts


def environment(files):
    env = {}
    for f in files:
        f = f.lstrip("-")
        try:
            env.update(environment_text(open(f).read()))
        except OSError:
            continue
    return env


def expand(cmd, env):
    argv = []
    for word in shlex.split(cmd):
        m = re.fullmatch(r"\$(\w+)", word)
        if m:
            argv += env.get(m.group(1), "").split()
            continue
        argv.append(re.sub(r"\$\{(\w+)\}", lambda mm: env.get(mm.group(1), ""), word))
    return argv


def strip_prefix(cmd):
    return cmd.lstrip("-@+!:")


def unit_start(name):
    svc = service_settings(unit_texts(name))
    env = dict(os.environ)
    env.update(environment(svc.get("EnvironmentFile", [])))
    for d in svc.get("RuntimeDirectory", []):
        for w in d.split():
            os.makedirs("/run/" + w, exist_ok=True)
    for pre in svc.get("ExecStartPre", []):
        subprocess.run(expand(strip_prefix(pre), env), env=env, check=True)
    start = svc["ExecStart"][-1]
    # Type=forking (saslauthd's): the command returns once the daemon is up.
    subprocess.run(expand(strip_prefix(start), env), env=env, check=True,
                   stdin=subprocess.DEVNULL, start_new_session=True)
    pidfile = (svc.get("PIDFile") or [""])[-1]
    if pidfile:
        for _ in range(100):
            if Path(pidfile).exists():
                return 0
            time.sleep(0.1)
        print(f"systemctl (guide test): {name}: no {pidfile}: the start times out", file=sys.stderr)
        return 1
    return 0


def unit_stop(name):
    svc = service_settings(unit_texts(name))
    pidfile = (svc.get("PIDFile") or [""])[-1]
    try:
        pid = int(open(pidfile).read().split()[0])
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    except (OSError, ValueError, IndexError):
        pass
    for d in svc.get("RuntimeDirectory", []):
        for w in d.split():
            subprocess.run(["rm", "-rf", "--", "/run/" + w])
    return 0


def as_systemd():
    """What systemd puts in a unit's environment that Debian's scripts read: INVOCATION_ID
    (postfix-script hands a start to systemctl without it) and the init scripts' redirect
    switch (/lib/lsb/init-functions.d/40-systemd)."""
    os.environ["INVOCATION_ID"] = os.urandom(16).hex()
    os.environ["_SYSTEMCTL_SKIP_REDIRECT"] = "1"
    os.environ["SYSTEMCTL_SKIP_REDIRECT"] = "1"


def act(verb, name):
    name = name.removesuffix(".service")
    as_systemd()
    if name in EMULATED and unit_texts(name):
        if verb == "start":
            return unit_start(name)
        if verb == "stop":
            return unit_stop(name)
        if verb in ("restart", "reload", "try-restart"):
            unit_stop(name)
            return unit_start(name)
    init = Path("/etc/init.d") / name
    if init.exists():
        return subprocess.run([str(init), verb], stdin=subprocess.DEVNULL).returncode
    if name in COMMANDS:
        start, stop, reload = COMMANDS[name]
        if verb in ("stop", "restart") and stop:
            subprocess.run(stop, stdin=subprocess.DEVNULL)
        if verb in ("start", "restart"):
            return subprocess.run(start, stdin=subprocess.DEVNULL, start_new_session=True).returncode
        if verb == "reload" and reload:
            return subprocess.run(reload).returncode
        return 0
    print(f"systemctl (guide test): no way to {verb} {name}", file=sys.stderr)
    return 1


def running(name):
    """Whether the service runs: the pid in its PIDFile (or its init script's) is alive."""
    svc = service_settings(unit_texts(name))
    files = (svc.get("PIDFile") or [])[-1:] + [f"/run/{name}.pid", f"/run/{name}/{name}.pid",
                                              "/var/spool/postfix/pid/master.pid",
                                              "/run/cyrus-master.pid", "/run/dovecot/master.pid",
                                              "/var/spool/postfix/var/run/saslauthd/saslauthd.pid"]
    for f in files:
        if name not in f and not (name == "postfix" and "postfix/pid" in f):
            continue
        try:
            os.kill(int(open(f).read().split()[0]), 0)
            return True
        except (OSError, ValueError, IndexError):
            pass
    return False


def query(verb, units):
    """show / is-enabled / is-active, as Ansible's systemd module reads them."""
    rc = 0
    for u in units:
        name = u.removesuffix(".service")
        known = bool(unit_texts(name)) or (Path("/etc/init.d") / name).exists()
        active = known and running(name)
        if verb == "show":
            print(f"Id={name}.service\nNames={name}.service\n"
                  f"LoadState={'loaded' if known else 'not-found'}\n"
                  f"ActiveState={'active' if active else 'inactive'}\n"
                  f"SubState={'running' if active else 'dead'}\n"
                  f"UnitFileState={'enabled' if known else ''}")
        elif verb == "is-enabled":
            print("enabled" if known else "not-found")
            rc = rc or (0 if known else 1)
        else:
            print("active" if active else "inactive")
            rc = rc or (0 if active else 3)
    return rc


def tmpfiles(args):
    for f in [a for a in args if not a.startswith("-")]:
        for line in open(f).read().splitlines():
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            if w[0] == "L" and not os.path.lexists(w[1]):
                os.symlink(w[6], w[1])
            elif w[0] == "d":
                os.makedirs(w[1], exist_ok=True)
    return 0


def main(argv):
    if os.path.basename(argv[0]) == "systemd-tmpfiles":
        return tmpfiles(argv[1:])
    args = [a for a in argv[1:] if a not in ("-q", "--quiet", "--no-block")]
    if not args:
        return 1
    verb, rest = args[0], args[1:]
    if verb == "daemon-reload":
        return 0
    if verb in ("show", "is-enabled", "is-active"):
        return query(verb, [u for u in rest if not u.startswith("-")])
    now = "--now" in rest
    units = [u for u in rest if not u.startswith("-")]
    if verb in ("enable", "disable"):
        if not now:
            return 0
        verb = "start" if verb == "enable" else "stop"
    rc = 0
    for u in units:
        rc = act(verb, u) or rc
    return rc


sys.exit(main(sys.argv))
