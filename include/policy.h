/*
 * Who may post and where a browser may be sent afterwards: the Origin
 * check (CORS) and the _next redirect check.  URLs are compared after
 * parsing and normalising (url.h), never as raw strings, so that
 * "https://allowed.example.evil.test" or "//evil" cannot pass.
 */
#ifndef FORMRELAY_POLICY_H
#define FORMRELAY_POLICY_H

#include "config.h"

/* 1 when origin (scheme://host[:port]) is in list, else 0. */
int origin_allowed(const char *origin, const struct config_list *list);

/*
 * 1 when url is an absolute http(s) URL without user info or control
 * characters whose scheme, host and port equal one prefix's and whose
 * path, with dot segments removed, starts with that prefix's path.  A
 * path holding %2F or %5C is refused (servers may decode them before
 * resolving "..").
 */
int redirect_allowed(const char *url, const struct config_list *list);

#endif
