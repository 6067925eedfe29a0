import { test, expect, Page } from './fixtures';
import { join, newRoom } from './calls';
import { Parley } from './network';

// The meeting chat: a message reaches everyone in the meeting and nobody in another
// one; it is plain text (markup stays text, only web addresses become links, opened
// safely); the chat button counts what came while the panel was closed; a latecomer
// sees the history, also after the server restarts, with nothing shown twice.

const panel = (page: Page) => page.getByRole('complementary', { name: 'Chat' });
const messages = (page: Page) => panel(page).getByRole('log', { name: 'Messages' }).getByRole('listitem');

async function say(page: Page, text: string) {
  const box = panel(page).getByRole('textbox', { name: 'Message to everyone' });
  await box.fill(text);
  await box.press('Enter');
  await expect(box).toHaveValue('');
}

async function openChat(page: Page) {
  await page.getByRole('button', { name: /^Chat/ }).click();
  await expect(panel(page)).toBeVisible();
}

test('a chat message reaches the meeting and nobody else, as plain text with safe links', async ({
  browser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const room = await newRoom(browser, baseURL!);
  const elsewhere = await newRoom(browser, baseURL!);
  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob');
  const cleo = await join(browser, elsewhere, 'Cleo');
  for (const who of [ada, bob, cleo]) {
    await who.page.evaluate(() => {
      (window as any).__alerts = 0;
      window.alert = () => ((window as any).__alerts += 1);
    });
  }

  await openChat(ada.page);
  await expect(panel(ada.page)).toContainText('No messages yet');
  await say(ada.page, 'Notes at https://example.com/notes?id=1.');
  const hostile = '<img src=x onerror="alert(1)"> and javascript:alert(2) and <a href="javascript:alert(3)">x</a>';
  await say(ada.page, hostile);
  await expect(messages(ada.page)).toHaveCount(2);
  await expect(messages(ada.page).first()).toContainText('You');

  // Bob's panel is closed: the button counts the two messages.
  await expect(bob.page.getByRole('button', { name: 'Chat (2 unread messages)' })).toBeVisible();
  await expect(bob.page.locator('.round .count.unread')).toHaveText('2');
  await openChat(bob.page);
  await expect(bob.page.getByRole('button', { name: 'Chat', exact: true })).toBeVisible();
  await expect(messages(bob.page)).toHaveCount(2);
  await expect(messages(bob.page).first()).toContainText('Ada');
  await expect(messages(bob.page).first()).toContainText(/\d\d:\d\d/);

  // The address is a link that opens in a new tab without a handle on this page.
  const link = messages(bob.page).first().getByRole('link');
  await expect(link).toHaveText('https://example.com/notes?id=1');
  await expect(link).toHaveAttribute('href', 'https://example.com/notes?id=1');
  await expect(link).toHaveAttribute('target', '_blank');
  await expect(link).toHaveAttribute('rel', 'noopener noreferrer');
  // Markup arrives as the text it is: no image, no link, nothing run.
  await expect(messages(bob.page).nth(1)).toHaveText(new RegExp(escapeRegExp(hostile)));
  await expect(panel(bob.page).locator('img')).toHaveCount(0);
  await expect(messages(bob.page).nth(1).getByRole('link')).toHaveCount(0);
  await expect(panel(bob.page).locator('a[href^="javascript"]')).toHaveCount(0);

  // Bob answers while his panel is open: nothing unread for him; Ada's is open too.
  await say(bob.page, 'Thanks!\nSecond line');
  await expect(messages(ada.page)).toHaveCount(3);
  await expect(messages(ada.page).nth(2)).toContainText('Second line');
  await expect(ada.page.getByRole('button', { name: 'Chat', exact: true })).toBeVisible();

  // Ada closes the chat; a message from Bob is counted, and opening clears it.
  await panel(ada.page).getByRole('button', { name: 'Close' }).click();
  await say(bob.page, 'One more');
  await expect(ada.page.getByRole('button', { name: 'Chat (1 unread message)' })).toBeVisible();
  await openChat(ada.page);
  await expect(messages(ada.page)).toHaveCount(4);
  await expect(ada.page.getByRole('button', { name: 'Chat', exact: true })).toBeVisible();

  // Cleo, in another meeting, got nothing.
  await expect(cleo.page.getByRole('button', { name: 'Chat', exact: true })).toBeVisible();
  await openChat(cleo.page);
  await expect(panel(cleo.page)).toContainText('No messages yet');
  for (const who of [ada, bob, cleo]) {
    expect(await who.page.evaluate(() => (window as any).__alerts)).toBe(0);
    await who.context.close();
  }
});

test('a latecomer sees the chat history, also after the server restarts, each message once', async ({ browser }) => {
  test.setTimeout(120_000);
  const parley = new Parley(3960);
  await parley.start();
  try {
    const room = await newRoom(browser, parley.url);
    const ada = await join(browser, room, 'Ada');
    await openChat(ada.page);
    await say(ada.page, 'First');
    await say(ada.page, 'Second');
    await expect(messages(ada.page)).toHaveCount(2);

    const bob = await join(browser, room, 'Bob');
    // History is not news: nothing counted as unread.
    await expect(bob.page.getByRole('button', { name: 'Chat', exact: true })).toBeVisible();
    await openChat(bob.page);
    await expect(messages(bob.page)).toHaveText([/Ada.*First/, /Ada.*Second/]);

    await parley.stop('SIGTERM');
    await parley.start();
    // Ada comes back by herself and is sent the history again: still two messages.
    await expect(ada.page.getByRole('alert')).toBeHidden({ timeout: 15_000 });
    await say(ada.page, 'Third, after the restart');
    await expect(messages(bob.page)).toHaveCount(3);
    await expect(messages(ada.page)).toHaveCount(3);

    const cleo = await join(browser, room, 'Cleo');
    await openChat(cleo.page);
    await expect(messages(cleo.page)).toHaveText([/First/, /Second/, /Third, after the restart/]);
    for (const who of [ada, bob, cleo]) await who.context.close();
  } finally {
    await parley.stop('SIGTERM');
    parley.removeDatabase();
  }
});

function escapeRegExp(text: string) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
