// SPDX-License-Identifier: MIT
/*
 * The verified-login cache: a ring of at most size entries (the oldest is overwritten) with a
 * hash table over it (bucket chains of ring indices). An entry holds two HMAC-SHA-256 values
 * under a per-process random key: a tag of the user name, to find the user's entry, and the
 * MAC of user, stored value, policy fingerprint, source and password, compared in constant
 * time; and, for verify_cache_stale_if_error, a third without the stored value (an outage
 * reads no row).
 */
#include "login/verify_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "util/secret.h"

#define MAC_LEN 32
#define KEY_LEN 32
#define NONE UINT32_MAX
/* The conf's upper bound too (conf.c): about 160 bytes an entry (152 and its bucket). */
#define MAX_ENTRIES 100000

struct entry {
	uint8_t tag[MAC_LEN]; /* HMAC(key, "user" user) */
	uint8_t mac[MAC_LEN]; /* HMAC(key, "login" user stored policy source password) */
	uint8_t
	    outage[MAC_LEN];  /* HMAC(key, "outage" user policy source password), if has_outage */
	int64_t verified_ms;  /* CLOCK_MONOTONIC when the full hash said yes */
	int64_t confirmed_ms; /* ... or, later, a hit read the same stored value from the row */
	uint32_t next;        /* next ring index in the same bucket, or NONE */
	bool used;
	bool has_outage;
	char scheme[32];
};

static struct {
	pthread_mutex_t lock;
	pid_t pid; /* the process the key and entries belong to; 0: none yet */
	uint8_t key[KEY_LEN];
	EVP_MAC *hmac; /* fetched once; not a secret */
	struct entry *ring;
	uint32_t *buckets;
	size_t size, nbuckets, oldest, count;
	size_t sweep; /* the next ring index sweep_locked looks at */
	/* The longest verify_cache_ttl and verify_cache_stale_if_error any call asked for: an
	 * entry older than both can answer no conf of the process, and is wiped. */
	int64_t max_ttl_ms, max_stale_ms;
} vc = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork() while another thread holds the lock would leave the child's lock held forever. */
static void before_fork(void)
{
	pthread_mutex_lock(&vc.lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&vc.lock);
}

static void after_fork_child(void)
{
	/* The child's first call sees another pid and starts over (pid check below). */
	pthread_mutex_unlock(&vc.lock);
}

