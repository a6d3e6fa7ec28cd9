// Play with two real browsers: a question card dealt on one page shows on
// both; tic-tac-toe and would-you-rather played to the end agree on both
// pages; frames a modified client might send (malformed, oversized, out of
// turn, replayed, for another game) change nothing; kudos arrive once; the
// on-device stats survive a reload and clear on request; and going back
// after Next restores the call with video both ways, but is never offered
// after a report.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertClean, axe, baseUrl, clickStart, closeAll, connectPair, hook, launch, openUser, snap, waitFramesDecoded, waitPhase } from './lib.mjs';

const text = async (page, sel) => ((await page.locator(sel).textContent()) ?? '').trim();
const chatOpen = (page) => page.waitForFunction(() => !document.getElementById('deal-btn').disabled, null, { timeout: 15000 });
const waitText = (page, sel, re, timeout = 10000) =>
  page.waitForFunction(([s, src]) => new RegExp(src).test(document.querySelector(s)?.textContent ?? ''), [sel, re.source], { timeout, polling: 50 });

async function axeClean(page, what) {
  const v = await axe(page);
  assert.deepEqual(v, [], `axe (${what}): ${JSON.stringify(v, null, 2)}`);
}

/** Whether the server under test speaks PROTOCOL.md's "Going back" (it answers rematch without unknown_type). */
async function serverHasRematch(page) {
  return page.evaluate(
    (url) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws');
        const done = (v) => {
          clearTimeout(t);
          ws.close();
          resolve(v);
        };
        const t = setTimeout(() => done(true), 3000);
        ws.onmessage = (ev) => {
          const m = JSON.parse(ev.data);
          if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'rematch' }));
          else if (m.type === 'error' && m.ref === 'rematch') done(m.code !== 'unknown_type');
          else if (m.type === 'error' && m.code === 'unknown_type') done(false);
        };
        ws.onerror = () => done(false);
      }),
    baseUrl(),
  );
}

