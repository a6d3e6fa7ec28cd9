// Face detection against real images: Chromium's fake camera fed with a
// photo of a person (astronaut.png from Debian's python3-imageio) is seen as
// a face; SafeView unblurs it on the other side. The default fake camera (a
// moving pattern, no face) stays blurred. With --require-face, Start waits.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertClean, clickStart, closeAll, hook, launch, openUser, snap, startServer, statusOf, waitPhase } from './lib.mjs';

const faceVideo = process.env.SERENDIP_FACE_VIDEO;

describe('face detection and SafeView', () => {
  let faceBrowser;
  let plainBrowser;
  before(async () => {
    assert.ok(faceVideo, 'SERENDIP_FACE_VIDEO must point at the face y4m (run.sh makes it)');
    faceBrowser = await launch({ video: faceVideo });
    plainBrowser = await launch();
  });
  after(async () => {
    await faceBrowser?.close();
    await plainBrowser?.close();
  });

  it('detects a real face in a worker, and SafeView unblurs only a face', { timeout: 90000 }, async () => {
    const f = await openUser(faceBrowser, { name: 'face' });
    const p = await openUser(plainBrowser, { name: 'plain' });
    try {
      await clickStart(f.page);
      await waitPhase(f.page, 'searching');
      // Own camera: the face indicator turns on.
      await f.page.getByText('Face detected', { exact: true }).waitFor({ timeout: 20000 });
      assert.equal(await hook(f.page, 's.facePresent'), true);
      const stats = await hook(f.page, 's.face');
      assert.equal(stats.where, 'worker', `detector runs off the main thread (${JSON.stringify(stats)})`);
      assert.equal(stats.backend, 'wasm');

      await clickStart(p.page);
      await Promise.all([waitPhase(f.page, 'connected', 20000), waitPhase(p.page, 'connected', 20000)]);

      // The plain side sees the face: unblurred.
      await p.page.waitForFunction(() => window.__serendip.remoteBlurred === false, null, { timeout: 20000, polling: 100 });
      await snap(p.page, 'safeview-face');
      // The face side sees a pattern: stays blurred, with the SafeView note.
      await sleep(4000);
      assert.equal(await hook(f.page, 's.remoteBlurred'), true, 'no face: still blurred');
      assert.ok((await hook(f.page, 's.face.detections.remote')) >= 5, 'the stranger video was checked several times');
      await f.page.getByText('SafeView is on', { exact: true }).waitFor();
      // The detector does not leak tensors frame after frame.
      const t1 = await hook(f.page, 's.face');
      await sleep(2000);
      const t2 = await hook(f.page, 's.face');
      assert.ok(t2.detections.local + t2.detections.remote > t1.detections.local + t1.detections.remote, 'still detecting');
      assert.ok(t1.tensors > 0 && t2.tensors === t1.tensors, `tensor count stable (${t1.tensors} -> ${t2.tensors})`);
      await snap(f.page, 'safeview-blurred');
      // The plain side's own indicator says no face.
      assert.equal(await hook(p.page, 's.facePresent'), false);
      await p.page.getByText('No face detected', { exact: true }).waitFor();

      // SafeView off (settings): unblurred at once.
      await f.page.getByRole('button', { name: 'Settings' }).click();
      await f.page.getByRole('switch', { name: 'SafeView' }).uncheck();
      await f.page.keyboard.press('Escape');
      await f.page.waitForFunction(() => window.__serendip.remoteBlurred === false, null, { timeout: 5000 });
      await assertClean(f);
      await assertClean(p);
    } finally {
      await closeAll(f, p);
    }
  });

  it('with --require-face, Start waits for a face; faces get matched', { timeout: 90000 }, async () => {
    const srv = await startServer(['--require-face']);
    const prev = process.env.SERENDIP_URL;
    process.env.SERENDIP_URL = srv.url;
    let f1;
    let f2;
    let p;
    try {
      p = await openUser(plainBrowser, { name: 'plain' });
      await clickStart(p.page);
      await waitPhase(p.page, 'waiting-face', 15000);
      assert.equal(await statusOf(p.page), 'Show your face to start');

      f1 = await openUser(faceBrowser, { name: 'face1' });
      f2 = await openUser(faceBrowser, { name: 'face2' });
      await clickStart(f1.page);
      await clickStart(f2.page);
      await Promise.all([waitPhase(f1.page, 'connected', 30000), waitPhase(f2.page, 'connected', 30000)]);
      // The faceless user was never matched.
      assert.equal(await hook(p.page, 's.phase'), 'waiting-face');
    } finally {
      process.env.SERENDIP_URL = prev;
      await closeAll(f1, f2, p);
      await srv.stop();
    }
  });
});
