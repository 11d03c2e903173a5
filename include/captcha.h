/*
 * CAPTCHA verification ([antispam] captcha), on the delivery side: the
 * request path stores a submission's events held with the widget's token
 * (spool.h, struct spool_hold) and answers at once; formrelay-deliver
 * asks the vendor's siteverify endpoint here before anything of it is
 * forwarded.  So the FastCGI process never loads libcurl and never waits
 * for the vendor.
 *
 * Each vendor's documented request and answer:
 *   Turnstile  POST https://challenges.cloudflare.com/turnstile/v0/siteverify
 *   hCaptcha   POST https://api.hcaptcha.com/siteverify
 *   reCAPTCHA  POST https://www.google.com/recaptcha/api/siteverify
 * all application/x-www-form-urlencoded "secret", "response" and
 * "remoteip" (the visitor's address), answering JSON with "success",
 * "hostname", "challenge_ts", "error-codes", and for reCAPTCHA v3 also
 * "score" (0.0 to 1.0) and "action".  Tokens are single use and live
 * 300 s (Turnstile) or two minutes (reCAPTCHA; hCaptcha is given the
 * same).
 *
 * Verdicts: pass; refused (spam: never forwarded, counted by reason);
 * or vendor unreachable (no answer, a 5xx, a non-JSON answer, or an
 * error-code that names our side: a wrong secret, the vendor's internal
 * error), which holds the submission and asks again with back-off until
 * the token's lifetime (captcha_retry_for) has passed, then forwards it
 * (captcha_unreachable = open) or drops it (closed).
 *
 * Tokens are single use, so an answer lost (formrelay-deliver killed
 * after the vendor answered and before the verdict was recorded, or a
 * timeout after the vendor had read the request) would turn the next
 * ask into "already used".  So each ask is recorded durably before it
 * is sent (SPOOL_VERDICT_SENT); an "already used" answer to a token
 * asked about before is no verdict on the visitor: captcha_unreachable
 * decides, counted as captcha_unknown either way.
 */
#ifndef FORMRELAY_CAPTCHA_H
#define FORMRELAY_CAPTCHA_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "spam.h"

struct spool;

/* The vendor's siteverify URL (or cfg's captcha_verify_url). */
const char *captcha_verify_url(const struct antispam_config *as);

/* How long a held token is asked about before captcha_unreachable
 * decides: captcha_retry_for, else the vendor's token lifetime. */
int64_t captcha_retry_for_ms(const struct antispam_config *as);

enum captcha_outcome {
	CAPTCHA_PASS = 0,
	CAPTCHA_REFUSED,    /* reason says why */
	CAPTCHA_UNREACHABLE /* ask again later */
};

struct captcha_verdict {
	enum captcha_outcome outcome;
	enum spam_reason reason; /* with CAPTCHA_REFUSED */
	int duplicate;    /* refused as already used (timeout-or-duplicate) */
	int left;         /* the request may have reached the vendor */
	char detail[160]; /* for the log: error-codes, score, hostname; never
	                     the token or the secret */
};

/*
 * Judge the vendor's answer (http_status and body) under cfg: success
 * true, and for reCAPTCHA a score of at least recaptcha_min_score and
 * the recaptcha_action when set, and a hostname that is the host of one
 * of http.allowed_origins (when any are set).  Pure: for tests and
 * fuzzing.
 */
void captcha_judge(const struct config *cfg, int http_status, const char *body,
                   size_t len, struct captcha_verdict *v);

/*
 * The request body: secret, response and (when not empty) remoteip,
 * form-urlencoded.  *out is the caller's (free); it holds the secret.
 * FR_OK or FR_ENOMEM.
 */
int captcha_request_body(const char *secret, const char *token, const char *ip,
                         char **out, size_t *len);

struct captcha;

/* A client (libcurl handle) for cfg's vendor; *out is the caller's
 * (captcha_free).  FR_OK, FR_ENOMEM or FR_EINTERNAL. */
int captcha_new(const struct config *cfg, struct captcha **out,
                struct fr_error *err);
void captcha_free(struct captcha *c);

/* Ask the vendor about token from ip; fills v. */
void captcha_verify(struct captcha *c, const char *token, const char *ip,
                    struct captcha_verdict *v);

/*
 * Take the tokens due from sp, ask the vendor about each and settle them
 * (spool_verify_settle): passed ones become deliverable, refused ones are
 * deleted and counted (formrelay_spam_total), unreachable ones are held
 * for another try or, once captcha_retry_for has passed, forwarded or
 * dropped as captcha_unreachable says.  Each outcome is logged (never
 * the token).  *released counts the submissions made deliverable.
 * FR_OK or FR_ESTORE.
 */
int captcha_settle_due(struct captcha *c, struct spool *sp, int64_t now,
                       size_t *released);

#endif