static void register_atfork(void)
{
	(void)pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wipes and frees every entry and the key; the lock is held. */
static void clear_locked(void)
{
	if (vc.ring != NULL) {
		pgd_wipe(vc.ring, vc.size * sizeof(*vc.ring));
		free(vc.ring);
	}
	free(vc.buckets);
	vc.ring = NULL;
	vc.buckets = NULL;
	vc.size = vc.nbuckets = vc.oldest = vc.count = vc.sweep = 0;
	vc.max_ttl_ms = vc.max_stale_ms = 0;
	pgd_wipe(vc.key, sizeof(vc.key));
	vc.pid = 0;
}

static size_t bucket_of(const uint8_t tag[MAC_LEN])
{
	uint32_t h = (uint32_t)tag[0] | (uint32_t)tag[1] << 8 | (uint32_t)tag[2] << 16 |
	             (uint32_t)tag[3] << 24;

	return h & (vc.nbuckets - 1);
}

/* Links ring entry i into its bucket; the lock is held. */
static void link_locked(uint32_t i)
{
	size_t b = bucket_of(vc.ring[i].tag);

	vc.ring[i].next = vc.buckets[b];
	vc.buckets[b] = i;
}

/*
 * Gives the cache room for size entries, keeping the key and the entries (oldest first, so
 * that eviction order stands). False, with the cache as it was, when memory is short.
 */
static bool grow_locked(size_t size)
{
	size_t nbuckets = 1, n = 0;
	struct entry *ring = calloc(size, sizeof(*ring));
	uint32_t *buckets;

	while (nbuckets < size)
		nbuckets <<= 1;
	buckets = malloc(nbuckets * sizeof(*buckets));
	if (ring == NULL || buckets == NULL) {
		free(ring);
		free(buckets);
		return false;
	}
	for (size_t k = 0; k < vc.size; k++) {
		const struct entry *e = &vc.ring[(vc.oldest + k) % vc.size];

		if (e->used)
			ring[n++] = *e;
	}
	if (vc.ring != NULL)
		pgd_wipe(vc.ring, vc.size * sizeof(*vc.ring));
	free(vc.ring);
	free(vc.buckets);
	vc.ring = ring;
	vc.buckets = buckets;
	vc.size = size;
	vc.nbuckets = nbuckets;
	vc.count = n;
	vc.oldest = n; /* the first free slot; after it the ring wraps to the oldest, at 0 */
	vc.sweep = 0;
	for (size_t i = 0; i < nbuckets; i++)
		vc.buckets[i] = NONE;
	for (size_t i = 0; i < n; i++)
		link_locked((uint32_t)i);
	return true;
}

/*
 * Makes the cache this process's, with room for at least size entries: a new key and empty
 * entries after fork() (the parent's stay the parent's); a larger size grows it, entries kept,
 * a smaller one uses it as it is (the largest size asked is the bound). False: no cache now.
 */
static bool ready_locked(unsigned long size)
{
	pid_t pid = getpid();

	if (size == 0 || size > MAX_ENTRIES)
		return false;
	if (vc.pid == pid && vc.size >= size)
		return true;
	if (vc.pid == pid)
		return grow_locked(size) || vc.size > 0;
	clear_locked();
	if (vc.hmac == NULL)
		vc.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (vc.hmac == NULL)
		return false;
	for (size_t got = 0; got < sizeof(vc.key);) {
		ssize_t n = getrandom(vc.key + got, sizeof(vc.key) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pgd_wipe(vc.key, sizeof(vc.key));
			return false;
		}
		got += (size_t)n;
	}
	vc.size = 0;
	if (!grow_locked(size)) {
		clear_locked();
		return false;
	}
	vc.pid = pid;
	return true;
}

/* Feeds a 4-byte big-endian length and then the bytes: no two field lists give one input. */
static bool update_field(EVP_MAC_CTX *ctx, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	const unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                              (unsigned char)(n >> 8), (unsigned char)n};

	return EVP_MAC_update(ctx, len, sizeof(len)) == 1 &&
	       (n == 0 || EVP_MAC_update(ctx, (const unsigned char *)s, n) == 1);
}

/* HMAC-SHA-256 under this process's key of the domain label and the fields; the lock is held. */
static bool mac_locked(const char *label, const char *const *fields, size_t nfields,
                       uint8_t out[MAC_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	                       OSSL_PARAM_construct_end()};
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(vc.hmac);
	size_t outlen = 0;
	bool ok = ctx != NULL && EVP_MAC_init(ctx, vc.key, sizeof(vc.key), params) == 1 &&
	          update_field(ctx, label);

	for (size_t i = 0; ok && i < nfields; i++)
		ok = update_field(ctx, fields[i]);
	ok = ok && EVP_MAC_final(ctx, out, &outlen, MAC_LEN) == 1 && outlen == MAC_LEN;
	EVP_MAC_CTX_free(ctx);
	if (!ok)
		pgd_wipe(out, MAC_LEN);
	return ok;
}

static bool user_tag(const char *user, uint8_t tag[MAC_LEN])
{
	const char *fields[] = {user};

	return mac_locked("user", fields, 1, tag);
}

/* The policy fingerprint of a login: the login name makes it at most a few hundred bytes. */
#define POLICY_LEN 1024

/* The MAC of l under label: every field but the stored value when with_stored is false. */
static bool login_mac(const char *label, const struct pgd_vcache_login *l, bool with_stored,
                      uint8_t mac[MAC_LEN])
{
	char policy[POLICY_LEN];
	const char *full[] = {l->user, l->stored, policy, l->source, l->password};
	const char *outage[] = {l->user, policy, l->source, l->password};
	bool ok =
	    l->policy != NULL && pgd_hash_policy_fingerprint(l->policy, policy, sizeof(policy)) &&
	    (with_stored ? mac_locked(label, full, 5, mac) : mac_locked(label, outage, 4, mac));

	pgd_wipe(policy, sizeof(policy));
	return ok;
}

