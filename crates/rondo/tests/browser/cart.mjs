// The shopping cart in a real browser: headless Debian Chromium driven by playwright-core.
//
// usage: node cart.mjs <baseUrl> <screenshotPath>
//
// Opens the cart page on a fresh cart, adds an item and sees the badge change without a reload,
// adds from a second tab and sees the first tab follow, closes the second tab, reloads the first
// and sees the items with their quantities (read through display-cart). Prints each step; ends
// with a screenshot at <screenshotPath>, also when a step fails. Exits 1 on any failure, naming
// the step and what the page showed.
//
// The page's hooks: the badge `#cart-count` (its text is the count), add buttons
// `button.add[data-item-id]`, the list `#cart-items` with one `li[data-item-id]` per item whose
// text holds its quantity, and `#ws-status` reading `connected` while the WebSocket is open.

import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

// Debian's package; CHROMIUM names another binary.
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Bounds, not speed expectations: a step that has not happened by then has failed.
const STEP_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = 240_000;

// Set on the first tab's window; survives as long as the page is not reloaded or left.
const MARKER = `rondo-${randomUUID()}`;

class StepFailure extends Error {}

let stepName = 'start';

function step(name) {
  stepName = name;
  console.log(`step: ${name}`);
}

function fail(message) {
  throw new StepFailure(message);
}

async function main() {
  const [baseUrl, screenshotPath] = process.argv.slice(2);
  if (!baseUrl || !screenshotPath) {
    console.error('usage: node cart.mjs <baseUrl> <screenshotPath>');
    process.exit(2);
  }
  const cartId = `browser-${randomUUID()}`;
  const url = `${baseUrl.replace(/\/$/, '')}/?cart=${encodeURIComponent(cartId)}`;
  const userDataDir = mkdtempSync(join(tmpdir(), 'rondo-chromium-'));
  let context;
  let first;
  const pageErrors = [];
  const watchdog = setTimeout(() => {
    console.error(`FAILED at step "${stepName}": the run took more than ${RUN_TIMEOUT_MS} ms`);
    process.exit(1);
  }, RUN_TIMEOUT_MS);
  try {
    step(`launch ${CHROMIUM}`);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1024, height: 768 },
    });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);

    step(`open ${url}`);
    first = await openTab(context, url, 'first tab', pageErrors);
    await waitForConnected(first, 'first tab');
    await waitForBadge(first, 0, 'first tab');
    await setMarker(first);

    const buttons = await addButtonIds(first);
    const firstItem = buttons[0];
    // Another item when the page offers one, so the list shows two lines.
    const secondItem = buttons[1] ?? buttons[0];

    step(`first tab: add ${firstItem}`);
    await clickAdd(first, firstItem);
    await waitForBadge(first, 1, 'first tab');
    await expectNoReload(first, 'first tab');

    step('open a second tab on the same cart');
    const second = await openTab(context, url, 'second tab', pageErrors);
    await waitForConnected(second, 'second tab');
    await waitForBadge(second, 1, 'second tab');

    step(`second tab: add ${secondItem}`);
    await clickAdd(second, secondItem);
    await waitForBadge(second, 2, 'second tab');

    step('the first tab follows without a reload');
    await waitForBadge(first, 2, 'first tab');
    await expectNoReload(first, 'first tab');

    step('close the second tab');
    await second.close();

    step('reload the first tab');
    await first.reload();
    await waitForConnected(first, 'first tab after reload');
    await waitForBadge(first, 2, 'first tab after reload');
    const expected = new Map();
    expected.set(firstItem, 1);
    expected.set(secondItem, (expected.get(secondItem) ?? 0) + 1);
    await expectItems(first, expected);

    if (pageErrors.length > 0) {
      fail(`the page threw: ${pageErrors.join('; ')}`);
    }
    step(`screenshot to ${screenshotPath}`);
    await first.screenshot({ path: screenshotPath, fullPage: true });
    console.log('ok: the cart page passed every step');
  } catch (error) {
    process.exitCode = 1;
    const message = error instanceof StepFailure ? error.message : String(error?.stack ?? error);
    console.error(`FAILED at step "${stepName}": ${message}`);
    if (first && !first.isClosed()) {
      console.error(`the first tab showed: ${await describe(first)}`);
      await first.screenshot({ path: screenshotPath, fullPage: true }).catch(() => {});
    }
  } finally {
    clearTimeout(watchdog);
    await context?.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

async function openTab(context, url, name, pageErrors) {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      console.log(`  ${name} console error: ${message.text()}`);
    }
  });
  const response = await page.goto(url);
  if (!response || !response.ok()) {
    fail(`${url} answered ${response ? response.status() : 'nothing'}`);
  }
  return page;
}

async function waitForConnected(page, name) {
  try {
    await page.waitForFunction(
      () => document.querySelector('#ws-status')?.textContent.trim() === 'connected',
    );
  } catch {
    fail(`${name}: #ws-status never read "connected"; the page shows ${await describe(page)}`);
  }
}

async function waitForBadge(page, count, name) {
  try {
    await page.waitForFunction(
      (expected) => document.querySelector('#cart-count')?.textContent.trim() === expected,
      String(count),
    );
  } catch {
    fail(`${name}: the badge #cart-count never read ${count}; the page shows ${await describe(page)}`);
  }
}

async function setMarker(page) {
  await page.evaluate((marker) => {
    window.rondoMarker = marker;
  }, MARKER);
}

// A reload, a form post or a link followed makes a new window, without the marker.
async function expectNoReload(page, name) {
  const marker = await page.evaluate(() => window.rondoMarker);
  if (marker !== MARKER) {
    fail(`${name} was reloaded or navigated away: its window marker is ${marker}`);
  }
}

async function addButtonIds(page) {
  const ids = await page.$$eval('button.add[data-item-id]', (buttons) =>
    buttons.map((button) => button.dataset.itemId),
  );
  if (ids.length === 0) {
    fail('the page has no add button (button.add[data-item-id])');
  }
  return ids;
}

async function clickAdd(page, itemId) {
  await page.locator(`button.add[data-item-id="${itemId}"]`).first().click();
}

// Waits until `#cart-items` lists exactly the expected items, each line holding its quantity.
async function expectItems(page, expected) {
  const want = [...expected.entries()].map(([itemId, quantity]) => ({ itemId, quantity }));
  try {
    await page.waitForFunction((items) => {
      const lines = [...document.querySelectorAll('#cart-items li[data-item-id]')];
      if (lines.length !== items.length) {
        return false;
      }
      return items.every(({ itemId, quantity }) => {
        const line = lines.find((li) => li.dataset.itemId === itemId);
        return line !== undefined && new RegExp(`(^|\\D)${quantity}(\\D|$)`).test(line.textContent);
      });
    }, want);
  } catch {
    fail(`#cart-items never listed ${JSON.stringify(want)}; the page shows ${await describe(page)}`);
  }
}

// What the hooks of the page show, for failure messages.
async function describe(page) {
  try {
    return JSON.stringify(
      await page.evaluate(() => ({
        url: location.href,
        status: document.querySelector('#ws-status')?.textContent.trim() ?? null,
        badge: document.querySelector('#cart-count')?.textContent.trim() ?? null,
        items: [...document.querySelectorAll('#cart-items li')].map((li) => ({
          itemId: li.dataset.itemId ?? null,
          text: li.textContent.trim(),
        })),
        addButtons: [...document.querySelectorAll('button.add')].map((b) => b.dataset.itemId ?? null),
      })),
    );
  } catch (error) {
    return `(cannot read the page: ${error.message})`;
  }
}

await main();
