// Routing, roles and the server's headers, which every flow relies on.
import { expect, test } from './helpers/test';
import { shot, watchConsole } from './helpers/ui';

test('anonymous visitors browse the Developer Portal and are sent to sign-in elsewhere', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/');
  await expect(page).toHaveURL(/\/devportal$/);
  await expect(page.getByRole('heading', { level: 1, name: 'APIs' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await shot(page, 'portals', '01-anonymous-devportal');

  await page.goto('/publisher');
  await expect(page).toHaveURL(/\/devportal\/signin\?next=%2Fpublisher/);
  await page.goto('/admin/users');
  await expect(page).toHaveURL(/\/devportal\/signin\?next=%2Fadmin%2Fusers/);

  // Deep links are served by the index.html fallback.
  await page.goto('/devportal/apis/does-not-exist');
  await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
  expect(problems).toEqual([]);
});

test('the server serves the SPA with a Content-Security-Policy without inline scripts', async ({ request }) => {
  for (const path of ['/publisher', '/devportal/apis/x', '/admin']) {
    const res = await request.get(path);
    expect(res.status(), path).toBe(200);
    expect(res.headers()['content-type']).toContain('text/html');
    const csp = res.headers()['content-security-policy'] ?? '';
    expect(csp, `${path} has a CSP`).toContain('script-src');
    const scriptSrc = /script-src([^;]*)/.exec(csp)?.[1] ?? '';
    expect(scriptSrc).not.toContain("'unsafe-inline'");
    expect(scriptSrc).not.toContain("'unsafe-eval'");
  }
});

test('signing in with a wrong password shows the GraphQL error', async ({ page }) => {
  await page.goto('/devportal/signin');
  await page.getByLabel('Username').fill('nobody-here');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Sign-in failed');
  await expect(alert).not.toContainText('at ');
});
