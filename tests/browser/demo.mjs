// Drives headless Chromium through the demo page served by lighttpd:
// submits the plain HTML form and the fetch form, and prints what it saw
// as one JSON object for tests/integration/test_browser.py to check.
// usage: node demo.mjs BASE_URL SCREENSHOT_DIR [preview]
// With "preview" (formrelay in dry run) it submits the fetch form once
// and reports the preview the page shows under it.
import { chromium } from "playwright-core";

const [base, shots, mode] = process.argv.slice(2);
const entryIds = (page) => page.evaluate(() =>
  Array.from(document.querySelectorAll("input[name=entryId]"), (e) => e.value));
const result = {};
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync"],
});
try {
  const page = await browser.newPage();
  if (mode === "preview") {
    await page.goto(base + "/");
    result.ids = await entryIds(page);
    await page.fill("#f-email", "preview.person@example.com");
    await page.click("#fetch-form button");
    await page.waitForSelector("#fetch-preview:not([hidden])", { timeout: 15000 });
    result.fetchMessage = await page.textContent("#fetch-result");
    result.preview = await page.textContent("#fetch-preview");
    await page.screenshot({ path: shots + "/fetch-preview.png", fullPage: true });
    throw null; // done: skip the rest
  }
  await page.goto(base + "/");
  result.ids = await entryIds(page);
  await page.fill("#p-email", "Plain.Person@Example.com");
  await page.fill("#p-name", "Plain Person");
  await Promise.all([page.waitForURL("**/thanks.html"), page.click("#plain-form button")]);
  result.plainUrl = page.url();
  result.plainHeading = await page.textContent("h1");
  await page.screenshot({ path: shots + "/plain-thanks.png" });

  await page.goto(base + "/");
  result.ids = result.ids.concat(await entryIds(page));
  await page.fill("#f-email", "fetch.person@example.com");
  await page.click("#fetch-form button");
  await page.waitForFunction(() =>
    document.getElementById("fetch-result").textContent.startsWith("Thanks"),
    null, { timeout: 15000 });
  result.fetchMessage = await page.textContent("#fetch-result");

  await page.fill("#f-email", "not-an-email@");
  await page.evaluate(() => document.getElementById("f-email").type = "text");
  await page.click("#fetch-form button");
  await page.waitForFunction(() =>
    document.getElementById("fetch-result").className === "error",
    null, { timeout: 15000 });
  result.fetchError = await page.textContent("#fetch-result");
  await page.screenshot({ path: shots + "/fetch-error.png" });
} catch (e) {
  if (e !== null) result.error = String(e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
