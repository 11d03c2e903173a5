// Drives headless Chromium through the Pipelines-shaped calls a browser
// makes (tests/integration/test_browser_pipelines.py): the Embeddables
// recipe's action in www/ (its URL the only change), then Customer.io's
// own browser SDK, @customerio/cdp-analytics-browser from npm, with its
// settings inline and its apiHost at formrelay.  Every request that
// would leave 127.0.0.1 (a CDN) is refused and reported.  Prints what it
// saw as one JSON object.
// usage: node pipelines.mjs BASE_URL SDK_BUNDLE
import { chromium } from "playwright-core";

const [base, sdkBundle] = process.argv.slice(2);
const result = { foreign: [], posts: [] };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync"],
});

// The SDK, as a page of the site would run it: settings given inline
// (cdnSettings: nothing is fetched for them), Customer.io's integration
// pointed at formrelay, chunks (if any were wanted) from this site.
async function runSdk([host, user, batching]) {
  const { AnalyticsBrowser } = window.AnalyticsNext;
  const deliveryStrategy = batching
    ? { strategy: "batching", config: { size: 3, timeout: 60000 } }
    : undefined;
  const analytics = AnalyticsBrowser.load({
    writeKey: "formrelay-sdk-demo",
    cdnURL: location.origin,
    cdnSettings: {
      integrations: {
        "Customer.io Data Pipelines": {
          apiKey: "formrelay-sdk-demo",
          apiHost: host + "/formrelay/v1",
          protocol: location.protocol.replace(":", ""),
          deliveryStrategy,
        },
      },
    },
  }, { disableClientPersistence: true });
  // batching: the third call fills the batch (size 3), which goes at once
  await analytics.identify(user,
                           { email: "Sdk.User@Example.com", name: "Sdk User" });
  await analytics.track("Plan Chosen", { plan: "pro" });
  await analytics.page("Pricing", { section: "plans" });
  return "ran";
}

try {
  const page = await browser.newPage();
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).hostname !== "127.0.0.1") {
      result.foreign.push(url);
      return route.abort();
    }
    return route.continue();
  });
  page.on("request", (req) => {
    const u = new URL(req.url());
    if (req.method() === "POST" && u.pathname.startsWith("/formrelay"))
      result.posts.push({ path: u.pathname,
                          type: req.headers()["content-type"] || "",
                          authorization: "authorization" in req.headers() });
  });
  page.on("response", (res) => {
    const u = new URL(res.url());
    if (u.pathname.startsWith("/formrelay"))
      (result.statuses ||= []).push(u.pathname + " " + res.status());
  });

  await page.goto(base + "/embeddables-recipe.html");
  await page.fill("#r-email", "Recipe.Person@Example.com");
  await page.fill("#r-name", "Recipe Person");
  await page.click("#recipe-form button");
  await page.waitForFunction(() =>
    document.getElementById("recipe-result").textContent !== "",
    null, { timeout: 15000 });
  result.recipe = await page.textContent("#recipe-result");

  await page.goto(base + "/");
  await page.addScriptTag({ path: sdkBundle });
  result.sdk = await page.evaluate(runSdk,
                                   [new URL(base).host, "sdk-user-0001", false]);
  // the calls may still be on their way: wait for their answers
  const answers = (re) => (result.statuses || []).filter((s) => re.test(s));
  for (let i = 0; i < 600 && answers(/^\/formrelay\/v1\/[itp] /).length < 3; i++)
    await page.waitForTimeout(50);

  await page.goto(base + "/");
  await page.addScriptTag({ path: sdkBundle });
  result.sdkBatching = await page.evaluate(
    runSdk, [new URL(base).host, "sdk-batch-0001", true]);
  for (let i = 0; i < 600 && answers(/^\/formrelay\/v1\/b /).length < 1; i++)
    await page.waitForTimeout(50);
} catch (e) {
  result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
