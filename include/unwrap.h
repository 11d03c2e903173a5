/*
 * Webhook envelopes recognised by shape (SPEC, "Requests"): Embeddables,
 * Webflow, Typeform, Tally, Unbounce, Jotform, HubSpot-style field lists.
 * Each unwrapper replaces the envelope's fields with the form fields it
 * carries, and moves page/context data and the form name aside, so the
 * envelope itself is never forwarded as traits.
 *
 * Shapes (docs/normalisation.md has full examples):
 *   Typeform     {"event_type":"form_response","form_response":{
 *                 "answers":[...],"hidden":{...},"definition":{...}}}
 *   Tally        {"eventType":"FORM_RESPONSE","data":{"formName":...,
 *                 "fields":[{"key","label","type","value","options"}]}}
 *   Webflow      {"triggerType":"form_submission","payload":{"name":...,
 *                 "data":{...}}} (and the v1 {"name","site","data","_id"})
 *   Embeddables  {"userData":{...},"context":{...}}
 *   Unbounce     data.json (an object, or JSON text in a form field or
 *                member) whose every value is a list
 *   Jotform      rawRequest: JSON text (form field or member) with
 *                q<N>_<name> keys
 *   HubSpot      {"fields":[{"name":...,"value":...}],"context":{...}}
 *
 * f->context, when set, is an object with any of the string members
 * "url", "title", "referrer", "path" (context.page), "ip" and "userAgent"
 * (the visitor's, as the platform reports them).
 */
#ifndef FORMRELAY_UNWRAP_H
#define FORMRELAY_UNWRAP_H

#include "error.h"
#include "fields.h"
#include "parse.h"

/*
 * When f->root (or, for form-encoded Unbounce and Jotform posts, a
 * data.json or rawRequest field) matches a known webhook shape, rebuild f
 * from it and set f->source, f->context and f->form_name.  A body of no
 * known shape is left as it is (FR_OK).  Returns FR_OK, FR_EMALFORMED
 * when a recognised envelope is broken, FR_ETOOLARGE past lim (lim->
 * max_fields fields, max_value bytes a string value; longer label-derived
 * names are cut at max_name bytes), or FR_ENOMEM.  On error f is as it
 * was.
 */
int unwrap_webhook(struct fields *f, const struct parse_limits *lim,
                   struct fr_error *err);

/*
 * unwrap_webhook with the configuration's [fields] aliases (cfg may be
 * NULL), which may name a Typeform field by its ref or id.  Besides the
 * fields it sets f->event_id and f->submitted_ms where the platform
 * reports them.
 */
struct config;
int unwrap_webhook_cfg(struct fields *f, const struct parse_limits *lim,
                       const struct config *cfg, struct fr_error *err);

/*
 * unwrap_webhook_cfg for a post to a hooks route (hook NULL: the main
 * route).  A route whose platform is typeform, tally, webflow, jotform or
 * unbounce reads the body only as that platform's webhook, never by the
 * shape of another's: a body that is not one is FR_EINVALID (422,
 * err->code "wrong_payload") and f is as it was.  Routes of platform
 * standard or hmac (schemes many senders share) take any shape, as the
 * main route does.
 */
struct config_hook;
int unwrap_webhook_hook(struct fields *f, const struct parse_limits *lim,
                        const struct config *cfg,
                        const struct config_hook *hook, struct fr_error *err);

#endif
