// SPDX-License-Identifier: MIT
/*
 * pin_modules: the PAM modules loaded in this process stay loaded until it exits. libpam
 * dlopen()s every module that the service file and /etc/pam.d/other name at each pam_start,
 * and dlclose()s them at pam_end; a caller serving many logins in one process (saslauthd's
 * workers) pays the loader's mapping, relocation and unmapping of those modules and their
 * libraries at every login. A module pinned (RTLD_NODELETE) stays mapped: libpam's next dlopen
 * finds it and its dlclose leaves it, as the module keeps itself (-z nodelete).
 *
 * A PAM module is an object that defines one of the six pam_sm_* functions itself. The loader's
 * counts of loads and unloads tell whether anything changed since the last call, so a process
 * whose modules are all pinned pays one dl_iterate_phdr step per login.
 */
#include "util/pin.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Objects looked at once (modules or not), remembered by load address and name. */
#define SEEN_MAX 256

struct seen {
	uintptr_t base;
	char *name;
};

static pthread_mutex_t pin_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen seen[SEEN_MAX];
static size_t n_seen;
static unsigned long long last_adds, last_subs;
static bool counted;

/* What one walk over the loaded objects found that was not seen before (names copied). */
struct walk {
	struct seen found[SEEN_MAX];
	size_t n;
	bool changed; /* the loader loaded or unloaded something since the last walk */
	bool nomem;
};

static bool was_seen(uintptr_t base, const char *name)
{
	for (size_t i = 0; i < n_seen; i++)
		if (seen[i].base == base && strcmp(seen[i].name, name) == 0)
			return true;
	return false;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
	struct walk *w = data;

	if (!w->changed) {
		/* the first object: stop here if the loader's counts have not moved */
		if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
			w->changed = true;
		else if (counted && info->dlpi_adds == last_adds && info->dlpi_subs == last_subs)
			return 1;
		else {
			last_adds = info->dlpi_adds;
			last_subs = info->dlpi_subs;
			counted = true;
			w->changed = true;
		}
	}
	if (info->dlpi_name == NULL || info->dlpi_name[0] != '/' ||
	    was_seen((uintptr_t)info->dlpi_addr, info->dlpi_name) || w->n == SEEN_MAX)
		return 0;
	w->found[w->n].name = strdup(info->dlpi_name);
	if (w->found[w->n].name == NULL) {
		w->nomem = true;
		return 1;
	}
	w->found[w->n++].base = (uintptr_t)info->dlpi_addr;
	return 0;
}

/* Whether the loaded object named name defines a pam_sm_* function itself. */
static bool is_module(void *handle, uintptr_t base)
{
	static const char *const entries[] = {
	    "pam_sm_authenticate", "pam_sm_setcred",       "pam_sm_acct_mgmt",
	    "pam_sm_open_session", "pam_sm_close_session", "pam_sm_chauthtok",
	};

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		void *sym = dlsym(handle, entries[i]);
		struct link_map *map = NULL;
		Dl_info where;

		if (sym != NULL && dladdr1(sym, &where, (void **)&map, RTLD_DL_LINKMAP) != 0 &&
		    map != NULL && (uintptr_t)map->l_addr == base)
			return true;
	}
	return false;
}

/* Where the object holding this code is loaded (the module, or a program linking it). */
static uintptr_t self_base(void)
{
	struct link_map *map = NULL;
	Dl_info where;

	if (dladdr1((const void *)&pgd_pin_modules, &where, (void **)&map, RTLD_DL_LINKMAP) == 0 ||
	    map == NULL)
		return UINTPTR_MAX;
	return (uintptr_t)map->l_addr;
}

/* What pin_one did with an object the walk found. */
enum pin_result {
	PIN_GONE,   /* unloaded since the walk: look again when it is back */
	PIN_OTHER,  /* not a PAM module, or the loader refused */
	PIN_PINNED, /* a PAM module, now kept loaded */
};

static enum pin_result pin_one(const struct seen *found, uintptr_t self)
{
	void *handle = dlopen(found->name, RTLD_LAZY | RTLD_NOLOAD);
	void *pinned = NULL;

	if (handle == NULL)
		return PIN_GONE;
	/* the module itself is linked -z nodelete */
	if (found->base != self && is_module(handle, found->base))
		pinned = dlopen(found->name, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
	/* the references taken here are given back; RTLD_NODELETE stays on the object */
	if (pinned != NULL)
		dlclose(pinned);
	dlclose(handle);
	return pinned != NULL ? PIN_PINNED : PIN_OTHER;
}

int pgd_pin_modules(void)
{
	struct walk *w = calloc(1, sizeof(*w));
	int pinned = 0;
	uintptr_t self;

	if (w == NULL)
		return -1;
	pthread_mutex_lock(&pin_lock);
	dl_iterate_phdr(visit, w);
	self = w->n > 0 ? self_base() : UINTPTR_MAX;
	for (size_t i = 0; i < w->n; i++) {
		enum pin_result r = pin_one(&w->found[i], self);

		if (r == PIN_PINNED)
			pinned++;
		if (r != PIN_GONE && n_seen < SEEN_MAX) {
			seen[n_seen++] = w->found[i];
			w->found[i].name = NULL;
		} else if (r == PIN_GONE)
			counted = false; /* it may come back at the same place: walk again */
		free(w->found[i].name);
	}
	if (w->nomem) {
		counted = false; /* look again next time */
		pinned = -1;
	}
	pthread_mutex_unlock(&pin_lock);
	free(w);
	return pinned;
}
