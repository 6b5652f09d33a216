#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The examples, the Ansible role and the migration guide say the same thing. Prints TAP.
Usage: examples.py SOURCE-ROOT"""
import re
import sys
from pathlib import Path

import yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from systemd_unit import environment_text, service_settings  # noqa: E402
from tap import Tap  # noqa: E402

root = Path(sys.argv[1])
ex = root / "examples"
role = ex / "ansible" / "roles" / "pam_pgsql_dovecot"
defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
tap = Tap()
check = tap.check


def settings(text, sep):
    """key SEP value lines, comments and blank lines left out."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or sep not in line:
            continue
        k, v = line.split(sep, 1)
        out[k.strip()] = v.strip()
    return out


def render(text):
    """The role's simple templates: {{ var }} from the defaults, comments dropped."""
    text = re.sub(r"\{\{ *(\w+) *\}\}", lambda m: str(defaults.get(m.group(1), m.group(0))), text)
    return [l for l in text.splitlines() if l.strip() and not l.startswith("#")]


run_dir = defaults["pam_pgsql_dovecot_saslauthd_run_dir"]
sasl = settings((ex / "saslauthd.default").read_text(), "=")
check("examples/saslauthd.default: -r, no -c, socket in the role's run dir",
      sasl.get("OPTIONS") == f'"-r -m {run_dir}"' and not defaults["pam_pgsql_dovecot_saslauthd_cache"],
      sasl.get("OPTIONS"))
check("examples/saslauthd.default: MECHANISMS=pam", sasl.get("MECHANISMS") == '"pam"')
smtpd = [l for l in (ex / "postfix" / "smtpd.conf").read_text().splitlines()
         if l.strip() and not l.startswith("#")]
check("examples/postfix/smtpd.conf is what the role writes",
      smtpd == render((role / "templates" / "smtpd.conf.j2").read_text()), smtpd)
tmpfiles = [l for l in (ex / "saslauthd-tmpfiles.conf").read_text().splitlines()
            if l.strip() and not l.startswith("#")]
check("examples/saslauthd-tmpfiles.conf is what the role writes",
      tmpfiles == render((role / "templates" / "saslauthd-tmpfiles.conf.j2").read_text()), tmpfiles)
check("examples/saslauthd.default: START=yes (Debian 12's init script needs it)",
      sasl.get("START") == "yes")
dropin_text = (ex / "saslauthd-systemd.conf").read_text()
dropin = [l for l in dropin_text.splitlines() if l.strip() and not l.startswith("#")]
check("examples/saslauthd-systemd.conf is what the role writes on Debian 13",
      dropin == render((role / "templates" / "saslauthd-systemd.conf.j2").read_text()), dropin)
check("examples/saslauthd.default is what the role writes",
      [l for l in (ex / "saslauthd.default").read_text().splitlines()
       if l.strip() and not l.startswith("#") and not l.startswith("THREADS")]
      == [l for l in render((role / "templates" / "saslauthd.default.j2").read_text())
          if "{%" not in l and not l.startswith("THREADS")] + [f'OPTIONS="-r -m {run_dir}"'])


# The release's own sasl2-bin, as installed here: what its start-up really does with our files.
unit = next((p for p in (Path("/usr/lib/systemd/system/saslauthd.service"),
                         Path("/lib/systemd/system/saslauthd.service")) if p.exists()), None)
init = Path("/etc/init.d/saslauthd")
if unit is not None:
    svc = service_settings([unit.read_text(), dropin_text])
    env = environment_text((ex / "saslauthd.default").read_text())
    start = svc.get("ExecStart", [""])[-1]
    # $NAME unquoted: split into words; ${NAME}: one word (systemd.service(5)).
    argv = []
    for word in start.split():
        m = re.fullmatch(r"\$(\w+)", word)
        argv += env.get(m.group(1), "").split() if m else [word]
    m_dir = argv[argv.index("-m") + 1] if "-m" in argv else None
    pidfile = (svc.get("PIDFile") or [""])[-1]
    check(f"{unit} + the drop-in: saslauthd {' '.join(argv[1:])}",
          argv[1:3] == ["-a", "pam"] and "-r" in argv and "-c" not in argv
          and argv[-2:] == ["-n", "5"], argv)
    check("the unit waits for the pid file in saslauthd's -m folder",
          m_dir == run_dir and pidfile == f"{run_dir}/saslauthd.pid", (m_dir, pidfile))
    check("the unit no longer makes (and removes) /run/saslauthd, the tmpfiles symlink",
          not svc.get("RuntimeDirectory"), svc.get("RuntimeDirectory"))
    check("the unit creates the -m folder root:sasl 0710 before it starts",
          any(p.startswith("/usr/bin/install -d") and p.endswith(f" {run_dir}")
              and "--group=sasl" in p and "--mode=710" in p for p in svc.get("ExecStartPre", [])),
          svc.get("ExecStartPre"))
