// SPDX-License-Identifier: MIT
#ifndef PGD_PIN_H
#define PGD_PIN_H

/*
 * pin_modules: every PAM module loaded in this process (an object that defines a pam_sm_*
 * function itself) is kept loaded until the process exits (RTLD_NODELETE), so that libpam's
 * pam_end no longer unloads it and its next pam_start finds it loaded. Returns how many were
 * pinned by this call (0 when nothing was loaded since the last), or -1 out of memory.
 * Thread-safe.
 */
int pgd_pin_modules(void);

#endif
