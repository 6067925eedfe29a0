import { test, expect, expectPageError } from './fixtures';
import { hydrated } from './pages';

const CODE = /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/;

test('start a meeting from the home page and land in its room', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Video meetings, on your own server' })).toBeVisible();

  await page.getByLabel('Meeting name').fill('Playwright standup');
  await page.getByRole('button', { name: 'New meeting' }).click();

  await expect(page).toHaveURL(/\/r\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  const code = new URL(page.url()).pathname.split('/').pop()!;
  expect(code).toMatch(CODE);
  await expect(page.getByRole('heading', { name: 'Playwright standup' })).toBeVisible();
  await expect(page.locator('.room-code')).toHaveText(code);
  await expect(page).toHaveTitle('Playwright standup · Parley');
});

test('the room page hydrates: copying the invite link works', async ({ page, baseURL }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\//);
  // A full load of the room page, so it is the server's HTML that has to hydrate.
  await page.reload();
  await hydrated(page);

  const link = page.locator('.invite-link');
  await expect(link).toHaveText(page.url());
  await page.getByRole('button', { name: 'Copy link' }).click();
  await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
  const clipboard = await page.evaluate(() => navigator.clipboard.readText());
  expect(clipboard).toBe(page.url());
  expect(clipboard.startsWith(baseURL!)).toBe(true);
});

test('join by pasted link or typed code, and refuse nonsense', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\//);
  const roomUrl = page.url();
  const code = new URL(roomUrl).pathname.split('/').pop()!;

  await page.goto('/');
  await hydrated(page);
  const join = page.getByRole('button', { name: 'Join' });
  await expect(join).toBeDisabled();

  const field = page.getByLabel('Meeting code or link');
  await field.fill('not a code');
  await expect(join).toBeEnabled();
  await join.click();
  await expect(page.getByRole('alert').filter({ hasText: "isn't a meeting code" })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);

  await field.fill(`  ${roomUrl}  `);
  await join.click();
  await expect(page).toHaveURL(roomUrl);
  await expect(page.locator('.room-code')).toHaveText(code);

  await page.goto('/');
  await hydrated(page);
  await page.getByLabel('Meeting code or link').fill(code.toUpperCase().replace(/-/g, ' '));
  await page.getByRole('button', { name: 'Join' }).click();
  await expect(page).toHaveURL(roomUrl);
});

test('going back to a meeting after leaving its page for the home page shows the meeting again', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Meeting name').fill('Back again');
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\//);
  const roomUrl = page.url();
  await hydrated(page);

  // "Parley" in the header is a link to the home page.
  await page.getByRole('link', { name: 'Parley' }).click();
  await expect(page.getByRole('heading', { name: 'Video meetings, on your own server' })).toBeVisible();
  // Back: the meeting's details come with its page, which the server renders again.
  await page.goBack();
  await expect(page).toHaveURL(roomUrl);
  await expect(page.getByRole('heading', { name: 'Back again' })).toBeVisible();
  await hydrated(page);
  await expect(page.getByRole('button', { name: 'Join now' })).toBeVisible();
});

test('a meeting page shown again from the back-forward cache loads afresh', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Meeting name').fill('Cached');
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\//);
  await hydrated(page);
  // Its call was hung up when the page was left: a page restored as it was would show a
  // dead meeting. (The test browser keeps no back-forward cache, so the event is sent here.)
  await page.evaluate(() => ((window as any).__before_restore = true));
  const reloaded = page.waitForEvent('load', { timeout: 10_000 });
  await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })));
  await reloaded;
  await hydrated(page);
  expect(await page.evaluate(() => (window as any).__before_restore)).toBeUndefined();
  await expect(page.getByRole('heading', { name: 'Cached' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Join now' })).toBeVisible();
});

test('an unknown meeting shows a not-found page', async ({ page }) => {
  const response = await page.goto('/r/zzz-zzzz-zzz');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: "This meeting doesn't exist" })).toBeVisible();

  const malformed = await page.goto('/r/definitely-not-valid');
  expect(malformed?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: "This meeting doesn't exist" })).toBeVisible();
});