/* The ring index of the user's entry, or NONE. */
static uint32_t find_locked(const uint8_t tag[MAC_LEN])
{
	for (uint32_t i = vc.buckets[bucket_of(tag)]; i != NONE; i = vc.ring[i].next)
		if (pgd_ct_memeq(vc.ring[i].tag, tag, MAC_LEN))
			return i;
	return NONE;
}

/* Unlinks entry i from its bucket and wipes it. */
static void evict_locked(uint32_t i)
{
	struct entry *e = &vc.ring[i];
	uint32_t *p = &vc.buckets[bucket_of(e->tag)];

	if (!e->used)
		return;
	while (*p != NONE && *p != i)
		p = &vc.ring[*p].next;
	if (*p == i)
		*p = e->next;
	pgd_wipe(e, sizeof(*e));
	vc.count--;
}

/* Raises the process's horizons to what this call asks (seconds; 0 leaves them). */
static void horizons_locked(unsigned long ttl_sec, unsigned long stale_sec)
{
	if ((int64_t)ttl_sec * 1000 > vc.max_ttl_ms)
		vc.max_ttl_ms = (int64_t)ttl_sec * 1000;
	if ((int64_t)stale_sec * 1000 > vc.max_stale_ms)
		vc.max_stale_ms = (int64_t)stale_sec * 1000;
}

/* Whether e is past every horizon: no lookup of this process could accept it any more. */
static bool expired_locked(const struct entry *e, int64_t now)
{
	return now - e->verified_ms >= vc.max_ttl_ms &&
	       (!e->has_outage || now - e->confirmed_ms >= vc.max_stale_ms);
}

/*
 * Wipes the expired entries among the next SWEEP ring slots: every call looks at a few, so that
 * a process that keeps serving logins does not keep the MACs of old ones until the ring comes
 * round (bounded work under the lock).
 */
#define SWEEP 8

static void sweep_locked(int64_t now)
{
	for (int k = 0; k < SWEEP && vc.size > 0; k++) {
		uint32_t i = (uint32_t)(vc.sweep % vc.size);

		vc.sweep = (vc.sweep + 1) % vc.size;
		if (vc.ring[i].used && expired_locked(&vc.ring[i], now))
			evict_locked(i);
	}
}

bool pgd_vcache_hit(unsigned long ttl_sec, unsigned long size, const struct pgd_vcache_login *login,
                    char *scheme, size_t schemelen)
{
	uint8_t tag[MAC_LEN], mac[MAC_LEN];
	bool hit = false, ready;
	uint32_t i;

	if (ttl_sec == 0 || login->user == NULL || login->stored == NULL)
		return false;
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&vc.lock);
	ready = ready_locked(size);
	if (ready) {
		horizons_locked(ttl_sec, 0);
		sweep_locked(now_ms());
	}
	if (ready && vc.count > 0 && user_tag(login->user, tag) && (i = find_locked(tag)) != NONE &&
	    login_mac("login", login, true, mac)) {
		struct entry *e = &vc.ring[i];
		int64_t now = now_ms(), age = now - e->verified_ms;

		/* constant time: the MAC of a wrong password must not tell how close it came */
		hit =
		    pgd_ct_memeq(e->mac, mac, MAC_LEN) && age >= 0 && age < (int64_t)ttl_sec * 1000;
		if (hit) {
			/* the row still holds what the password was verified against */
			e->confirmed_ms = now;
			if (scheme != NULL && schemelen > 0)
				snprintf(scheme, schemelen, "%s", e->scheme);
		}
	}
	pthread_mutex_unlock(&vc.lock);
	pgd_wipe(mac, sizeof(mac));
	pgd_wipe(tag, sizeof(tag));
	return hit;
}