elif init.exists():
    script = init.read_text()
    check("/etc/init.d/saslauthd (Debian 12) starts nothing without START=yes, which we set",
          '"$START" != "yes"' in script and sasl.get("START") == "yes")
    check("/etc/init.d/saslauthd takes its run folder from our -m, as the role's run dir",
          "/^-m$/" in script and f"-m {run_dir}" in sasl.get("OPTIONS", ""))
else:
    check("sasl2-bin's start-up (unit or init script) is installed", False,
          "neither saslauthd.service nor /etc/init.d/saslauthd")

main_cf = settings((ex / "postfix" / "main.cf").read_text(), "=")
wrong = {k: (v, main_cf.get(k)) for k, v in defaults["pam_pgsql_dovecot_postfix_settings"].items()
         if main_cf.get(k) != str(v)}
check("examples/postfix/main.cf has the role's Postfix settings", not wrong, wrong)
check("Postfix's smtpd_sasl_path 'smtpd' names sasl/smtpd.conf",
      main_cf.get("smtpd_sasl_path") == "smtpd" and main_cf.get("smtpd_sasl_type") == "cyrus")
socket = settings((ex / "postfix" / "smtpd.conf").read_text(), ":").get("saslauthd_path", "")
check("smtpd.conf's saslauthd_path, inside the chroot, is saslauthd's -m folder",
      "/var/spool/postfix" + socket == run_dir + "/mux", socket)
master = (ex / "postfix" / "master.cf").read_text()
check("master.cf: lmtp without chroot, smtpd chrooted",
      re.search(r"^lmtp\s+unix\s+-\s+-\s+n\s", master, re.M) is not None
      and re.search(r"^smtp\s+inet\s+n\s+-\s+y\s", master, re.M) is not None)
lmtp = main_cf.get("virtual_transport", "")
cyrus = (ex / "cyrus" / "cyrus.conf").read_text()
check("Postfix's LMTP socket is the one cyrus.conf listens on",
      lmtp.startswith("lmtp:unix:") and f'listen="{lmtp[len("lmtp:unix:"):]}"' in cyrus, lmtp)
haproxy = (ex / "haproxy" / "haproxy.cfg").read_text()
m = re.search(r"^\s*server \S+ (127\.0\.0\.1:\d+)", haproxy, re.M)
check("HAProxy's backend is cyrus.conf's loopback service",
      m is not None and f'listen="{m.group(1)}"' in cyrus, m and m.group(1))
imapd = settings((ex / "cyrus" / "imapd.conf").read_text(), ":")
check("imapd.conf: saslauthd, plaintext only on the loopback service",
      imapd.get("sasl_pwcheck_method") == "saslauthd" and imapd.get("allowplaintext") == "no"
      and imapd.get("imaplocal_allowplaintext") == "yes" and "imaplocal " in cyrus)



def auth_lines(text):
    """The module's auth lines (commented out or not) of a pam.d text, argv split."""
    out = []
    for line in text.splitlines():
        words = line.lstrip("#").split()
        if len(words) >= 3 and words[0] == "auth" and "pam_pgsql_dovecot.so" in words[2]:
            out.append(words)
    return out


def stacks(text):
    """pam.d.example's sections: '# /etc/pam.d/NAME' -> that section's text."""
    out, name = {}, None
    for line in text.splitlines():
        m = re.match(r"# /etc/pam\.d/(\w+)", line)
        if m:
            name = m.group(1)
            out[name] = ""
        elif name:
            out[name] += line + "\n"
    return out


# saslauthd sets no PAM_FAIL_DELAY function: libpam's 2 s delay would sleep in a worker that
# every login shares (bench/flood.sh), so each saslauthd service's auth line says nodelay.
sasl_services = ("imap", "sieve", "smtp", "lmtp", "pop")
example = stacks((root / "pam.d.example").read_text())
for svc in ("imap", "sieve", "smtp"):
    lines = auth_lines(example.get(svc, ""))
    check(f"pam.d.example: /etc/pam.d/{svc}'s auth line has nodelay",
          lines and all("nodelay" in l[3:] for l in lines), lines)
