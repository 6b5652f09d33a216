-- SPDX-License-Identifier: GPL-2.0-or-later
-- The tables and columns of PostfixAdmin's public/upgrade.php (commit 65b10f7; upgrade_2_pgsql,
-- and the smtp_active column its later upgrade adds with _db_add_field as {BOOLEAN_TRUE}) that
-- the Dovecot password queries of its documents read, cut from its own CREATE TABLE statements.
-- PostfixAdmin is GPL-2.0-or-later.
CREATE TABLE domain (
    domain character varying(255) NOT NULL,
    description character varying(255) NOT NULL default '',
    backupmx boolean NOT NULL default false,
    active boolean NOT NULL default true,
    Constraint "domain_key" Primary Key ("domain")
);
CREATE TABLE alias (
    address character varying(255) NOT NULL,
    goto text NOT NULL,
    domain character varying(255) NOT NULL REFERENCES "domain",
    active boolean NOT NULL default true,
    Constraint "alias_key" Primary Key ("address")
);
CREATE TABLE mailbox (
    username character varying(255) NOT NULL,
    password character varying(255) NOT NULL default '',
    name character varying(255) NOT NULL default '',
    maildir character varying(255) NOT NULL default '',
    quota integer NOT NULL default 0,
    domain character varying(255) NOT NULL REFERENCES "domain",
    active boolean NOT NULL default true,
    smtp_active BOOLEAN NOT NULL DEFAULT 't',
    Constraint "mailbox_key" Primary Key ("username")
);