describe('play: icebreakers, games, kudos, stats', () => {
  let browser;
  let a;
  let b;
  let connectedAt = 0;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await closeAll(a, b);
    await browser?.close();
  });

  it('a dealt question shows the same card on both pages, from either side, by button or key', { timeout: 60000 }, async () => {
    // A returning visitor whose streak ran until yesterday: today's real chat extends it.
    a = await openUser(browser, { name: 'A' });
    await a.page.evaluate(() => {
      const d = new Date(Date.now() - 86_400_000);
      const p = (n) => String(n).padStart(2, '0');
      const y = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
      localStorage.setItem('serendip.stats.v1', JSON.stringify({ day: y, chatsThatDay: 3, streakLast: y, streakLen: 4, kudos: 2, longestMs: 30_000 }));
    });
    await a.page.reload();
    assert.equal(await text(a.page, '#stat-streak'), '4');
    assert.equal(await text(a.page, '#stat-today'), '0');
    b = await openUser(browser, { name: 'B' });
    await clickStart(a.page);
    await waitPhase(a.page, 'searching');
    await clickStart(b.page);
    await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);
    connectedAt = Date.now();
    await Promise.all([chatOpen(a.page), chatOpen(b.page)]);

    await a.page.getByRole('button', { name: 'Deal a question' }).click();
    const q1 = await text(a.page, '#card-text');
    assert.ok(q1.endsWith('?'), `a question: ${q1}`);
    await waitText(b.page, '#card-text', new RegExp(`^${q1.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    assert.equal(await text(b.page, '#card-by'), 'The stranger dealt');
    assert.match(await text(b.page, '#play-note'), /The stranger dealt a question/);

    // The other side deals with the key.
    await b.page.locator('body').press('q');
    await a.page.waitForFunction((old) => document.getElementById('card-text').textContent !== old, q1, { timeout: 10000 });
    const q2 = await text(b.page, '#card-text');
    assert.notEqual(q2, q1);
    assert.equal(await text(a.page, '#card-text'), q2);
    // While typing in the chat box, q is a letter; Alt+Q deals.
    const box = a.page.getByRole('textbox', { name: 'Message' });
    await box.fill('');
    await box.press('q');
    assert.equal(await box.inputValue(), 'q');
    assert.equal(await text(a.page, '#card-text'), q2);
    await box.press('Alt+q');
    await b.page.waitForFunction((old) => document.getElementById('card-text').textContent !== old, q2, { timeout: 10000 });
    assert.equal(await text(a.page, '#card-text'), await text(b.page, '#card-text'));
    await box.fill('');

    await axeClean(a.page, 'card');
    await snap(a.page, 'play-card');
  });

  it('tic-tac-toe played to the end: both pages see the same result; illegal frames change nothing', { timeout: 60000 }, async () => {
    await a.page.getByRole('button', { name: 'Tic-tac-toe' }).click();
    await b.page.locator('#game[data-kind="ttt"]').waitFor({ timeout: 10000 });
    assert.match(await text(a.page, '#game-status'), /Your turn\. You are X/);
    assert.match(await text(b.page, '#game-status'), /stranger's turn\. You are O/);
    const cell = (page, i) => page.locator(`#game [data-cell="${i}"]`);
    assert.equal(await cell(b.page, 4).isDisabled(), true, 'not B\'s turn');

    const play = async (page, other, i, n) => {
      await cell(page, i).click();
      await other.waitForFunction(([c]) => document.querySelector(`#game [data-cell="${c}"]`)?.textContent !== '', [i], { timeout: 10000 });
      return n;
    };
    await play(a.page, b.page, 4);
    const id = await hook(a.page, 's.play.game.id');

    // B's page plays as a modified client: nothing it sends out of the rules shows up on A.
    const junk = [
      '{',
      'null',
      '[1,2]',
      JSON.stringify({ t: 'game', op: 'move', id, n: 0, c: 0 }), // replays move 0
      JSON.stringify({ t: 'game', op: 'move', id, n: 1, c: 4 }), // occupied
      JSON.stringify({ t: 'game', op: 'move', id, n: 2, c: 0 }), // skips a move number
      JSON.stringify({ t: 'game', op: 'move', id: 'ffffffffffffffff', n: 1, c: 0 }), // another game
      JSON.stringify({ t: 'game', op: 'move', id, n: 1, c: 0, pad: 'x'.repeat(400) }), // oversized
      JSON.stringify({ t: 'game', op: 'start', g: 'ttt', id: '0000000000000000' }), // a start over a game in progress
      JSON.stringify({ t: 'card', d: '00000000', i: 0, n: 99 }), // another deck
      JSON.stringify({ t: 'nonsense' }),
      'x'.repeat(70000),
    ];
    for (const j of junk) await b.page.evaluate((s) => window.__serendip.sendRaw(s), j);
    await sleep(500);
    const cellsA = await a.page.locator('#game [data-cell]').allTextContents();
    assert.deepEqual(cellsA, ['', '', '', '', 'X', '', '', '', ''], 'A\'s board is untouched');
    assert.equal(await hook(a.page, 's.play.game.id'), id);
    assert.equal(await hook(a.page, 's.phase'), 'connected');

    await play(b.page, a.page, 0);
    await play(a.page, b.page, 2);
    await play(b.page, a.page, 6);
    await play(a.page, b.page, 3);
    await play(b.page, a.page, 5);
    await play(a.page, b.page, 7);
    await play(b.page, a.page, 1);
    await play(a.page, b.page, 8);
    await waitText(a.page, '#game-status', /draw/);
    await waitText(b.page, '#game-status', /draw/);
    const boardA = await a.page.locator('#game [data-cell]').allTextContents();
    const boardB = await b.page.locator('#game [data-cell]').allTextContents();
    assert.deepEqual(boardA, boardB);
    assert.equal(await cell(a.page, 0).isDisabled(), true, 'no moves after the end');
    await axeClean(a.page, 'tic-tac-toe');
    await snap(a.page, 'play-tictactoe');
    // The chat still works after all that.
    await b.page.getByRole('textbox', { name: 'Message' }).fill('still here');
    await b.page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await a.page.locator('#chat-log .msg-stranger .msg-text').filter({ hasText: 'still here' }).waitFor({ timeout: 5000 });
  });

  it('would you rather: both votes show only when both have voted, the same on both pages', { timeout: 60000 }, async () => {
    await b.page.getByRole('button', { name: 'Would you rather' }).click();
    await a.page.locator('#game[data-kind="wyr"]').waitFor({ timeout: 10000 });
    const [optA0, optA1] = await a.page.locator('#game .vote-btn').allTextContents();
    assert.ok(optA0 && optA1);
    assert.deepEqual(await b.page.locator('#game .vote-btn').allTextContents(), [optA0, optA1]);
    await a.page.locator('#game [data-vote="0"]').click();
    await waitText(b.page, '#game-status', /The stranger has picked/);
    assert.doesNotMatch(await text(b.page, '#game-status'), new RegExp(optA0.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(await text(a.page, '#game-status'), /Waiting for the stranger/);
    await b.page.locator('#game [data-vote="1"]').click();
    await waitText(a.page, '#game-status', /Stranger:/);
    await waitText(b.page, '#game-status', /Stranger:/);
    assert.equal(await text(a.page, '#game-status'), `You: ${optA0}. Stranger: ${optA1}.`);
    assert.equal(await text(b.page, '#game-status'), `You: ${optA1}. Stranger: ${optA0}.`);
    await axeClean(b.page, 'would you rather');
    await snap(b.page, 'play-wyr');
  });

  it('kudos: one tap reaches the stranger, once', { timeout: 30000 }, async () => {
    await b.page.getByRole('button', { name: 'Good chat' }).click();
    await a.page.locator('#chat-log').getByText('The stranger enjoyed talking with you.').waitFor({ timeout: 10000 });
    assert.equal(await b.page.getByRole('button', { name: 'Thanks sent' }).isDisabled(), true);
    // A second one (a modified client) is not counted again.
    await b.page.evaluate(() => window.__serendip.sendRaw(JSON.stringify({ t: 'kudos' })));
    await sleep(300);
    assert.equal(await a.page.locator('#chat-log').getByText('The stranger enjoyed talking with you.').count(), 1);
    assert.equal(await hook(a.page, 's.stats.kudos'), 3);
    await snap(a.page, 'play-kudos');
  });

  it('the stats count a real chat, survive a reload, and clear on request', { timeout: 120000 }, async () => {
    // A chat over a minute makes today count for the streak.
    const wait = connectedAt + 61_000 - Date.now();
    if (wait > 0) await sleep(wait);
    await a.page.getByRole('button', { name: 'Stop' }).click();
    await waitPhase(a.page, 'idle');
    const read = async () => ({
      today: await text(a.page, '#stat-today'),
      streak: await text(a.page, '#stat-streak'),
      kudos: await text(a.page, '#stat-kudos'),
      longest: await text(a.page, '#stat-longest'),
    });
    const before = await read();
    assert.equal(before.today, '1');
    assert.equal(before.streak, '5');
    assert.equal(before.kudos, '3');
    assert.match(before.longest, /^1 min \d\d s$/);
    await a.page.reload();
    await waitPhase(a.page, 'idle');
    assert.deepEqual(await read(), before, 'kept across a reload');
    await axeClean(a.page, 'idle with stats');
    await snap(a.page, 'play-stats');
    await a.page.getByRole('button', { name: 'Clear my stats' }).click();
    assert.deepEqual(await read(), { today: '0', streak: '0', kudos: '0', longest: '-' });
    assert.equal(await a.page.evaluate(() => localStorage.getItem('serendip.stats.v1')), null);
    await a.page.reload();
    await waitPhase(a.page, 'idle');
    assert.deepEqual(await read(), { today: '0', streak: '0', kudos: '0', longest: '-' });
    await assertClean(a);
    await assertClean(b);
  });
});

describe('play on a phone-sized screen', () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  it('the play panel fits, its targets are 44 px high, axe clean', { timeout: 60000 }, async () => {
    const a = await openUser(browser, { name: 'phoneA', viewport: { width: 390, height: 844 } });
    const b = await openUser(browser, { name: 'phoneB', viewport: { width: 390, height: 844 } });
    try {
      await snap(a.page, 'mobile-play-idle');
      await clickStart(a.page);
      await waitPhase(a.page, 'searching');
      await clickStart(b.page);
      await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);
      await chatOpen(a.page);
      await a.page.getByRole('button', { name: 'Deal a question' }).click();
      await a.page.getByRole('button', { name: 'Rock paper scissors' }).click();
      await b.page.locator('#game[data-kind="rps"]').waitFor({ timeout: 10000 });
      await a.page.getByRole('button', { name: 'Rock', exact: true }).click();
      await b.page.getByRole('button', { name: 'Scissors', exact: true }).click();
      await waitText(a.page, '#game-status', /You: Rock\. Stranger: Scissors\. You win!/);
      await waitText(b.page, '#game-status', /You: Scissors\. Stranger: Rock\. The stranger wins!/);
      for (const name of ['Deal a question', 'Would you rather', 'Tic-tac-toe', 'Rock paper scissors', 'Good chat']) {
        const box = await a.page.getByRole('button', { name }).boundingBox();
        assert.ok(box && box.height >= 44 && box.x >= 0 && box.x + box.width <= 390, `${name}: ${JSON.stringify(box)}`);
      }
      await a.page.locator('#play').scrollIntoViewIfNeeded();
      await snap(a.page, 'mobile-play');
      await axeClean(a.page, 'mobile play');
      await assertClean(a);
      await assertClean(b);
    } finally {
      await closeAll(a, b);
    }
  });
});