for svc in ("imap", "sieve", "smtp"):
    lines = auth_lines(example.get(svc, ""))
    check(f"pam.d.example: /etc/pam.d/{svc}'s auth line keeps the PAM modules loaded (pin_modules=yes)",
          lines and all("pin_modules=yes" in l[3:] for l in lines), lines)
interactive = [s for s in example if s not in sasl_services]
check("pam.d.example: the interactive stacks (sshd) keep the 2 s delay",
      interactive and all(l and "nodelay" not in l[0][3:]
                          for l in (auth_lines(example[s]) for s in interactive)), interactive)
check("the role's nodelay is on by default", defaults.get("pam_pgsql_dovecot_nodelay") is True)
tmpl = (role / "templates" / "pam.d.j2").read_text()
rendered = re.sub(r"\{% if pam_pgsql_dovecot_nodelay \| bool %\}(.*?)\{% endif %\}",
                  lambda m: m.group(1) if defaults.get("pam_pgsql_dovecot_nodelay") else "", tmpl)
rendered = re.sub(r"\{%.*?%\}", "", rendered)
role_auth = auth_lines("\n".join(render(rendered)))
check("the role's pam.d template: the auth line has nodelay",
      len(role_auth) == 1 and "nodelay" in role_auth[0][3:], role_auth)
check("the role's pam.d template: the auth line has pin_modules=yes by default",
      defaults.get("pam_pgsql_dovecot_pin_modules") is True and len(role_auth) == 1
      and "pin_modules=yes" in role_auth[0][3:], role_auth)
check("the role's services are all saslauthd's",
      all(s in sasl_services for s in defaults["pam_pgsql_dovecot_services"]),
      defaults["pam_pgsql_dovecot_services"])
examples_auth = [(str(f.relative_to(root)), l) for f in sorted(ex.rglob("*"))
                 if f.is_file() and f.suffix not in (".j2",) for l in auth_lines(f.read_text())]
check("examples/: every auth line of the module has nodelay",
      all("nodelay" in l[3:] for _, l in examples_auth), examples_auth)
imapd_conf = settings((ex / "cyrus" / "imapd.conf").read_text(), ":")
check("imapd.conf: failedloginpause, the pause after a failed login in imapd's own process",
      re.fullmatch(r"[1-9]\d*s?", imapd_conf.get("failedloginpause", "")) is not None,
      imapd_conf.get("failedloginpause"))
check("main.cf: anvil limits AUTH commands per client (smtpd_client_auth_rate_limit)",
      int(settings((ex / "postfix" / "main.cf").read_text(), "=")
          .get("smtpd_client_auth_rate_limit", "0")) > 0)

guide = (root / "docs" / "migrating-from-dovecot.md").read_text()
guide_auth = auth_lines(guide)
check("the guide's pam.d auth lines have nodelay",
      guide_auth and all("nodelay" in l[3:] for l in guide_auth), guide_auth)
links = sorted(set(re.findall(r"\]\(\.\./([^)#]+)\)", guide)))
missing = [l for l in links if not (root / l).exists()]
check(f"every file the guide links exists ({len(links)})", not missing, missing)
for topic, pattern in [
        ("dovecot-sql.conf.ext reuse", r"conf=/etc/dovecot/dovecot-sql\.conf\.ext"),
        ("/etc/pam.d/imap, sieve, smtp", r"/etc/pam\.d/imap.*/etc/pam\.d/sieve.*/etc/pam\.d/smtp"),
        ("saslauthd -a pam -r", r"-a pam -r"),
        ("Debian's -c cache", r"Debian's default .*-c"),
        ("smtpd_sasl_type = cyrus", r"smtpd_sasl_type = cyrus"),
        ("smtpd.conf", r"/etc/postfix/sasl/smtpd\.conf"),
        ("the chroot socket and its symlink", r"/var/spool/postfix/var/run/saslauthd.*symlink"),
        ("LMTP with chroot off", r"lmtp +unix +- +- +n"),
        ("HAProxy TLS/SNI", r"HAProxy.*SNI"),
        ("ManageSieve STARTTLS", r"ManageSieve.*STARTTLS"),
        ("pamtester", r"pamtester imap"),
        ("testsaslauthd", r"testsaslauthd -s imap"),
        ("the admin command's check", r"pam-pgsql-dovecot check"),
        ("Debian 12's START=yes", r"START=yes"),
        ("Debian 13's unit drop-in", r"saslauthd\.service\.d/postfix-chroot\.conf"),
        ("Debian 13's EnvironmentFile", r"EnvironmentFile")]:
    check(f"the guide covers {topic}", re.search(pattern, guide, re.S) is not None)
sys.exit(tap.done())
