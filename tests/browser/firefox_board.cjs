// The instructor's board in headless Firefox, driven over WebDriver BiDi by puppeteer-core (no
// geckodriver: Debian has none, and npm's downloads one). Opens URL, prints "ready" once the
// board has drawn a row, then waits (without reloading) until the JavaScript expression WAIT is
// true and prints what the page shows as one JSON line.
//   node firefox_board.cjs URL WAIT   (NODE_PATH: where npm put puppeteer-core)
const puppeteer = require('puppeteer-core');
const readline = require('readline');

(async () => {
  const [url, wait] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
    headless: true, protocol: 'webDriverBiDi', args: ['--no-remote']});
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll('tr[data-account]').length > 0,
                               {timeout: 30000});
    await page.evaluate(() => { window.notReloaded = true; });
    console.log('ready');
    await new Promise(done => readline.createInterface({input: process.stdin}).once('line', done));
    await page.waitForFunction(wait, {timeout: 30000});
    console.log(JSON.stringify(await page.evaluate(() => ({
      notReloaded: window.notReloaded === true, url: location.href,
      status: document.getElementById('status').textContent, ua: navigator.userAgent}))));
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(1); });