describe('going back', () => {
  let browser;
  let a;
  let b;
  let supported = true;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await closeAll(a, b);
    await browser?.close();
  });

  it('after Next, both press Go back: the call is restored, video both ways, marked as the same stranger', { timeout: 90000 }, async (t) => {
    [a, b] = await connectPair(browser);
    supported = await serverHasRematch(a.page);
    if (!supported) {
      t.skip('the server under test does not speak "Going back" yet');
      return;
    }
    const roles = [await hook(a.page, 's.state.pair.role'), await hook(b.page, 's.state.pair.role')];
    await a.page.getByRole('button', { name: 'Next' }).click();
    await waitPhase(b.page, 'ended', 10000);
    const goA = a.page.getByRole('button', { name: 'Go back' });
    await goA.waitFor({ timeout: 5000 });
    await b.page.getByRole('button', { name: 'Go back' }).waitFor({ timeout: 5000 });
    await goA.click();
    await waitText(a.page, '#goback-text', /You asked to go back/);
    // B is asked, politely, in a live region.
    await waitText(b.page, '#goback-text', /The last stranger would like to go back\. Go back\?/);
    assert.equal(await b.page.locator('#goback-text').getAttribute('role'), 'status');
    await axeClean(b.page, 'go-back prompt');
    await snap(b.page, 'goback-prompt');
    // B answers with the key.
    await b.page.locator('body').press('b');
    await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);
    const [sa, sb] = await Promise.all([waitFramesDecoded(a.page), waitFramesDecoded(b.page)]);
    assert.ok(sa.framesDecoded > 0 && sb.framesDecoded > 0);
    assert.equal(await hook(a.page, 's.state.pair.rematch'), true);
    assert.equal(await hook(b.page, 's.state.pair.rematch'), true);
    assert.deepEqual([await hook(a.page, 's.state.pair.role'), await hook(b.page, 's.state.pair.role')], roles, 'the same roles');
    assert.equal(await a.page.locator('#rematch-badge').isVisible(), true);
    assert.match(await text(a.page, '#chat-log'), /back with the same stranger/);
    assert.equal(await a.page.getByRole('button', { name: 'Go back' }).count(), 0, 'the window is closed');
    await chatOpen(a.page);
    await a.page.getByRole('button', { name: 'Deal a question' }).click();
    await waitText(b.page, '#card-by', /The stranger dealt/);
    await axeClean(a.page, 'restored call');
    await snap(a.page, 'goback-restored');
  });

  it('after a report, going back is never offered, to either side', { timeout: 60000 }, async (t) => {
    if (!supported) {
      t.skip('the server under test does not speak "Going back" yet');
      return;
    }
    await Promise.all([waitPhase(a.page, 'connected', 20000), waitPhase(b.page, 'connected', 20000)]);
    await a.page.getByRole('button', { name: 'Report' }).click();
    const dialog = a.page.getByRole('dialog', { name: 'Report this stranger' });
    await dialog.getByRole('radio', { name: 'Spam or scam' }).check();
    await dialog.getByRole('button', { name: 'Report and move on' }).click();
    await waitPhase(b.page, 'ended', 10000);
    await sleep(1000);
    assert.equal(await a.page.getByRole('button', { name: 'Go back' }).count(), 0);
    assert.equal(await b.page.getByRole('button', { name: 'Go back' }).count(), 0);
    // The key does nothing either, and the two never meet again.
    await a.page.locator('body').press('b');
    await b.page.locator('body').press('b');
    await sleep(2500);
    assert.notEqual(await hook(a.page, 's.state.pair && s.state.pair.rematch'), true);
    assert.notEqual(await hook(b.page, 's.phase'), 'connected');
    await snap(b.page, 'goback-after-report');
    await assertClean(a);
    await assertClean(b);
  });
});
