// Two agents work a callback on the agents' page in Debian's Chromium,
// driven by playwright-core (which downloads no browser). Run by
// scripts/browser-test against `afureko serve` on a seeded store.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';

const BASE = process.env.AFUREKO_URL;
const SHOTS = process.env.SCREENSHOTS;
const INITIAL = process.env.INITIAL_PASSWORD;
assert.ok(BASE && SHOTS && INITIAL, 'AFUREKO_URL, SCREENSHOTS and INITIAL_PASSWORD are set');
mkdirSync(SHOTS, { recursive: true });

// Nothing may leave the machine: no background, update or sync traffic.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  // playwright-core gives every launch a fresh temporary user-data-dir.
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = 0;
let passed = 0;
async function step(name, run) {
  try {
    await run();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`not ok - ${name}\n${err.stack}`);
    throw err;
  }
}

/** A new call to the demo tenant, signed as Twilio signs it (the demo
 * tenant's auth token, the URL serve is reached at); its TwiML. */
async function incomingCall(from) {
  const url = `${BASE}/twilio/demo/voice`;
  const params = {
    AccountSid: 'AC00000000000000000000000000000000', CallSid: `CA${randomBytes(16).toString('hex')}`,
    From: from, To: '+81120000000', CallStatus: 'ringing', Direction: 'inbound',
  };
  const signed = url + Object.keys(params).sort().map((k) => k + params[k]).join('');
  const signature = createHmac('sha1', 'demo-auth-token').update(signed).digest('base64');
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: new URLSearchParams(params),
  });
  const twiml = await res.text();
  assert.equal(res.status, 200, twiml);
  return twiml;
}

/** Signs in with the initial password, to the forced change. */
async function signInFirst(page, login) {
  await page.goto(`${BASE}/`);
  await page.waitForURL(`${BASE}/app`);
  await page.fill('#f-tenant', 'demo');
  await page.fill('#f-login', login);
  await page.fill('#f-password', INITIAL);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#newpw');
}

/** Signs in with the initial password and chooses a new one. */
async function signIn(page, login) {
  await signInFirst(page, login);
  await page.fill('#f-current_password', INITIAL);
  await page.fill('#f-new_password', `${login}'s own new passphrase`);
  await page.click('#newpw button[type=submit]');
  await page.waitForSelector('[role=tab][aria-selected=true]');
}

/** Signs in with the password chosen in `signIn`. */
async function signInAgain(page, login) {
  await page.goto(`${BASE}/app`);
  await page.fill('#f-tenant', 'demo');
  await page.fill('#f-login', login);
  await page.fill('#f-password', `${login}'s own new passphrase`);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('[role=tab][aria-selected=true]');
}

/** Waits until every <audio> on the page has loaded its metadata; a
 * recording that neither loads nor fails within 15 s fails the step. */
async function durations(page) {
  return page.$$eval('audio', (els) => Promise.all(els.map((a) => new Promise((resolve, reject) => {
    if (a.readyState >= 1) resolve(a.duration);
    a.addEventListener('loadedmetadata', () => resolve(a.duration));
    a.addEventListener('error', () => reject(new Error(`audio ${a.src}: error ${a.error && a.error.code}`)));
    setTimeout(() => reject(new Error(`audio ${a.src}: no metadata after 15 s`)), 15000);
  }))));
}

/** Presses Tab until `selector` has the focus, as a keyboard user would. */
async function tabTo(page, selector) {
  for (let i = 0; i < 100; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** The page fits its width: nothing to scroll sideways. */
async function fitsWidth(page) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `scroll width ${scroll} > ${width}`);
}

async function record(page, id) {
  return page.evaluate(async (path) => (await fetch(path)).json(), `/api/v1/callbacks/${id}`);
}

const errors = [];
function watch(page) {
  // A CSP violation, a script error or an unexpected HTTP error fails the
  // run; the 401 of a session ended by a password reset, the expected 409,
  // the wrong current password and the settings value refused on purpose
  // are not errors.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    const expected = (r.status() === 401 && path === '/api/v1/me') ||
      (r.status() === 409 && path.endsWith('/claim')) ||
      (r.status() === 400 && (path === '/api/v1/settings' || path === '/api/v1/me/password'));
    if (r.status() >= 400 && !expected) errors.push(`${r.status()} ${path}`);
  });
}

