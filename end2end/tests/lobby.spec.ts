import { test, expect } from './fixtures';
import { join, newRoom, trackPeerConnections } from './calls';
import { delayApp } from './faults';
import { hydrated } from './pages';

// On a slow link the page is there seconds before the app that makes it live. A
// press of "Join now" in those seconds sends the page's plain form; the app that
// arrives with the page it loads then joins by itself: one press, whenever it came.
test('"Join now" pressed before the app is live joins, with no second press', async ({ browser, baseURL }) => {
  const room = await newRoom(browser, baseURL!);
  const bob = await join(browser, room, 'Bob');

  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  await context.addInitScript(trackPeerConnections);
  await delayApp(context);
  const page = await context.newPage();
  await page.goto(room, { waitUntil: 'domcontentloaded' });
  await page.getByLabel('Your name').fill('Early');
  await page.getByRole('button', { name: 'Join now' }).click();
  expect(await page.evaluate(() => (window as any).__parley_hydrated === true)).toBe(false);

  // The form's page comes back, the app arrives and joins.
  await page.waitForURL(/name=Early/);
  await hydrated(page);
  await expect(page.getByRole('navigation', { name: 'Call controls' })).toBeVisible();
  await expect(bob.page.locator('.tile.remote .name')).toHaveText('Early');
  await expect(page.locator('.tile.remote .name')).toHaveText('Bob');
  // The address is the meeting's again: a reload shows the lobby, it does not join.
  await expect(page).toHaveURL(room);

  await context.close();
  await bob.context.close();
});
