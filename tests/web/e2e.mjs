// The pages end to end in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): a citizen files a complaint through the form and looks up its status with the
// receipt and secret; the demo auditor signs in, browses the agencies and an agency's trail, and
// runs the in-browser proof check. Screenshots go to the directory given as the second argument.
//
//   node e2e.mjs BASE_URL SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';

const [base, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const failures = [];
const step = async (name, fn) => {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e.message}`);
  }
};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.setDefaultTimeout(15000);

  let receipt = '', secret = '';
  await step('home page in Chinese by default', async () => {
    await page.goto(base);
    await page.waitForSelector('.hero h1');
    assert.equal(await page.locator('.hero h1').textContent(), '政府机关诚信监督');
    await page.screenshot({ path: `${shots}/01-home-zh.png`, fullPage: true });
  });

  await step('the English switch', async () => {
    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('.hero h1').textContent === 'Oversight of government integrity');
    await page.screenshot({ path: `${shots}/02-home-en.png`, fullPage: true });
    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('.hero h1').textContent === '政府机关诚信监督');
  });

  await step('file a complaint through the form', async () => {
    await page.goto(`${base}#/complaint`);
    await page.waitForSelector('#complaint-agency option[value="sh.city.housing"]', { state: 'attached' });
    await page.selectOption('#complaint-agency', 'sh.city.housing');
    await page.selectOption('#complaint-category', 'service_commitment');
    await page.fill('#complaint-summary', '承诺的办件时限为五个工作日，实际拖延两个月仍未办结。');
    await page.fill('#complaint-contact', '王先生 13900001111');
    await page.click('#complaint-submit');
    await page.waitForSelector('#receipt');
    receipt = (await page.textContent('#receipt')).trim();
    secret = (await page.textContent('#secret')).trim();
    assert.match(receipt, /^TS\d{8}-\d{8}$/);
    assert.match(secret, /^[A-Z2-9]{5}(-[A-Z2-9]{5}){3}$/);
    await page.screenshot({ path: `${shots}/03-complaint-filed.png`, fullPage: true });
  });

  await step('look up the complaint with receipt and secret', async () => {
    await page.goto(`${base}#/status`);
    await page.fill('#status-receipt', receipt);
    await page.fill('#status-secret', secret);
    await page.click('#status-submit');
    await page.waitForSelector('#status-phase');
    assert.equal(await page.getAttribute('#status-phase', 'data-phase'), 'awaiting_triage');
    assert.equal(await page.textContent('#status-phase'), '待受理');
    await page.screenshot({ path: `${shots}/04-complaint-status.png`, fullPage: true });
  });

  await step('a wrong secret finds nothing', async () => {
    await page.fill('#status-secret', 'AAAAA-AAAAA-AAAAA-AAAAA');
    await page.click('#status-submit');
    await page.waitForSelector('#status-result .error');
  });

  await step('the dashboard asks staff to sign in', async () => {
    await page.goto(`${base}#/agencies`);
    await page.waitForSelector('.notice');
  });

  await step('sign in as the demo auditor (request signed with WebCrypto Ed25519)', async () => {
    await page.goto(`${base}#/signin`);
    await page.click('button.demo-id[data-principal="auditor"]');
    await page.waitForSelector('#signed-in');
  });

  await step('browse agencies: table, filters, charts', async () => {
    await page.goto(`${base}#/agencies`);
    await page.waitForSelector('#agency-table tbody tr');
    assert.equal(await page.locator('#agency-table tbody tr').count(), 40);
    assert.equal(await page.locator('.chart svg').count(), 2);
    await page.screenshot({ path: `${shots}/05-dashboard.png`, fullPage: true });
    await page.selectOption('#filter-district', '-');
    const cityLevel = await page.locator('#agency-table tbody tr').count();
    assert.ok(cityLevel > 0 && cityLevel < 40, `city-level filter shows ${cityLevel}`);
  });

  await step('agency detail with its audit-trail timeline', async () => {
    await page.goto(`${base}#/agency/sh.city.housing`);
    await page.waitForSelector('#trail li');
    assert.ok(await page.locator('#trail li').count() > 0);
    await page.waitForSelector('#agency-score');
    assert.ok(Number(await page.textContent('#agency-score')) >= 0);
    assert.ok(await page.locator('#explain tbody tr').count() > 1);
    await page.screenshot({ path: `${shots}/06-agency.png`, fullPage: true });
  });

  await step('the in-browser proof check verifies an entry', async () => {
    await page.goto(`${base}#/audit?partition=0&seq=17`);
    await page.click('#audit-run');
    await page.waitForSelector('#audit-verdict');
    assert.equal(await page.getAttribute('#audit-verdict', 'data-ok'), 'true',
      await page.textContent('#audit-result'));
    await page.screenshot({ path: `${shots}/07-proof-verified.png`, fullPage: true });
  });

  await step('the proof check fails under a wrong ledger key', async () => {
    await page.fill('#audit-pubkey', '11'.repeat(32));
    await page.click('#audit-run');
    await page.waitForSelector('#audit-verdict[data-ok="false"]');
    await page.screenshot({ path: `${shots}/08-proof-wrong-key.png`, fullPage: true });
  });

  await step('no page shows an unrendered object', async () => {
    for (const hash of ['#/', '#/agencies', '#/agency/sh.city.housing', '#/audit']) {
      await page.goto(`${base}${hash}`);
      await page.waitForTimeout(300);
      const text = await page.textContent('body');
      assert.ok(!/\[object |undefined|NaN/.test(text), `${hash} shows: ${text.match(/.{0,40}(\[object |undefined|NaN).{0,40}/)?.[0]}`);
    }
  });

  await step('no script errors in the console', async () => {
    // Failed requests the test provoked on purpose (401 / 404) are logged by Chromium as
    // resource errors; anything else is a defect of the pages.
    const real = consoleErrors.filter((m) => !/Failed to load resource/.test(m));
    assert.deepEqual(real, []);
  });
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`${failures.length} step(s) failed: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('all browser steps passed');