try {
  const ann = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  watch(ann);
  let id;
  await step('a wrong password is refused in the page\'s language', async () => {
    // Not watched: the 401 is the point. A signed-out load asks for no
    // session it cannot have, and for no icon the page does not name.
    const page = await (await browser.newContext()).newPage();
    const asked = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    await page.goto(`${BASE}/app`);
    await page.waitForSelector('#signin');
    assert.ok(!asked.includes('/api/v1/me'), asked.join(' '));
    assert.ok(!asked.includes('/favicon.ico'), asked.join(' '));
    await page.fill('#f-tenant', 'demo');
    await page.fill('#f-login', 'ann');
    await page.fill('#f-password', 'not her password');
    await page.click('#signin button[type=submit]');
    await page.waitForSelector('#signin .error:text("テナント、ログイン名またはパスワードが違います。")');
    await page.context().close();
  });
  await step('the forced password change cannot be left, and a wrong current password keeps the session', async () => {
    await signInFirst(ann, 'ann');
    assert.equal(await ann.getAttribute('html', 'lang'), 'ja');
    await ann.click('#home');
    await ann.waitForSelector('#newpw');
    await ann.goto(`${BASE}/app#/list/pending`);
    await ann.waitForSelector('#newpw');
    assert.equal(await ann.textContent('#toast'), '');
    await ann.fill('#f-current_password', 'not the initial one');
    await ann.fill('#f-new_password', "ann's own new passphrase");
    await ann.click('#newpw button[type=submit]');
    await ann.waitForSelector('#f-current_password-error');
    assert.equal(await ann.textContent('#f-current_password-error'), '現在のパスワードが違います。');
    assert.equal(await ann.getAttribute('#f-current_password', 'aria-invalid'), 'true');
    assert.equal(await ann.evaluate(() => document.activeElement.id), 'f-current_password');
    assert.equal(await ann.evaluate(async () => (await fetch('/api/v1/me')).status), 200);
    await ann.screenshot({ path: `${SHOTS}/password-wrong-ja.png`, fullPage: true });
    await ann.fill('#f-current_password', INITIAL);
    await ann.click('#newpw button[type=submit]');
    await ann.waitForSelector('[role=tab][aria-selected=true]');
  });
  await step('the list shows the waiting callback, number masked, one repeat call', async () => {
    const row = ann.locator('tr[data-id]').first();
    await row.waitFor();
    assert.equal(await ann.locator('tr[data-id]:not(.sla-later)').count(), 1, 'the repeat call joined the record');
    id = await row.getAttribute('data-id');
    // The number as the region reads it, masked.
    assert.equal(await row.locator('.digits').innerText(), '03-****-5678');
    assert.match(await row.innerText(), /0 \/ \d/);
    assert.equal(await row.locator('.badge.repeat').innerText(), '再入電 1');
    // Both records wait: the count on the tab and in the title.
    await ann.waitForSelector('#count-pending');
    assert.equal(await ann.textContent('#count-pending'), '2');
    assert.match(await ann.title(), /^\(2\) 折り返し一覧 — afureko$/);
    await ann.screenshot({ path: `${SHOTS}/list-ja.png`, fullPage: true });
  });
  await step('a callback whose window has not opened waits later, with its hours', async () => {
    // The seed's third call chose 00:00-00:15, which comes round tomorrow.
    await ann.waitForSelector('#later');
    assert.equal(await ann.textContent('#later'), 'ご希望の時間帯を待っている折り返し');
    const row = ann.locator('#later-list tr[data-id]');
    assert.equal(await row.count(), 1);
    assert.equal(await row.getAttribute('class'), 'sla-later');
    assert.equal(await row.locator('.sla').innerText(), '時間指定');
    assert.equal(await row.locator('.window').innerText(), '00:00–00:15');
    const waitingId = await row.getAttribute('data-id');
    const page = await ann.evaluate(async () => (await fetch('/api/v1/callbacks?status=pending')).json());
    const waiting = page.items.find((i) => i.id === waitingId);
    assert.ok(waiting.not_before && new Date(waiting.not_before) > Date.now(), JSON.stringify(waiting));
    assert.equal(waiting.due_at, waiting.window.end);
    await ann.screenshot({ path: `${SHOTS}/list-later-ja.png`, fullPage: true });
  });
  await step('a search by the last four digits finds the caller', async () => {
    await ann.fill('#q', '2222');
    await ann.press('#q', 'Enter');
    await ann.waitForSelector('#clear-search');
    assert.equal(await ann.locator('tr[data-id]').count(), 1);
    assert.equal(await ann.locator('tr[data-id] .digits').innerText(), '090-****-2222');
    await ann.screenshot({ path: `${SHOTS}/search-ja.png`, fullPage: true });
    // The whole number, typed with hyphens, finds the other.
    await ann.fill('#q', '03-1234-5678');
    await ann.press('#q', 'Enter');
    await ann.waitForSelector(`tr[data-id="${id}"]`);
    assert.equal(await ann.locator('tr[data-id]').count(), 1);
    await ann.click('#clear-search');
    await ann.waitForSelector('#later');
  });
  await step('the English switch is kept per browser', async () => {
    await ann.click('#lang');
    await ann.waitForSelector('th:text("Due")');
    // Dates no English reader mistakes: "Dec 7, 16:58".
    assert.match(await ann.textContent(`tr[data-id="${id}"] a.open`), /^[A-Z][a-z]{2} \d{1,2}, \d\d:\d\d$/);
    assert.equal(await ann.textContent(`tr[data-id="${id}"] .badge.repeat`), 'Called 1× again');
    assert.match(await ann.title(), /^\(2\) Callbacks — afureko$/);
    await ann.screenshot({ path: `${SHOTS}/list-en.png`, fullPage: true });
    await ann.reload();
    await ann.waitForSelector('th:text("Due")');
    assert.equal(await ann.getAttribute('html', 'lang'), 'en');
    await ann.click('#lang');
    await ann.waitForSelector('th:text("期限")');
  });
  await step('the record plays every recording', async () => {
    await ann.click(`tr[data-id="${id}"] a`);
    await ann.waitForSelector('#claim');
    const lengths = await durations(ann);
    assert.equal(lengths.length, 2, 'the first call and the repeat call');
    for (const d of lengths) assert.ok(Number.isFinite(d) && d > 0, `duration ${d}`);
    assert.match(await ann.textContent('dl.facts'), /再入電\s*1/);
    assert.equal(await ann.locator('#history li[data-kind="repeat_call"]').count(), 1);
    // Each recording sits with the call it came from, labelled with it.
    assert.match(await ann.textContent('#history li[data-kind="arrived"] .recording'), /^最初の着信 \d\d:\d\dの録音/);
    assert.match(await ann.textContent('#history li[data-kind="repeat_call"] .recording'), /^再入電 \d\d:\d\dの録音/);
    assert.equal(await ann.isEnabled('#play-latest'), true);
  });
  await step('ann claims it and sees the whole number', async () => {
    await ann.click('#claim');
    await ann.waitForSelector('#tel');
    assert.equal(await ann.getAttribute('#tel', 'href'), 'tel:+81312345678');
    assert.equal(await ann.getAttribute('#tel', 'class'), 'call-button');
    assert.equal(await ann.textContent('#record-number .digits'), '03-1234-5678');
    assert.equal(await ann.textContent('#status'), 'あなたが対応中です');
    await ann.screenshot({ path: `${SHOTS}/record-ja.png`, fullPage: true });
    await ann.click('#lang');
    await ann.waitForSelector('#outcome-no_answer:text("No answer")');
    assert.equal(await ann.textContent('#status'), 'You are working on it');
    await ann.screenshot({ path: `${SHOTS}/record-en.png`, fullPage: true });
    await ann.click('#lang');
    await ann.waitForSelector('#outcome-no_answer:text("応答なし")');
  });
  await step('bob sees it taken and his claim gets the 409 message', async () => {
    const bob = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    watch(bob);
    await signIn(bob, 'bob');
    await fitsWidth(bob);
    await bob.screenshot({ path: `${SHOTS}/list-phone-ja.png`, fullPage: true });
    // A supervisor's service level names it among those waiting longest.
    await bob.click('#stats');
    await bob.waitForSelector('#sl-oldest li');
    // Oldest first: ann's record, then the one waiting for its window.
    const oldest = bob.locator('#sl-oldest li');
    assert.equal(await oldest.count(), 2);
    assert.equal(await oldest.nth(0).locator('a').getAttribute('href'), `#/cb/${id}`);
    assert.match(await oldest.nth(0).textContent(), /対応中 — ann$/);
    assert.equal(await bob.textContent('#sl-claimed'), '1');
    await bob.screenshot({ path: `${SHOTS}/stats-phone-ja.png`, fullPage: true });
    await oldest.nth(0).locator('a').click();
    await bob.waitForSelector('#status:has-text("Ann Satoさんが対応中です")');
    await bob.goto(`${BASE}/app#/cb/${id}`);
    await bob.waitForSelector('#status:has-text("Ann Satoさんが対応中です")');
    await fitsWidth(bob);
    await bob.screenshot({ path: `${SHOTS}/record-phone-ja.png`, fullPage: true });
    await bob.click('#claim');
    await bob.waitForSelector('#action-error:text("Ann Satoさんが対応中です")');
    await bob.context().close();
  });
  await step('"reached" asks first: a stray click closes nothing', async () => {
    await ann.click('#outcome-reached');
    await ann.waitForSelector('#confirm');
    assert.match(await ann.textContent('#confirm-text'), /完了になります/);
    await ann.click('#confirm-no');
    await ann.waitForSelector('#confirm', { state: 'detached' });
    assert.equal((await record(ann, id)).status, 'claimed');
  });
  await step('ann sets her phone and calls back: the outcome logs itself', async () => {
    // No phone yet: the button says why it is off.
    assert.equal(await ann.getAttribute('#call-back', 'disabled'), '');
    assert.equal(await ann.textContent('#call-why'), 'あなたの電話番号が未設定のため発信できません。下で設定してください。');
    await ann.fill('#my-phone', '090-1234-5678');
    await ann.click('#save-phone');
    await ann.waitForSelector('#call-back:not([disabled])');
    assert.match(await ann.textContent('#phone summary'), /\+819012345678$/);
    // With the keyboard: the stand-in rings her, she presses 1, the customer talks 45 s.
    await ann.focus('#call-back');
    await ann.keyboard.press('Enter');
    await ann.waitForSelector('#call-state[data-end="logged"]');
    await ann.waitForSelector('#history li[data-kind="attempt"]:has-text("あなたが発信: つながった")');
    assert.equal(await ann.textContent('#call-state'), '通話終了 — 結果を記録しました — 発信 1 の結果: つながった');
    await ann.waitForSelector('#status:text("完了")');
    const after = await record(ann, id);
    assert.equal(after.attempts.length, 1);
    assert.equal(after.attempts[0].outcome, 'reached');
    assert.match(after.attempts[0].call.agent_call_sid, /^CA[0-9a-f]{32}$/);
    await ann.screenshot({ path: `${SHOTS}/call-back-ja.png`, fullPage: true });
  });
  await step('it was a voicemail: ann corrects the outcome and the record opens again', async () => {
    await ann.selectOption('#correct-outcome', 'voicemail');
    await ann.fill('#correct-note', '留守番電話が応答していた');
    await ann.click('#correct-attempt');
    await ann.waitForSelector('#history li[data-kind="attempt_corrected"]');
    assert.equal(await ann.textContent('#history li[data-kind="attempt_corrected"] .note'), '留守番電話が応答していた');
    assert.match(await ann.textContent('#history li[data-kind="attempt_corrected"]'), /あなたが発信 1 の結果を訂正: つながった → 留守電/);
    await ann.waitForSelector('#status:text("未対応")');
    const after = await record(ann, id);
    assert.equal(after.attempts.length, 1, 'no second attempt');
    assert.equal(after.attempts[0].outcome, 'voicemail');
    await ann.click('#claim');
    await ann.waitForSelector('#outcome-no_answer');
  });
  await step('ann logs no_answer, it comes back due later, and the next record is offered', async () => {
    await ann.fill('#attempt-note', '留守番電話にもつながらず');
    await ann.click('#outcome-no_answer');
    await ann.waitForSelector('#history li:has-text("あなたが発信: 応答なし")');
    await ann.waitForSelector('#open-next');
    assert.notEqual(await ann.getAttribute('#open-next', 'href'), `#/cb/${id}`);
    const after = await record(ann, id);
    assert.equal(after.status, 'pending');
    const tried = after.attempts[after.attempts.length - 1];
    assert.equal(tried.outcome, 'no_answer');
    assert.ok(new Date(after.due_at) > new Date(tried.at), `due ${after.due_at}, tried ${tried.at}`);
    assert.equal(await ann.textContent('#history li:has-text("あなたが発信: 応答なし") .note'), '留守番電話にもつながらず');
  });
  await step('a note with markup stays text', async () => {
    const probe = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
    await ann.fill('#note-text', probe);
    await ann.click('#add-note');
    await ann.waitForSelector('#history li:has-text("あなたのメモ")');
    assert.equal(await ann.textContent('#history li:has-text("あなたのメモ") .note'), probe);
    assert.equal(await ann.locator('#history img, #history script').count(), 0);
    assert.equal(await ann.evaluate(() => window.__xss), undefined);
  });
  await step('ann claims again, hands over to no one (refused), and completes it', async () => {
    await ann.click('#claim');
    await ann.waitForSelector('#assign');
    assert.equal(await ann.inputValue('#assign-to'), '');
    await ann.click('#assign');
    await ann.waitForSelector('#assign-to-error');
    assert.equal(await ann.textContent('#assign-to-error'), '引き継ぎ先を選んでください。');
    assert.equal((await record(ann, id)).claimed_by, 'ann');
    await ann.fill('#complete-note', 'メールで回答済み');
    await ann.click('#complete');
    await ann.waitForSelector('#status:text("完了")');
    assert.equal((await record(ann, id)).completion_note, 'メールで回答済み');
  });
  await step('a supervisor sees the day\'s figures, the chart and the export', async () => {
    const bob = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    watch(bob);
    await signInAgain(bob, 'bob');
    await bob.click('#stats');
    await bob.waitForSelector('#sl-tab-week[aria-selected=true]');
    // The demo's two calls are one record: ann called back (corrected to
    // voicemail), logged a no-answer, then completed it; the third caller's
    // record waits for its window (not yet due).
    assert.equal(await bob.textContent('#sl-received'), '2');
    assert.equal(await bob.textContent('#sl-completed'), '1');
    assert.match(await bob.textContent('#sl-share'), /^100%/);
    assert.equal(await bob.textContent('#sl-attempts'), '2');
    assert.equal(await bob.textContent('#sl-repeats'), '1');
    assert.equal(await bob.textContent('#sl-pending'), '1');
    assert.equal(await bob.locator('#sl-oldest li').count(), 1);
    assert.notEqual(await bob.locator('#sl-oldest li').getAttribute('data-id'), id);
    assert.equal(await bob.locator('#sl-chart rect.bar').count(), 7);
    assert.equal(await bob.locator('#sl-days tbody tr').count(), 7);
    assert.deepEqual(await bob.locator('tr[data-login="ann"] td').allInnerTexts(), ['ann', '2', '0', '1']);
    await bob.screenshot({ path: `${SHOTS}/stats-ja.png`, fullPage: true });
    // Today, by keyboard: one bar, the same record.
    await tabTo(bob, '#sl-tab-today');
    await bob.keyboard.press('Enter');
    await bob.waitForSelector('#sl-tab-today[aria-selected=true]');
    assert.equal(await bob.locator('#sl-chart rect.bar').count(), 1);
    assert.equal(await bob.textContent('#sl-received'), '2');
    // The export: numbers masked; whole ones are for admins only.
    assert.equal(await bob.locator('#sl-csv-whole').count(), 0);
    const csv = await bob.evaluate(async () => (await fetch(document.getElementById('sl-csv').href)).text());
    const lines = csv.trim().split('\r\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^id,received_at,reason,status,/);
    const completed = lines.filter((l) => l.startsWith(`${id},`));
    assert.equal(completed.length, 1);
    assert.match(completed[0], /,completed,/);
    assert.match(completed[0], /\*{3,}/);
    await bob.click('#lang');
    await bob.waitForSelector('h2:text("Service level")');
    await bob.screenshot({ path: `${SHOTS}/stats-en.png`, fullPage: true });
    await bob.click('#lang');
    await bob.waitForSelector('h2:text("サービスレベル")');
    await bob.context().close();
  });
  await step('the page can be worked with the keyboard', async () => {
    await tabTo(ann, '#back');
    await ann.keyboard.press('Enter');
    await ann.waitForSelector('#tab-pending[aria-selected=true]');
    // The tabs are one stop; arrow keys move between them.
    await tabTo(ann, '#tab-pending');
    await ann.keyboard.press('ArrowLeft');
    await ann.waitForSelector('#tab-failed[aria-selected=true]');
    await ann.keyboard.press('ArrowLeft');
    await ann.waitForSelector('#tab-completed[aria-selected=true]');
    await ann.waitForSelector(`tr[data-id="${id}"]`);
    assert.equal(await ann.evaluate(() => document.activeElement.id), 'tab-completed');
    // `?` lists the shortcuts; Escape closes the list.
    await ann.keyboard.press('?');
    await ann.waitForSelector('#keys-help');
    assert.ok(await ann.locator('#keys-help kbd').count() >= 6);
    await ann.screenshot({ path: `${SHOTS}/keys-ja.png` });
    await ann.keyboard.press('Escape');
    await ann.waitForSelector('#keys-help', { state: 'detached' });
    await tabTo(ann, `tr[data-id="${id}"] a`);
    await ann.keyboard.press('Enter');
    await ann.waitForSelector('#history li[data-kind="completed"]');
  });
  await step('a call arriving while the list is open raises the count and the title', async () => {
    await ann.goto(`${BASE}/app#/list/pending`);
    await ann.waitForSelector('#count-pending:text("1")');
    assert.match(await ann.title(), /^\(1\) /);
    // A new caller rings: their record is kept on the caller ID at once.
    // Through serve, whose notifier works the record's event before any
    // endpoint exists (a call written by another process would wait for
    // its next poll, and reach the endpoints the last step adds).
    await incomingCall('+819033334444');
    // The counts are asked for every 15 s.
    await ann.waitForSelector('#count-pending:text("2")', { timeout: 40000 });
    assert.match(await ann.title(), /^\(2\) /);
    await ann.waitForSelector('tr.new');
    assert.equal(await ann.locator('tr.new .digits').innerText(), '090-****-4444');
    assert.equal(await ann.locator('tr.new .badge.new').innerText(), '新着');
    // Kept on the caller ID before the caller confirmed it.
    assert.equal(await ann.locator('tr.new .badge.unconfirmed').innerText(), '番号未確認');
    await ann.screenshot({ path: `${SHOTS}/list-new-ja.png`, fullPage: true });
  });
  await step('the list\'s filters narrow it and let go again', async () => {
    const caller = 'tr:has(.digits:text("090-****-4444"))';
    // It is an overflow call, and nobody's repeat caller.
    await ann.selectOption('#f-reason', 'after-hours');
    await ann.waitForSelector(caller, { state: 'detached' });
    await ann.selectOption('#f-reason', 'overflow');
    await ann.waitForSelector(caller);
    await ann.check('#f-repeat');
    await ann.waitForSelector(caller, { state: 'detached' });
    await ann.uncheck('#f-repeat');
    await ann.selectOption('#f-reason', '');
    await ann.waitForSelector(caller);
    assert.equal(await ann.inputValue('#f-reason'), '');
    assert.equal(await ann.isChecked('#f-repeat'), false);
  });
  await step('an admin adds an agent and a password reset signs ann out', async () => {
    const ada = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    watch(ada);
    await signIn(ada, 'ada');
    await ada.click('#admin');
    await ada.waitForSelector('tr[data-login="ann"]');
    assert.deepEqual(await ada.locator('#agents-table th').allInnerTexts(), ['ログイン名', '名前', '役割', '有効', '操作']);
    assert.deepEqual(await ada.locator('#keys-table th').allInnerTexts(), ['ID', '用途', '作成日時', '状態']);
    await ada.fill('#f-new-login', 'cat');
    await ada.fill('#f-new-name', '猫田 <b>タマ</b>');
    await ada.click('#add-agent button[type=submit]');
    // The one-time password: in a dialog, with a copy button.
    await ada.waitForSelector('#secret-dialog');
    assert.equal(await ada.textContent('#secret-title'), '初回パスワード');
    assert.match(await ada.inputValue('#secret'), /^\w{20}$/);
    assert.equal(await ada.evaluate(() => document.activeElement.id), 'secret-copy');
    await ada.screenshot({ path: `${SHOTS}/one-time-ja.png` });
    await ada.click('#secret-close');
    await ada.waitForSelector('#secret-dialog', { state: 'detached' });
    await ada.waitForSelector('tr[data-login="cat"]');
    assert.equal(await ada.textContent('tr[data-login="cat"] td:nth-child(2)'), '猫田 <b>タマ</b>');
    // Disabling asks first; "cancel" changes nothing.
    await ada.click('#disable-cat');
    await ada.waitForSelector('#confirm');
    await ada.click('#confirm-no');
    await ada.waitForSelector('#confirm', { state: 'detached' });
    assert.equal(await ada.isEnabled('#disable-cat'), true);
    await ada.screenshot({ path: `${SHOTS}/agents-ja.png`, fullPage: true });
    // API keys: made (shown once), then revoked; the name stays text.
    await ada.fill('#f-key-name', '受付 <i>desk</i>');
    await ada.click('#add-key button[type=submit]');
    await ada.waitForSelector('#secret-dialog');
    assert.equal(await ada.textContent('#secret-title'), '新しいAPIキー');
    assert.match(await ada.inputValue('#secret'), /^afk_\w{64}$/);
    await ada.click('#secret-close');
    await ada.waitForSelector('#secret-dialog', { state: 'detached' });
    // Revoking asks first.
    await ada.click('tr:has-text("受付 <i>desk</i>") button');
    await ada.waitForSelector('#confirm');
    await ada.click('#confirm-yes');
    await ada.waitForSelector('tr:has-text("受付 <i>desk</i>") td:has-text("失効済み")');
    // Settings: a refused value is named, a good one is saved and shown.
    await ada.fill('#set-callback_sla_minutes', '0');
    await ada.click('#settings button[type=submit]');
    // …at its input, which keeps the focus, in the page's language.
    await ada.waitForSelector('#set-callback_sla_minutes-error');
    assert.equal(await ada.textContent('#set-callback_sla_minutes-error'),
      '「折り返し期限（分）」を確認してください。1〜20160の整数で入力してください。');
    assert.equal(await ada.getAttribute('#set-callback_sla_minutes', 'aria-invalid'), 'true');
    assert.equal(await ada.evaluate(() => document.activeElement.id), 'set-callback_sla_minutes');
    assert.equal(await ada.textContent('#toast'), '');
    await ada.screenshot({ path: `${SHOTS}/settings-refused-ja.png`, fullPage: true });
    // A list setting: one window a line.
    assert.equal(await ada.inputValue('#set-callback_windows'), '1=00:00-00:15');
    await ada.fill('#set-callback_sla_minutes', '90');
    await ada.click('#settings button[type=submit]');
    await ada.waitForSelector('#toast:has-text("保存しました")');
    assert.equal(await ada.inputValue('#set-callback_sla_minutes'), '90');
    assert.equal(await ada.getAttribute('#set-callback_sla_minutes', 'aria-invalid'), null);
    // The after-hours greeting: its preview fills in a sample due time, and
    // saved, it is what the tenant's callers hear next.
    const greeting = 'ただいま営業時間外です。{due}折り返しお電話いたします。';
    await ada.fill('#prompt-after_hours_greeting', greeting);
    assert.equal(await ada.textContent('#prompt-after_hours_greeting-heard'),
      '聞こえ方：ただいま営業時間外です。本日15時30分までに折り返しお電話いたします。');
    await ada.click('#settings button[type=submit]');
    await ada.waitForFunction(async (text) => {
      const settings = await (await fetch('/api/v1/settings')).json();
      return settings.prompts.after_hours_greeting === text;
    }, greeting);
    await ada.screenshot({ path: `${SHOTS}/settings-greeting-ja.png`, fullPage: true });
    // Closed now: the first TwiML the next call gets, under the form, is the
    // new greeting, and the next call hears it (a withheld number: it keeps
    // no record until the caller enters one).
    await ada.check('#set-closed_now');
    await ada.click('#settings button[type=submit]');
    await ada.waitForSelector('#next-call-twiml:has-text("ただいま営業時間外です。")');
    assert.match(await ada.textContent('#next-call p'), /から着信があった場合.*理由：営業時間外$/);
    await ada.locator('#next-call').screenshot({ path: `${SHOTS}/settings-next-call-ja.png` });
    const heard = await incomingCall('anonymous');
    assert.match(heard, /<Say [^>]*>ただいま営業時間外です。[^<]*折り返しお電話いたします。<\/Say>/);
    await ada.uncheck('#set-closed_now');
    await ada.click('#settings button[type=submit]');
    await ada.waitForFunction(async () => {
      const settings = await (await fetch('/api/v1/settings')).json();
      return settings.closed_now === false;
    });
    await ada.click('#lang');
    await ada.waitForSelector('#agents-table th:text("Login")');
    await ada.screenshot({ path: `${SHOTS}/agents-en.png`, fullPage: true });
    await ada.click('#lang');
    await ada.waitForSelector('#agents-table th:text("ログイン名")');
    await ada.click('#reset-ann');
    await ada.waitForSelector('#confirm');
    await ada.click('#confirm-yes');
    await ada.waitForSelector('#secret-dialog');
    assert.match(await ada.textContent('#secret-dialog'), /Ann Sato（ann）/);
    await ada.click('#secret-close');
    await ann.reload();
    await ann.waitForSelector('#signin');
    await ada.context().close();
  });
  await step('an admin adds notification endpoints, tests them, sees one delivered and why the other was not', async () => {
    // A receiver on loopback (serve runs with AFUREKO_ALLOW_PRIVATE_NOTIFY=true):
    // /ok answers 200, /fail 500.
    const got = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        got.push({ path: req.url, signature: req.headers['webhook-signature'], body });
        const ok = req.url === '/ok';
        res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' });
        res.end(ok ? 'ok' : 'upstream unavailable');
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${receiver.address().port}`;
    try {
      const ada = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      watch(ada);
      await signInAgain(ada, 'ada');
      await ada.click('#admin');
      await ada.waitForSelector('#notifications-table');
      await ada.fill('#f-nt-url', `${url}/ok`);
      await ada.click('#add-notification button[type=submit]');
      await ada.waitForSelector('#secret-dialog');
      assert.equal(await ada.textContent('#secret-title'), '署名用シークレット');
      assert.match(await ada.inputValue('#secret'), /^whsec_[A-Za-z0-9+/=]{32}$/);
      await ada.click('#secret-close');
      await ada.waitForSelector('#secret-dialog', { state: 'detached' });
      const ok = `#notifications-table tr:has-text("${url}/ok")`;
      await ada.click(`${ok} button:has-text("テスト送信")`);
      await ada.waitForSelector('#toast:has-text("テスト通知が届きました")');
      await ada.waitForSelector(`${ok} td.last-delivery:has-text("配信済み")`);
      assert.match(await ada.textContent(`${ok} td.last-delivery`), /^テスト: 配信済み（1回目、/);
      await ada.fill('#f-nt-url', `${url}/fail`);
      await ada.selectOption('#f-nt-format', 'slack');
      await ada.check('#add-notification input[value="callback.overdue"]');
      await ada.click('#add-notification button[type=submit]');
      const failing = `#notifications-table tr:has-text("${url}/fail")`;
      await ada.waitForSelector(failing);
      assert.equal(await ada.textContent(`${failing} td:nth-child(2)`), '新しい依頼、期限切れ');
      await ada.click(`${failing} button:has-text("テスト送信")`);
      await ada.waitForSelector('#toast:has-text("テスト通知が届きませんでした: HTTP 500: upstream unavailable")');
      await ada.waitForSelector(`${failing} td.last-delivery .error`);
      assert.equal(await ada.textContent(`${failing} td.last-delivery .error`), 'HTTP 500: upstream unavailable');
      await ada.screenshot({ path: `${SHOTS}/notifications-ja.png`, fullPage: true });
      assert.deepEqual(got.map((g) => [g.path, Boolean(g.signature)]), [['/ok', true], ['/fail', false]]);
      assert.equal(JSON.parse(got[0].body).type, 'notification.test');
      await ada.click(`${failing} button:has-text("削除")`);
      await ada.waitForSelector(failing, { state: 'detached' });
      await ada.context().close();
    } finally {
      receiver.close();
    }
  });
  await step('no script error or CSP violation', async () => {
    assert.deepEqual(errors, []);
  });
} catch {
  // Reported by its step.
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
