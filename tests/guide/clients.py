#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What a user of the guide checks, as the clients meet the services (tests/guide/in-root.sh):
IMAP over STARTTLS on 143 (no login in clear text: LOGINDISABLED), ManageSieve on 4190
(STARTTLS, AUTHENTICATE PLAIN), Postfix SMTP AUTH on 25 (STARTTLS, AUTH PLAIN, through
saslauthd's socket in the chroot), right and wrong passwords; then the copy: every message of
every folder of every user, read as that user on Cyrus (the domain admin's PLAIN login with the
user as authorization id), against what was filed in Dovecot, by Message-ID; and no admin right
left on a user's folder. Prints TAP lines without numbers ("ok - NAME").
Usage: clients.py "USER@DOMAIN ..." SOURCE-IDS"""
import base64
import imaplib
import re
import smtplib
import socket
import ssl
import sys

users = sys.argv[1].split()
source_ids = sys.argv[2]
PW = "the password"
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
admin_pw = open("/root/cyradmin.pw").read().strip()


def check(name, cond, detail=""):
    print(("ok - " if cond else "not ok - ") + name)
    if not cond and detail:
        for line in str(detail).splitlines()[-15:]:
            print("# " + line)


def imap_login(user, pw, authz=None):
    m = imaplib.IMAP4("127.0.0.1", 143)
    m.starttls(ssl_context=ctx)
    if authz is None:
        m.login(user, pw)
    else:
        m.authenticate("PLAIN", lambda _: ("%s\0%s\0%s" % (authz, user, pw)).encode())
    return m


# IMAP: STARTTLS offered, no login before it, the right password in, a wrong one out.
try:
    m = imaplib.IMAP4("127.0.0.1", 143)
    caps = m.capabilities
    check("IMAP 143 offers STARTTLS and refuses a login in clear text (LOGINDISABLED)",
          "STARTTLS" in caps and "LOGINDISABLED" in caps, caps)
    m.starttls(ssl_context=ctx)
    m.login("alice@example.org", PW)
    typ, _ = m.select("INBOX", readonly=True)
    check("IMAP: alice@example.org logs in over STARTTLS and opens her INBOX", typ == "OK", typ)
    m.logout()
except Exception as e:
    check("IMAP: alice@example.org logs in over STARTTLS", False, repr(e))
try:
    imap_login("alice@example.org", "wrong password")
    check("IMAP: a wrong password is refused", False)
except imaplib.IMAP4.error:
    check("IMAP: a wrong password is refused", True)
except Exception as e:
    check("IMAP: a wrong password is refused", False, repr(e))


# ManageSieve (RFC 5804): greeting, STARTTLS, capabilities again, AUTHENTICATE "PLAIN".
def sieve(user, pw):
    s = socket.create_connection(("127.0.0.1", 4190), timeout=20)
    f = s.makefile("rb")

    def until_ok():
        lines = []
        while True:
            line = f.readline()
            if not line:
                raise EOFError("connection closed: %r" % lines)
            lines.append(line.decode(errors="replace").rstrip())
            if re.match(r"^(OK|NO|BYE)\b", lines[-1]):
                return lines

    greeting = until_ok()
    if not any('"STARTTLS"' in l for l in greeting):
        return "no STARTTLS offered: %s" % greeting
    s.sendall(b"STARTTLS\r\n")
    r = until_ok()
    if not r[-1].startswith("OK"):
        return "STARTTLS: %s" % r
    s = ctx.wrap_socket(s)
    f = s.makefile("rb")
    until_ok()
    token = base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()
    s.sendall(('AUTHENTICATE "PLAIN" "%s"\r\n' % token).encode())
    r = until_ok()
    s.sendall(b"LOGOUT\r\n")
    s.close()
    return r[-1]


try:
    r = sieve("alice@example.org", PW)
    check("ManageSieve 4190: alice@example.org logs in after STARTTLS (AUTHENTICATE PLAIN)",
          r.startswith("OK"), r)
    r = sieve("alice@example.org", "wrong password")
    check("ManageSieve: a wrong password is refused", r.startswith("NO"), r)
except Exception as e:
    check("ManageSieve 4190 answers", False, repr(e))


# Postfix SMTP AUTH: STARTTLS, then AUTH PLAIN (smtpd_tls_auth_only).
def smtp(user, pw):
    c = smtplib.SMTP("127.0.0.1", 25, timeout=30)
    c.ehlo("client.example.org")
    before = c.has_extn("auth")
    c.starttls(context=ctx)
    c.ehlo("client.example.org")
    try:
        code, _ = c.auth("PLAIN", lambda challenge=None: "\0%s\0%s" % (user, pw))
    except smtplib.SMTPAuthenticationError as e:
        code = e.smtp_code
    c.quit()
    return before, code


try:
    before, code = smtp("alice@example.org", PW)
    check("Postfix 25: no AUTH offered before STARTTLS (smtpd_tls_auth_only)", not before)
    check("Postfix SMTP AUTH: alice@example.org logs in (235) through the chroot socket",
          code == 235, code)
    _, code = smtp("alice@example.org", "wrong password")
    check("Postfix SMTP AUTH: a wrong password is refused (535)", code == 535, code)
except Exception as e:
    check("Postfix SMTP AUTH answers", False, repr(e))

# The copy: every message of every folder, by Message-ID, read as each user on Cyrus.
want = set(tuple(l.split()) for l in open(source_ids) if l.strip())
got = set()
left = []
for user in users:
    domain = user.split("@")[1]
    try:
        m = imap_login("cyradmin@" + domain, admin_pw, authz=user)
        for line in m.list()[1]:
            name = line.decode().rsplit(" ", 1)[1].strip('"')
            typ, _ = m.select('"%s"' % name, readonly=True)
            if typ != "OK":
                continue
            typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for part in data or []:
                if isinstance(part, tuple):
                    mm = re.search(rb"<([^>]+)>", part[1])
                    if mm:
                        got.add((user, name, mm.group(1).decode()))
        m.logout()
    except Exception as e:
        left.append("%s: %r" % (user, e))
    try:
        a = imap_login("cyradmin@" + domain, admin_pw)
        local = user.split("@")[0]
        for line in a.list('""', '"user/%s*"' % local)[1]:
            box = line.decode().rsplit(" ", 1)[1].strip('"')
            acl = a.getacl('"%s"' % box)[1][0].decode()
            if "cyradmin" in acl:
                left.append("%s: %s" % (box, acl))
        a.logout()
    except Exception as e:
        left.append("%s (admin): %r" % (user, e))
check("the copy: every message of every folder of %d users arrived, by Message-ID "
      "(%d of %d), folder names as in Dovecot" % (len(users), len(want & got), len(want)),
      want and want == got,
      "missing: %s\nunexpected: %s" % (sorted(want - got)[:10], sorted(got - want)[:10]))
check("the admins' rights are taken back from every copied folder", not left, "\n".join(left))
