import { test, expect, Page } from './fixtures';
import AxeBuilder from '@axe-core/playwright';
import { Browser } from '@playwright/test';
import { expectPlayingVideos, join, openLobby, Participant, trackPeerConnections, trackSockets } from './calls';
import { delayApp, keepLocalStreams } from './faults';
import { hydrated } from './pages';

// Hosts and meeting protection as people meet them: the browser that starts a meeting
// hosts it, people ask to join and are let in or not, and a host removes someone,
// turns off their microphone, and ends the meeting for everyone.

/** Starts a meeting from the home page in a browser of its own (which so holds the host
 * cookie) and joins it as `name`. */
async function hostMeeting(
  browser: Browser,
  base: string,
  name: string,
  askToJoin: boolean,
): Promise<Participant & { room: string }> {
  const context = await browser.newContext({ baseURL: base, permissions: ['camera', 'microphone'] });
  await context.addInitScript(trackPeerConnections);
  await context.addInitScript(trackSockets);
  await context.addInitScript(keepLocalStreams);
  const page = await context.newPage();
  await page.goto('/');
  await hydrated(page);
  if (askToJoin) await page.getByLabel('People ask to join').check();
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  const room = page.url();
  await hydrated(page);
  await page.getByLabel('Your name').fill(name);
  // The host is let in at once, asking nobody.
  const joinedAt = Date.now();
  await page.getByRole('button', { name: 'Join now' }).click();
  await expect(page.getByRole('navigation', { name: 'Call controls' })).toBeVisible();
  return { context, page, joinedAt, room };
}

/** Opens the lobby as `name` and presses "Ask to join". */
async function ask(browser: Browser, room: string, name: string) {
  const lobby = await openLobby(browser, room, name, { scripts: [{ script: keepLocalStreams }] });
  await lobby.page.getByLabel('Your name').fill(name);
  await lobby.page.getByRole('button', { name: 'Ask to join' }).click();
  await expect(lobby.page.getByRole('heading', { name: 'Asking to join…' })).toBeVisible();
  return lobby;
}

async function expectNoViolations(page: Page, screen: string) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const found = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  expect(found, `accessibility violations on ${screen}`).toEqual([]);
}

async function openPeople(page: Page) {
  const panel = page.getByRole('complementary', { name: 'People' });
  if (!(await panel.isVisible())) await page.getByRole('button', { name: /^People/ }).click();
  return panel;
}

/** Whether every camera and microphone track the page opened has stopped. */
const allLocalTracksEnded = (page: Page) =>
  page.evaluate(() =>
    ((window as any).__localStreams as MediaStream[])
      .flatMap((s) => s.getTracks())
      .every((t) => t.readyState === 'ended'),
  );

test('asking to join: the host admits one, denies another, a third cancels; with no host in, anyone admits', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(150_000);
  const host = await hostMeeting(browser, baseURL!, 'Hana', true);
  // Still the host after a reload.
  await host.page.reload();
  await hydrated(host.page);
  await host.page.getByLabel('Your name').fill('Hana');
  await host.page.getByRole('button', { name: 'Join now' }).click();
  const people = await openPeople(host.page);
  await expect(people.getByRole('list', { name: 'In the meeting' })).toContainText(/Hana \(You\)\s*Host/);

  // Ann asks; the host hears of her by name, admits her from the keyboard.
  const ann = await ask(browser, host.room, 'Ann');
  await expectNoViolations(ann.page, 'the waiting screen');
  const notice = host.page.locator('.knock-notice').filter({ hasText: 'Ann wants to join this call' });
  await expect(notice).toBeVisible();
  await expect(people.getByRole('list', { name: 'Waiting to join' })).toContainText('Ann');
  await expectNoViolations(host.page, 'the knock notice and the host panel');
  await notice.getByRole('button', { name: 'Admit' }).focus();
  await host.page.keyboard.press('Enter');
  await expect(ann.page.getByRole('navigation', { name: 'Call controls' })).toBeVisible();
  await expectPlayingVideos(host.page, 1);
  await expectPlayingVideos(ann.page, 1);
  await expect(notice).toBeHidden();

  // Dan asks and is denied: he is told, and his camera stops.
  const dan = await ask(browser, host.room, 'Dan');
  await host.page.getByRole('button', { name: 'Deny Dan' }).click();
  await expect(dan.page.getByRole('heading', { name: "You can't join this meeting" })).toBeVisible();
  await expect(dan.page.getByText('Someone in the meeting denied your request to join')).toBeVisible();
  await expect.poll(() => allLocalTracksEnded(dan.page)).toBe(true);

  // Cal asks, pressing "Ask to join" before his app is live (one press), then cancels:
  // the host's notice goes.
  const calContext = await browser.newContext({ permissions: ['camera', 'microphone'] });
  await delayApp(calContext);
  const cal = await calContext.newPage();
  await cal.goto(host.room, { waitUntil: 'domcontentloaded' });
  await cal.getByLabel('Your name').fill('Cal');
  await cal.getByRole('button', { name: 'Ask to join' }).click();
  await expect(cal.getByRole('heading', { name: 'Asking to join…' })).toBeVisible({ timeout: 30_000 });
  const calNotice = host.page.locator('.knock-notice').filter({ hasText: 'Cal wants to join this call' });
  await expect(calNotice).toBeVisible();
  await cal.getByRole('button', { name: 'Cancel' }).click();
  await expect(cal.getByRole('heading', { name: 'Ready to join?' })).toBeVisible();
  await expect(calNotice).toBeHidden();

  // The host leaves: Ann, no host, lets Bea in.
  await host.page.getByRole('button', { name: 'Leave call' }).click();
  await expect(ann.page.locator('.tile.remote')).toHaveCount(0);
  const bea = await ask(browser, host.room, 'Bea');
  const annNotice = ann.page.locator('.knock-notice').filter({ hasText: 'Bea wants to join this call' });
  await annNotice.getByRole('button', { name: 'Admit' }).click();
  await expectPlayingVideos(bea.page, 1);
  await expectPlayingVideos(ann.page, 1);

  for (const context of [host.context, ann.context, dan.context, calContext, bea.context]) await context.close();
});