void pgd_vcache_remember(unsigned long ttl_sec, unsigned long size,
                         const struct pgd_vcache_login *login,
                         const struct pgd_vcache_login *outage_view, unsigned long stale_sec,
                         const char *scheme)
{
	uint8_t tag[MAC_LEN], mac[MAC_LEN], outage[MAC_LEN] = {0};
	bool ready;

	if (ttl_sec == 0 || login->user == NULL || login->stored == NULL)
		return;
	if (stale_sec == 0)
		outage_view = NULL;
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&vc.lock);
	ready = ready_locked(size);
	if (ready) {
		horizons_locked(ttl_sec, outage_view != NULL ? stale_sec : 0);
		sweep_locked(now_ms());
	}
	if (ready && user_tag(login->user, tag) && login_mac("login", login, true, mac) &&
	    (outage_view == NULL || login_mac("outage", outage_view, false, outage))) {
		uint32_t i = find_locked(tag);
		struct entry *e;

		if (i != NONE)
			evict_locked(i); /* one entry a user: the newest verification */
		i = (uint32_t)vc.oldest;
		evict_locked(i);
		e = &vc.ring[i];
		memcpy(e->tag, tag, MAC_LEN);
		memcpy(e->mac, mac, MAC_LEN);
		memcpy(e->outage, outage, MAC_LEN);
		e->has_outage = outage_view != NULL;
		e->verified_ms = e->confirmed_ms = now_ms();
		snprintf(e->scheme, sizeof(e->scheme), "%s", scheme != NULL ? scheme : "");
		e->used = true;
		link_locked(i);
		vc.count++;
		vc.oldest = (vc.oldest + 1) % vc.size;
	}
	pthread_mutex_unlock(&vc.lock);
	pgd_wipe(outage, sizeof(outage));
	pgd_wipe(mac, sizeof(mac));
	pgd_wipe(tag, sizeof(tag));
}

bool pgd_vcache_hit_outage(unsigned long stale_sec, const struct pgd_vcache_login *login,
                           char *scheme, size_t schemelen)
{
	uint8_t tag[MAC_LEN], mac[MAC_LEN];
	bool hit = false;
	uint32_t i;

	if (stale_sec == 0 || login->user == NULL)
		return false;
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&vc.lock);
	/* Another process's entries (after fork) are not ours: no answer from them. */
	if (vc.pid == getpid()) {
		horizons_locked(0, stale_sec);
		sweep_locked(now_ms());
	}
	if (vc.pid == getpid() && vc.count > 0 && user_tag(login->user, tag) &&
	    (i = find_locked(tag)) != NONE && login_mac("outage", login, false, mac)) {
		const struct entry *e = &vc.ring[i];
		int64_t age = now_ms() - e->confirmed_ms;

		hit = pgd_ct_memeq(e->outage, mac, MAC_LEN) && e->has_outage && age >= 0 &&
		      age < (int64_t)stale_sec * 1000;
		if (hit && scheme != NULL && schemelen > 0)
			snprintf(scheme, schemelen, "%s", e->scheme);
	}
	pthread_mutex_unlock(&vc.lock);
	pgd_wipe(mac, sizeof(mac));
	pgd_wipe(tag, sizeof(tag));
	return hit;
}

/* Drops user's entry, or only its outage MAC when outage_only. */
static void forget(const char *user, bool outage_only)
{
	uint8_t tag[MAC_LEN];
	uint32_t i;

	if (user == NULL)
		return;
	pthread_mutex_lock(&vc.lock);
	/* Another process's entries (after fork) are not ours to consult: ready_locked drops
	 * them at this process's next hit or remember. */
	if (vc.pid == getpid() && vc.count > 0 && user_tag(user, tag) &&
	    (i = find_locked(tag)) != NONE) {
		if (!outage_only) {
			evict_locked(i);
		} else if (vc.ring[i].has_outage) {
			pgd_wipe(vc.ring[i].outage, MAC_LEN);
			vc.ring[i].has_outage = false;
		}
	}
	pthread_mutex_unlock(&vc.lock);
	pgd_wipe(tag, sizeof(tag));
}

void pgd_vcache_forget_outage(const char *user)
{
	forget(user, true);
}

void pgd_vcache_forget(const char *user)
{
	forget(user, false);
}

size_t pgd_vcache_count(void)
{
	size_t n;

	pthread_mutex_lock(&vc.lock);
	n = vc.pid == getpid() ? vc.count : 0;
	pthread_mutex_unlock(&vc.lock);
	return n;
}

/*
 * At exit the entries and the key are wiped. A thread still inside a login keeps the lock:
 * then they are left as they are rather than wait. vc.hmac is not freed: libcrypto's own exit
 * handler may already have run.
 */
__attribute__((destructor)) static void vcache_at_exit(void)
{
	if (pthread_mutex_trylock(&vc.lock) != 0)
		return;
	clear_locked();
	pthread_mutex_unlock(&vc.lock);
}
