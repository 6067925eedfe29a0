import { test, expect } from './fixtures';
import type { Browser, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { join, newRoom, tileFrames } from './calls';
import { framesReceived } from './devices';
import { Parley } from './network';

// The grid past one page of people, as Meet's tiled view: 49 tiles a page (your own
// among them), the others a page away and not sent while there, and whoever starts
// speaking brought onto the page shown. A meeting of 50 through the server: Ada and Bob
// in Chromium, 48 guests as bare signaling connections (no media: they are tiles with
// their initial, which is all this needs, and cost almost nothing).

/** Joins `count` guests to `room`, each a WebSocket of one page, answering the server's
 * pings as a client does; they stay until the page closes. */
async function joinGuests(browser: Browser, base: string, room: string, count: number): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  // From Parley's own origin: the WebSocket's Origin must be the server's.
  await page.goto(`${base}/healthz`);
  const code = room.split('/').pop();
  const joined = await page.evaluate(
    ({ code, count }) =>
      Promise.all(
        Array.from(
          { length: count },
          (_, i) =>
            new Promise<string>((resolve, reject) => {
              const socket = new WebSocket(`${location.origin.replace('http', 'ws')}/ws`);
              let seen = 0;
              socket.onopen = () => {
                socket.send(
                  JSON.stringify({
                    type: 'join',
                    version: 5,
                    room: code,
                    name: `Guest ${String(i + 1).padStart(2, '0')}`,
                    media: { audio: false, video: false },
                  }),
                );
                const ping = setInterval(() => {
                  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'ping', seen }));
                  else clearInterval(ping);
                }, 5_000);
              };
              socket.onmessage = (event) => {
                const message = JSON.parse(event.data);
                if (typeof message.seq === 'number') seen = message.seq;
                if (message.type === 'welcome') resolve('welcome');
                if (message.type === 'error') reject(new Error(JSON.stringify(message)));
              };
              socket.onclose = (event) => reject(new Error(`closed ${event.code} ${event.reason}`));
              (window as any).__guests = [...((window as any).__guests ?? []), socket];
            }),
        ),
      ),
    { code, count },
  );
  expect(joined).toHaveLength(count);
  return page;
}

/** Whether Bob's tile on `page` shows new frames (over half a second). */
async function bobPlays(page: Page): Promise<boolean> {
  const bob = page.locator('.tile.remote', { hasText: 'Bob' }).locator('video');
  const before = await bob.evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames);
  await page.waitForTimeout(500);
  const after = await bob.evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames);
  return after > before;
}

test('past 49 tiles the others are a page away, get no video there, and whoever speaks comes onto the page shown', async ({
  browser,
}) => {
  test.setTimeout(150_000);
  // 50 people: more than a meeting holds by default, and than one address may open.
  const parley = new Parley(3990, [
    '--sfu-listen', '127.0.0.1:3991',
    '--mesh-limit', '0',
    '--max-participants', '60',
    '--max-connections-per-ip', '80',
  ]);
  await parley.start();
  try {
    const room = await newRoom(browser, parley.url);
    const muted = {
      inLobby: async (page: Page) => {
        await page.getByRole('button', { name: 'Turn off microphone' }).click();
      },
    };
    const ada = await join(browser, room, 'Ada', muted);
    const guests = await joinGuests(browser, parley.url, room, 48);
    // Bob comes 49th of Ada's others: her second page.
    const bob = await join(browser, room, 'Bob', muted);

    const visible = ada.page.locator('.tile.remote:visible');
    const bobsTile = ada.page.locator('.tile.remote', { hasText: 'Bob' });
    await expect(ada.page.locator('.tile.remote')).toHaveCount(49);
    await expect(ada.page.getByRole('navigation', { name: 'Pages of people' })).toContainText('Page 1 of 2');
    await expect(visible).toHaveCount(48);
    await expect(bobsTile).toBeHidden();
    await expect(ada.page.getByRole('button', { name: 'Previous page' })).toBeDisabled();

    // Bob's camera plays on his own page (he sees Ada) but none of it reaches Ada
    // while his tile is a page away: her connection decodes no video at all.
    await expect.poll(() => bob.page.evaluate(tileFrames).then((f) => f[0] ?? 0), { timeout: 20_000 }).toBeGreaterThan(0);
    await ada.page.waitForTimeout(1_000);
    const framesBefore = await framesReceived(ada.page);
    await ada.page.waitForTimeout(2_000);
    expect(await framesReceived(ada.page), 'no video for a tile on another page').toBe(framesBefore);

    const results = await new AxeBuilder({ page: ada.page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
      .analyze();
    expect(results.violations.map((v) => `${v.id}: ${v.help}`), 'a call of two pages').toEqual([]);

    // Ada turns the page from the keyboard: Bob alone, playing.
    await ada.page.getByRole('button', { name: 'Next page' }).focus();
    await ada.page.keyboard.press('Enter');
    await expect(ada.page.getByRole('navigation', { name: 'Pages of people' })).toContainText('Page 2 of 2');
    await expect(visible).toHaveCount(1);
    await expect(bobsTile).toBeVisible();
    await expect.poll(() => bobPlays(ada.page), { timeout: 10_000 }).toBe(true);
    await ada.page.getByRole('button', { name: 'Previous page' }).click();
    await expect(bobsTile).toBeHidden();

    // Bob speaks (his fake microphone beeps): he comes onto Ada's first page in the
    // place of the last placed of those on it (none of whom spoke), and plays there.
    const lastOnPage = await ada.page.evaluate(() => {
      const cells = [...document.querySelectorAll<HTMLElement>('.cell:not(.off-page)')].filter((cell) =>
        cell.querySelector('.tile.remote'),
      );
      cells.sort((a, b) => Number(a.style.order) - Number(b.style.order));
      return cells[cells.length - 1].querySelector('.tile.remote')!.getAttribute('data-peer')!;
    });
    await bob.page.getByRole('button', { name: 'Turn on microphone' }).click();
    await expect(bobsTile).toBeVisible({ timeout: 15_000 });
    await expect(ada.page.getByRole('navigation', { name: 'Pages of people' })).toContainText('Page 1 of 2');
    await expect(visible).toHaveCount(48);
    await expect(ada.page.locator(`.tile.remote[data-peer="${lastOnPage}"]`)).toBeHidden();
    await expect.poll(() => bobPlays(ada.page), { timeout: 10_000 }).toBe(true);

    // The guests leave: one page again, no pager.
    await guests.evaluate(() =>
      (window as any).__guests.forEach((socket: WebSocket) => socket.send(JSON.stringify({ type: 'leave' }))),
    );
    await expect(ada.page.locator('.tile.remote')).toHaveCount(1, { timeout: 30_000 });
    await expect(ada.page.getByRole('navigation', { name: 'Pages of people' })).toHaveCount(0);
    await expect(bobsTile).toBeVisible();
    for (const context of [ada.context, bob.context, guests.context()]) await context.close();
  } finally {
    await parley.stop('SIGTERM');
    parley.removeDatabase();
  }
});
