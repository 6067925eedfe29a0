import { test, expect, Page } from './fixtures';
import AxeBuilder from '@axe-core/playwright';
import { expectPlayingVideos, join, newRoom, openLobby } from './calls';
import { expectPlayingSelfView } from './devices';
import { hydrated } from './pages';

// axe-core on every screen a person meets: the home page, the lobby, a call, and the
// call's settings, people and chat panels, someone pinned, and a presentation. Any WCAG 2.1 A or AA violation fails, with what and where.

async function expectNoViolations(page: Page, screen: string) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const found = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  expect(found, `accessibility violations on ${screen}`).toEqual([]);
}

test('the home page, the lobby, a call, its settings, the people panel, the chat and a presentation have no WCAG A/AA violations', async ({
  browser,
  baseURL,
  page,
}) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await hydrated(page);
  await expectNoViolations(page, 'the home page');

  const room = await newRoom(browser, baseURL!);
  const lobby = await openLobby(browser, room, 'Ada');
  await expectPlayingSelfView(lobby.page);
  await lobby.page.getByLabel('Your name').fill('Ada');
  await expectNoViolations(lobby.page, 'the lobby');
  await lobby.context.close();

  const ada = await join(browser, room, 'Ada');
  const bob = await join(browser, room, 'Bob');
  await expectPlayingVideos(ada.page, 1);
  await ada.page.getByRole('button', { name: 'Turn off microphone' }).click();
  await expectNoViolations(ada.page, 'a call');
  // Bob pinned large on the stage (the button shows when focused).
  await ada.page.getByRole('button', { name: 'Pin Bob' }).focus();
  await ada.page.keyboard.press('Enter');
  await expect(ada.page.locator('.stage')).toHaveClass(/pinning/);
  await expectNoViolations(ada.page, 'a call with someone pinned');
  await ada.page.getByRole('button', { name: 'Pin Bob' }).click();
  await ada.page.getByRole('button', { name: 'Settings' }).click();
  await expect(ada.page.getByRole('dialog', { name: 'Settings' })).toBeVisible();
  await expectNoViolations(ada.page, "the call's settings");
  await ada.page.keyboard.press('Escape');
  await bob.page.getByRole('button', { name: 'Raise hand' }).click();
  await ada.page.getByRole('button', { name: 'People (2)' }).click();
  await expect(ada.page.getByRole('list', { name: 'Raised hands' })).toContainText('Bob');
  await expectNoViolations(ada.page, 'the people panel');
  await bob.page.getByRole('button', { name: 'Chat' }).click();
  await bob.page.getByRole('textbox', { name: 'Message to everyone' }).fill('See https://example.com/notes');
  await bob.page.keyboard.press('Enter');
  await ada.page.getByRole('button', { name: 'Chat (1 unread message)' }).click();
  await expect(ada.page.getByRole('log', { name: 'Messages' })).toContainText('See https://example.com/notes');
  await expectNoViolations(ada.page, 'the chat panel');
  await bob.page.getByRole('button', { name: 'Present now' }).click();
  await expect(ada.page.getByRole('figure', { name: 'Presentation by Bob' })).toBeVisible();
  await expectNoViolations(ada.page, 'a call with a presentation');
  await expectNoViolations(bob.page, "the presenter's call");
  await ada.context.close();
  await bob.context.close();
});
