// An unavailable Turnpike keeps a signed-in publisher signed in: the portal shows the banner
// and retries. The browser's /graphql requests are answered here as the server answers
// during a database outage (503, UNAVAILABLE, Retry-After; e2e/faults checks that the real
// server does so); the session cookie and the rest are the real server's.
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { createUser } from './helpers/seed';
import { shot, signIn, watchConsole } from './helpers/ui';

test('an unavailable Turnpike shows a banner, retries, and keeps the publisher signed in', async ({ page }) => {
  const flow = 'unavailable';
  const problems = watchConsole(page);
  const admin = await Gql.admin();
  const pub = await createUser(admin, ['PUBLISHER'], 'pub');
  await signIn(page, pub.username, pub.password, '/publisher');
  await expect(page).toHaveURL(/\/publisher/);

  let refused = 0;
  await page.route('**/graphql', async (route) => {
    refused++;
    await route.fulfill({
      status: 503,
      headers: { 'Content-Type': 'application/json', 'Retry-After': '1' },
      body: JSON.stringify({
        errors: [{ message: 'Turnpike is unavailable right now (a database does not answer); try again in a few seconds', extensions: { code: 'UNAVAILABLE' } }],
        data: null,
      }),
    });
  });
  await page.reload();
  const banner = page.getByRole('status').filter({ hasText: 'Turnpike is unavailable, retrying' });
  await expect(banner).toBeVisible();
  await expect.poll(() => refused, { message: 'the portal retries' }).toBeGreaterThanOrEqual(3);
  await expect(page).toHaveURL(/\/publisher/);
  await expect(page.getByLabel('Username')).toHaveCount(0);
  await shot(page, flow, '01-banner');

  await page.unroute('**/graphql');
  await expect(page.getByLabel(`Signed in as ${pub.username}`)).toBeVisible({ timeout: 20_000 });
  await expect(banner).toHaveCount(0);
  await expect(page).toHaveURL(/\/publisher/);
  await shot(page, flow, '02-back');

  await admin.dispose();
  expect(problems).toEqual([]);
});
