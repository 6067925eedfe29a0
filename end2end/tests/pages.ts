import { Page } from '@playwright/test';

// Script errors seen on each page since it was watched. A wasm client that fails to
// start (a bad build, a broken optimizer) shows up here first, so the tests fail at
// once with the browser's own message instead of timing out on a dead page.
const scriptErrors = new WeakMap<Page, string[]>();

/** Starts recording the page's uncaught script errors (once; the suite's fixture does
 * it for every page); returns the live list. */
export function watchScriptErrors(page: Page): string[] {
  const seen = scriptErrors.get(page);
  if (seen) return seen;
  const errors: string[] = [];
  scriptErrors.set(page, errors);
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** Waits until the wasm client has taken over the page, failing on a script error. */
export async function hydrated(page: Page, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const errors = scriptErrors.get(page) ?? [];
    if (errors.length > 0) throw new Error(`the page failed to start: ${errors.join('; ')}`);
    if (await page.evaluate(() => (window as any).__parley_hydrated === true)) return;
    if (Date.now() > deadline) throw new Error(`the page did not hydrate within ${timeoutMs} ms`);
    await page.waitForTimeout(50);
  }
}
