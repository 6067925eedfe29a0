import { test, expect } from './fixtures';
import { expectPlayingVideos, join, newRoom } from './calls';
import { noMicrophone } from './faults';
import { Parley } from './network';

/** Video bytes this page has sent so far, over all its connections. */
async function videoBytesSent(page: import('@playwright/test').Page): Promise<number> {
  return page.evaluate(async () => {
    let bytes = 0;
    for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') bytes += s.bytesSent ?? 0;
      });
    }
    return bytes;
  });
}

// In a mesh every participant sends their camera to each of the others: the upload
// grows with the meeting unless each connection gets its share of a budget.
test("five people: each one's video upload stays within the budget, and every video plays", async ({ browser }) => {
  test.setTimeout(240_000);
  const budgetKbps = 400;
  const parley = new Parley(3980, ['--video-upload-kbps', String(budgetKbps)]);
  await parley.start();
  try {
    const room = await newRoom(browser, parley.url);
    // Without microphones: five browsers on two cores have enough to do with video.
    const options = { scripts: [{ script: noMicrophone }] };
    const names = ['Ana', 'Ben', 'Cleo', 'Dev', 'Eli'];
    const people = await Promise.all(names.map((name) => join(browser, room, name, options)));
    for (const who of people) await expectPlayingVideos(who.page, 4, 90_000);
    // Let the bandwidth estimates ramp up, as they do over the first seconds.
    await people[0].page.waitForTimeout(10_000);

    const seconds = 10;
    const before = await Promise.all(people.map((who) => videoBytesSent(who.page)));
    const started = Date.now();
    await people[0].page.waitForTimeout(seconds * 1000);
    const after = await Promise.all(people.map((who) => videoBytesSent(who.page)));
    const elapsed = (Date.now() - started) / 1000;
    const rates = after.map((bytes, i) => ((bytes - before[i]) * 8) / elapsed / 1000);
    console.log(`video upload (kbit/s) with a ${budgetKbps} kbit/s budget: ${rates.map((r) => r.toFixed(0)).join(', ')}`);
    for (const [i, rate] of rates.entries()) {
      expect(rate, `${names[i]}'s video upload`).toBeLessThanOrEqual(budgetKbps * 1.1);
      expect(rate, `${names[i]} still sends video`).toBeGreaterThan(0);
    }
    // Every video still plays.
    for (const who of people) await expectPlayingVideos(who.page, 4, 30_000);
    for (const who of people) await who.context.close();
  } finally {
    await parley.stop('SIGTERM');
    parley.removeDatabase();
  }
});
