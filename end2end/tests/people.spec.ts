import { test, expect, Page } from './fixtures';
import { expectPlayingVideos, join, newRoom } from './calls';
import { relayURL } from '../playwright.config';

// The people panel and raised hands, as in Meet: everyone with their microphone,
// camera and hand, you first; hands listed in the order they went up; the hand on the
// tile; Ctrl+Alt+H; a late joiner sees hands already up.

const panel = (page: Page) => page.getByRole('complementary', { name: 'People' });
const raisedHands = (page: Page) => panel(page).getByRole('list', { name: 'Raised hands' }).getByRole('listitem');
const inMeeting = (page: Page) => panel(page).getByRole('list', { name: 'In the meeting' }).getByRole('listitem');

test('the people panel lists everyone, and raised hands in the order they went up', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(150_000);
  const room = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob');
  const cleo = await join(browser, room, 'Cleo');
  await expectPlayingVideos(cleo.page, 2);

  // The button counts everyone; the panel lists you first, marked.
  await expect(ada.page.getByRole('button', { name: 'People (3)' })).toBeVisible();
  await ada.page.getByRole('button', { name: 'People (3)' }).click();
  await expect(inMeeting(ada.page)).toHaveCount(3);
  await expect(inMeeting(ada.page).first()).toContainText('Ada (You)');
  await expect(inMeeting(ada.page).nth(1)).toContainText('Bob');
  await expect(panel(ada.page).getByRole('list', { name: 'Raised hands' })).toHaveCount(0);

  // Cleo mutes: the panel says so.
  await cleo.page.getByRole('button', { name: 'Turn off microphone' }).click();
  await expect(inMeeting(ada.page).nth(2).getByRole('img', { name: 'Microphone off' })).toBeVisible();
  await expect(inMeeting(ada.page).nth(1).getByRole('img', { name: 'Microphone on' })).toBeVisible();

  // Bob raises his hand by the button, then Cleo by the shortcut.
  await bob.page.getByRole('button', { name: 'Raise hand' }).click();
  await expect(bob.page.getByRole('button', { name: 'Lower hand' })).toHaveAttribute('aria-pressed', 'true');
  await expect(raisedHands(ada.page)).toHaveText(['Bob']);
  await cleo.page.keyboard.press('Control+Alt+h');
  await expect(raisedHands(ada.page)).toHaveText(['Bob', 'Cleo']);
  await expect(ada.page.locator('.tile.remote', { hasText: 'Bob' }).getByRole('img', { name: 'Hand raised' })).toBeVisible();
  await expect(cleo.page.locator('.tile.self').getByRole('img', { name: 'Hand raised' })).toBeVisible();

  // Ada raises hers last: third in line, and listed as herself.
  await ada.page.getByRole('button', { name: 'Raise hand' }).click();
  await expect(raisedHands(ada.page)).toHaveText(['Bob', 'Cleo', 'Ada (You)']);

  // A late joiner sees the hands already up, in order.
  const dan = await join(browser, room, 'Dan');
  await dan.page.getByRole('button', { name: 'People (4)' }).click();
  await expect(raisedHands(dan.page)).toHaveText(['Bob', 'Cleo', 'Ada']);
  await expect(ada.page.getByRole('button', { name: 'People (4)' })).toBeVisible();

  // Lowering is one click; raising again goes to the back of the line.
  await bob.page.getByRole('button', { name: 'Lower hand' }).click();
  await expect(raisedHands(dan.page)).toHaveText(['Cleo', 'Ada']);
  await expect(ada.page.locator('.tile.remote', { hasText: 'Bob' }).getByRole('img', { name: 'Hand raised' })).toHaveCount(0);
  await cleo.page.keyboard.press('Control+Alt+h');
  await bob.page.getByRole('button', { name: 'Raise hand' }).click();
  await expect(raisedHands(dan.page)).toHaveText(['Ada', 'Bob']);

  // Someone leaving leaves the panel (and the line).
  await bob.context.close();
  await expect(inMeeting(dan.page)).toHaveCount(3);
  await expect(raisedHands(dan.page)).toHaveText(['Ada']);
  await panel(dan.page).getByRole('button', { name: 'Close' }).click();
  await expect(panel(dan.page)).toHaveCount(0);
  for (const who of [ada, cleo, dan]) await who.context.close();
});