test('a host turns off a microphone, removes someone, and ends the meeting for everyone', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const host = await hostMeeting(browser, baseURL!, 'Hana', false);
  const bob = await join(browser, host.room, 'Bob', { scripts: [{ script: keepLocalStreams }] });
  const cy = await join(browser, host.room, 'Cy');
  await expectPlayingVideos(bob.page, 2);

  // Bob's microphone, turned off by the host: his audio stops going out.
  const audioBytesSent = () =>
    bob.page.evaluate(async () => {
      let bytes = 0;
      for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
        if (pc.connectionState === 'closed') continue;
        (await pc.getStats()).forEach((s: any) => {
          if (s.type === 'outbound-rtp' && s.kind === 'audio') bytes += s.bytesSent ?? 0;
        });
      }
      return bytes;
    });
  const before = await audioBytesSent();
  await expect.poll(audioBytesSent).toBeGreaterThan(before);
  const people = await openPeople(host.page);
  await people.getByRole('button', { name: "Turn off Bob's microphone" }).click();
  await expect(bob.page.getByText('Hana turned off your microphone')).toBeVisible();
  await expect(bob.page.getByRole('button', { name: 'Turn on microphone' })).toBeVisible();
  // Stats are sampled: give the last packets a moment, then nothing more goes out.
  await bob.page.waitForTimeout(1_500);
  const muted = await audioBytesSent();
  await bob.page.waitForTimeout(2_000);
  expect(await audioBytesSent()).toBe(muted);
  // Only Bob turns it on again.
  await bob.page.getByRole('button', { name: 'Turn on microphone' }).click();
  await expect.poll(audioBytesSent).toBeGreaterThan(muted);

  // Removed: Bob is told at once, his camera stops, the others see his tile go.
  const removedAt = Date.now();
  await people.getByRole('button', { name: 'Remove Bob from the call' }).click();
  await expect(bob.page.getByText('Hana removed you from the meeting')).toBeVisible({ timeout: 2_000 });
  await expect(cy.page.locator('.tile.remote')).toHaveCount(1, { timeout: 2_000 });
  await expect(host.page.locator('.tile.remote')).toHaveCount(1, { timeout: 2_000 });
  expect(Date.now() - removedAt).toBeLessThan(2_500);
  await expect.poll(() => allLocalTracksEnded(bob.page)).toBe(true);
  // Opening the link again, he must ask, though the meeting is open.
  await bob.page.goto(host.room);
  await hydrated(bob.page);
  await bob.page.getByLabel('Your name').fill('Bob');
  await bob.page.getByRole('button', { name: 'Join now' }).click();
  await expect(bob.page.getByRole('heading', { name: 'Asking to join…' })).toBeVisible();
  await expect(host.page.locator('.knock-notice').filter({ hasText: 'Bob wants to join this call' })).toBeVisible();

  // The end, for everyone, Bob waiting included.
  await people.getByRole('button', { name: 'End meeting for everyone' }).click();
  for (const page of [host.page, cy.page]) {
    await expect(page.getByText('Hana ended the meeting for everyone')).toBeVisible({ timeout: 2_000 });
  }
  await expect(bob.page.getByText('Hana ended the meeting for everyone')).toBeVisible({ timeout: 2_000 });

  for (const context of [host.context, bob.context, cy.context]) await context.close();
});
