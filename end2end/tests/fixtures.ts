import { test as base, expect, BrowserContext } from '@playwright/test';

export { expect };
export type { Page } from '@playwright/test';

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
 * Parley's tests: every page of every browser context a test opens (its own `page`, and
 * contexts from `browser.newContext()`) is watched for Content-Security-Policy
 * violations, and a test that caused any fails.
 */
export const test = base.extend<{ policyViolations: string[] }>({
  policyViolations: [
    async ({ browser, context }, use) => {
      const violations: string[] = [];
      await watchPolicy(context, violations);
      const newContext = browser.newContext;
      browser.newContext = async (...args) => {
        const created = await newContext.apply(browser, args);
        await watchPolicy(created, violations);
        return created;
      };
      try {
        await use(violations);
      } finally {
        browser.newContext = newContext;
      }
      expect(violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});