test('whoever speaks gets a ring on their tile; someone muted never does', async ({ browser, baseURL }) => {
  const room = await newRoom(browser, baseURL!);
  // Ada's fake microphone beeps; Bob joins muted.
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob', {
    inLobby: async (page) => {
      await page.getByRole('button', { name: 'Turn off microphone' }).click();
    },
  });
  await expectPlayingVideos(bob.page, 1);
  await expectPlayingVideos(ada.page, 1);

  // Watch every tile for 6 s, every 100 ms.
  const watch = (page: Page) =>
    page.evaluate(async () => {
      const seen: Record<string, number> = {};
      let samples = 0;
      const until = performance.now() + 6_000;
      while (performance.now() < until) {
        samples += 1;
        for (const tile of document.querySelectorAll('.tile')) {
          const who = tile.classList.contains('self') ? 'self' : tile.querySelector('.name')!.textContent!;
          seen[who] = (seen[who] ?? 0) + (tile.classList.contains('speaking') ? 1 : 0);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return { seen, samples };
    });
  const [onBob, onAda] = await Promise.all([watch(bob.page), watch(ada.page)]);
  // Bob sees Ada speaking most of the time (the ring holds through the beeps' gaps),
  // Ada sees herself speaking; nobody ever sees muted Bob speaking.
  expect(onBob.seen['Ada'], JSON.stringify(onBob)).toBeGreaterThan(onBob.samples / 2);
  expect(onAda.seen['self'], JSON.stringify(onAda)).toBeGreaterThan(onAda.samples / 2);
  expect(onAda.seen['Bob'], JSON.stringify(onAda)).toBe(0);
  expect(onBob.seen['self'], JSON.stringify(onBob)).toBe(0);
  // Bob, talking (beeping) while muted, is told so; Ada, not muted, is not.
  await expect(bob.page.getByRole('status').filter({ hasText: 'You are muted' })).toBeVisible();
  await expect(ada.page.getByText('You are muted')).toHaveCount(0);

  // Bob unmutes: now his beeps ring too, and the hint goes.
  await bob.page.getByRole('button', { name: 'Turn on microphone' }).click();
  await expect(ada.page.locator('.tile.remote', { hasText: 'Bob' })).toHaveClass(/speaking/);
  await expect(bob.page.getByText('You are muted')).toHaveCount(0);
  await ada.context.close();
  await bob.context.close();
});

test('the people panel says how each connection is made: direct on loopback, relayed through coturn', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  for (const [server, route] of [
    [baseURL!, 'Direct'],
    [relayURL, 'Relayed through the TURN server'],
  ]) {
    const room = await newRoom(browser, server);
    const ada = await join(browser, room, 'Ada');
    const bob = await join(browser, room, 'Bob');
    await expectPlayingVideos(ada.page, 1);
    await ada.page.getByRole('button', { name: 'People (2)' }).click();
    const line = inMeeting(ada.page).filter({ hasText: 'Bob' });
    // The route, then (from the second reading on) the round trip, rates and loss.
    await expect(line).toContainText(`${route} · `);
    await expect(line).toContainText(/\d+ ms round trip · receiving \d+(\.\d)? [kM]bit\/s · sending \d+(\.\d)? [kM]bit\/s · (under )?[\d.]+% lost/);
    // Only the others' connections have details.
    await expect(inMeeting(ada.page).first()).not.toContainText('round trip');
    for (const who of [ada, bob]) await who.context.close();
  }
});
