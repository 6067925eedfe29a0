import { test as base, expect, chromium, Browser, BrowserContext, Page } from '@playwright/test';
import { watchScriptErrors } from './pages';

export { expect };
export type { Page } from '@playwright/test';

/**
 * What one test's pages did wrong, as a person would see it: Content-Security-Policy
 * violations, uncaught script errors (in Chromium and Firefox pages) and panics of the
 * wasm client, from the page's load to the end of the test.
 */
class PageWatch {
  policyViolations: string[] = [];
  /** Uncaught errors and wasm panics nobody expected, each with the page's address. */
  errors: string[] = [];
  /** Errors a test provokes on purpose (expectPageError): each must come, and only it is excused. */
  expected: { page: object; pattern: RegExp; seen: string[] }[] = [];
  private contexts = new WeakSet<BrowserContext>();
  private pages = new WeakSet<object>();

  /** Records an error `page` showed, unless the test said that one would come. */
  error(page: object, where: string, message: string) {
    const excuse = this.expected.find((e) => e.page === page && e.pattern.test(message));
    if (excuse) excuse.seen.push(message);
    else this.errors.push(`${where}: ${message}`);
  }

  /** Watches every page `context` has and will have. */
  async context(context: BrowserContext) {
    if (this.contexts.has(context)) return;
    this.contexts.add(context);
    await watchPolicy(context, this.policyViolations);
    for (const page of context.pages()) this.page(page);
    context.on('page', (page) => this.page(page));
  }

  /** Watches every context `browser` makes from now on (and those it has). */
  async browser(browser: Browser): Promise<() => void> {
    for (const context of browser.contexts()) await this.context(context);
    const newContext = browser.newContext;
    browser.newContext = async (...args) => {
      const created = await newContext.apply(browser, args);
      await this.context(created);
      return created;
    };
    return () => {
      browser.newContext = newContext;
    };
  }

  private page(page: Page) {
    if (this.pages.has(page)) return;
    this.pages.add(page);
    // hydrated() fails at once on these too.
    watchScriptErrors(page);
    page.on('pageerror', (error) => this.error(page, page.url(), `uncaught ${describeError(error)}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && isWasmPanic(message.text())) {
        this.error(page, page.url(), `wasm panic: ${message.text()}`);
      }
    });
  }
}

/** The wasm client reports a Rust panic (console_error_panic_hook) as a console error
 * starting "panicked at src/…:line:column:", then its message. */
export function isWasmPanic(text: string): boolean {
  return /^\s*panicked at /.test(text);
}

function describeError(error: Error): string {
  const where = (error.stack ?? '').split('\n').find((line) => line.trim().startsWith('at '));
  return `${error.name}: ${error.message}${where ? ` (${where.trim()})` : ''}`;
}

/** The watch of the test now running (tests run one at a time in a worker). */
let current: PageWatch | null = null;

/**
 * Reports an uncaught error or wasm panic in a page the fixture cannot watch itself (a
 * Firefox page driven by puppeteer); `page` is that page, for expectPageError.
 */
export function reportPageError(page: object, where: string, message: string) {
  current?.error(page, where, message);
}

/**
 * Declares that `page` will show an uncaught error or wasm panic matching `pattern`,
 * as a test that provokes one on purpose does: that error (on that page only) does not
 * fail the test, and the test fails if it never comes.
 */
export function expectPageError(page: object, pattern: RegExp) {
  if (!current) throw new Error('expectPageError is for use inside a test');
  current.expected.push({ page, pattern, seen: [] });
}

/** Reports every Content-Security-Policy violation in `context` into `violations`. */
async function watchPolicy(context: BrowserContext, violations: string[]) {
  await context.exposeBinding('__parleyPolicyViolation', ({ page }, report: string) => {
    violations.push(`${page.url()}: ${report}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber} (${event.sample})`;
      (window as unknown as { __parleyPolicyViolation(report: string): void }).__parleyPolicyViolation(report);
    });
  });
}

/**
 * Parley's tests: every page of every browser context a test opens (its own `page`,
 * contexts from `browser.newContext()`, and those of Chromiums it launches itself) is
 * watched from its load to the end of the test, and a test fails when any page broke
 * its Content-Security-Policy, threw an uncaught error or had its wasm client panic.
 * Firefox pages report theirs through reportPageError (firefox.ts).
 */
export const test = base.extend<{ pageWatch: PageWatch; policyViolations: string[] }>({
  pageWatch: [
    async ({ browser, context }, use) => {
      const watch = new PageWatch();
      current = watch;
      const restore: (() => void)[] = [];
      // Chromiums the test launches itself (the network lab's) are watched as well.
      const launch = chromium.launch;
      chromium.launch = async (...args) => {
        const launched = await launch.apply(chromium, args);
        await watch.browser(launched);
        return launched;
      };
      restore.push(() => (chromium.launch = launch));
      try {
        await watch.context(context);
        restore.push(await watch.browser(browser));
        await use(watch);
      } finally {
        for (const undo of restore.reverse()) undo();
        current = null;
      }
      expect(watch.policyViolations, 'Content-Security-Policy violations').toEqual([]);
      expect(watch.errors, 'uncaught errors and wasm panics in the pages').toEqual([]);
      for (const { pattern, seen } of watch.expected) {
        expect(seen.length, `the page error the test expected (${pattern})`).toBeGreaterThan(0);
      }
    },
    { auto: true },
  ],
  policyViolations: async ({ pageWatch }, use) => {
    await use(pageWatch.policyViolations);
  },
});
