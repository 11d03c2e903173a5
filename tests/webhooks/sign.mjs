// Sign webhook bodies the way each platform does, with its own code
// where it publishes some: svix and standardwebhooks sign, webflow-api's
// webhooks.verifySignature must accept what is sent.  Typeform and Tally
// publish no SDK: their documented Node examples (createHmac sha256 over
// the raw body, base64; Typeform prefixes "sha256=") are followed here.
//
// Input (stdin): a JSON list of {platform, secret, body, id, timestamp}
// (timestamp in Unix seconds; Webflow's header is in milliseconds).
// Output (stdout): the list of header objects, in the same order.
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Webhook as SvixWebhook } from "svix";

const require = createRequire(import.meta.url);
const { Webhook: StandardWebhook } = require("standardwebhooks");
const { WebflowClient } = require("webflow-api");

function b64hmac(secret, text) {
  return createHmac("sha256", secret).update(text, "utf8").digest("base64");
}

async function sign(req) {
  const date = new Date(req.timestamp * 1000);
  switch (req.platform) {
    case "standard":
      return {
        "webhook-id": req.id,
        "webhook-timestamp": String(req.timestamp),
        "webhook-signature": new StandardWebhook(req.secret).sign(
          req.id, date, req.body),
      };
    case "svix":
      return {
        "svix-id": req.id,
        "svix-timestamp": String(req.timestamp),
        "svix-signature": new SvixWebhook(req.secret).sign(
          req.id, date, req.body),
      };
    case "typeform":
      return { "Typeform-Signature": "sha256=" + b64hmac(req.secret, req.body) };
    case "tally":
      return { "Tally-Signature": b64hmac(req.secret, req.body) };
    case "webflow": {
      const ts = String(req.timestamp * 1000);
      const headers = {
        "x-webflow-timestamp": ts,
        "x-webflow-signature": createHmac("sha256", req.secret)
          .update(`${ts}:${req.body}`, "utf8").digest("hex"),
      };
      const client = new WebflowClient({ accessToken: "unused" });
      const ok = await client.webhooks.verifySignature({
        headers, body: req.body, secret: req.secret });
      if (!ok) throw new Error("webflow-api refused its own signature");
      return headers;
    }
    default:
      throw new Error("unknown platform " + req.platform);
  }
}

const reqs = JSON.parse(readFileSync(0, "utf8"));
const out = [];
for (const r of reqs) out.push(await sign(r));
process.stdout.write(JSON.stringify(out) + "\n");