test('the home and room pages load everything they ask for, icon included', async ({ page }) => {
  const failures: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    // A request cut short because the page navigated on (the icon, fetched late by
    // Chromium, when "New meeting" is pressed) did not fail to load.
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') failures.push(`${r.failure()?.errorText} ${r.url()}`);
  });

  await page.goto('/');
  await hydrated(page);
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\//);
  await page.reload();
  await hydrated(page);

  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  expect(icon).toBeTruthy();
  const response = await page.request.get(icon!);
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toContain('image/svg+xml');
  expect(failures).toEqual([]);
});

test('the pages run under their Content-Security-Policy, which blocks an injected script', async ({
  page,
  policyViolations,
}) => {
  await page.goto('/');
  await hydrated(page);
  const policy = (await page.request.get('/')).headers()['content-security-policy'];
  expect(policy).toContain("frame-ancestors 'none'");

  // A script injected into the page (as a markup injection would) does not run, and
  // the violation is reported: the suite's watcher sees it.
  await page.evaluate(() => {
    const injected = document.createElement('script');
    injected.textContent = 'window.injectedRan = true';
    document.body.append(injected);
  });
  await expect.poll(() => policyViolations.length).toBe(1);
  expect(policyViolations[0]).toContain('script-src');
  expect(await page.evaluate(() => 'injectedRan' in window)).toBe(false);
  policyViolations.length = 0;

  // The app itself, hydrated on the home page and in a meeting, broke no rule.
  await page.getByRole('button', { name: 'New meeting' }).click();
  await expect(page).toHaveURL(/\/r\//);
  await hydrated(page);
  await expect(page.getByRole('button', { name: 'Join now' })).toBeVisible();
});

test('pressing "New meeting" again while it starts does not start a second meeting', async ({ page }) => {
  const creations: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/rooms/create') creations.push(r.url());
  });
  const seen: string[] = [];
  page.on('console', (m) => {
    if (m.text().startsWith('while starting:')) seen.push(m.text());
  });
  // A slow link: the new meeting's page takes a while to come.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/api/rooms/create', async (route) => {
    await released;
    await route.continue();
  });

  await page.goto('/');
  await hydrated(page);
  // While the page is on its way the test cannot reach into it, so the page itself
  // presses again (the button, then Enter in the name field, which submits the form
  // the same way) and reports what the button looked like.
  await page.evaluate(() => {
    const form = document.querySelector('form.new-meeting') as HTMLFormElement;
    const button = form.querySelector('button') as HTMLButtonElement;
    form.addEventListener('submit', () =>
      setTimeout(() => {
        console.log(`while starting: disabled=${button.disabled} "${button.textContent}"`);
        button.click();
        form.requestSubmit();
      }, 200),
      { once: true },
    );
  });
  await page.locator('form.new-meeting button').click({ noWaitAfter: true });
  await expect.poll(() => seen).toEqual(['while starting: disabled=true "Starting…"']);
  await page.waitForTimeout(300);
  release();
  await expect(page).toHaveURL(/\/r\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  await hydrated(page);
  expect(creations).toHaveLength(1);
});

test('"New meeting" is ready again when the meeting\'s page does not come', async ({ page }) => {
  // "No content": the browser stays on the home page, as when loading is stopped.
  await page.route('**/api/rooms/create', (route) => route.fulfill({ status: 204 }));
  await page.goto('/');
  await hydrated(page);
  const button = page.locator('form.new-meeting button');
  await button.click();
  await expect(button).toBeDisabled();
  await expect(button).toHaveText('Starting…');
  // Ready again after a while.
  await expect(button).toBeEnabled({ timeout: 15_000 });
  await expect(button).toHaveText('New meeting');

  // And at once when the browser shows the page as it was left (Back from the meeting,
  // from its back-forward cache; the test browser keeps no such cache, so the event
  // is sent here).
  await button.click();
  await expect(button).toBeDisabled();
  await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })));
  await expect(button).toBeEnabled({ timeout: 1_000 });
});

test('an uncaught error in a page is seen by the suite at any time, not only while the page starts', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  // This one error, on this page, is the point of the test: the suite's fixture excuses
  // it, and fails the test if it never sees it. Any other error still fails the test.
  expectPageError(page, /^uncaught Error: thrown on purpose by the test/);
  const thrown = page.waitForEvent('pageerror');
  await page.evaluate(() =>
    setTimeout(() => {
      throw new Error('thrown on purpose by the test');
    }, 0),
  );
  expect((await thrown).message).toBe('thrown on purpose by the test');
});
