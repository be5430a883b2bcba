import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Page } from '@playwright/test';

const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));

/** A full-page screenshot in e2e/ui/artifacts/<flow>/<step>.png. */
export async function shot(page: Page, flow: string, step: string): Promise<void> {
  const dir = join(artifacts, flow);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${step}.png`), fullPage: true });
}

export async function signIn(page: Page, username: string, password: string, next?: string): Promise<void> {
  await page.goto(next ? `/devportal/signin?next=${encodeURIComponent(next)}` : '/devportal/signin');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByLabel(`Signed in as ${username}`)).toBeVisible();
}

/** Fails the test on any console error or CSP violation in the page. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}
