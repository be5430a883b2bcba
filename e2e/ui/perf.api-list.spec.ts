// Time from navigation to the Publisher's API list rendered, with 1,000 APIs seeded.
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { rnd } from './helpers/names';
import { ADMIN_USERNAME, adminPassword } from './helpers/env';
import { shot, signIn } from './helpers/ui';

const TARGET = Number(process.env.TURNPIKE_E2E_PERF_APIS ?? 1000);
const BATCH = 10; // createAPI mutations per request (aliases)
const PARALLEL = 2;

async function seed(admin: Gql, n: number): Promise<void> {
  const run = rnd(4);
  const batches: number[][] = [];
  for (let i = 0; i < n; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => i + j));
  let next = 0;
  async function worker() {
    while (next < batches.length) {
      const batch = batches[next++];
      const fields = batch
        .map(
          (i) =>
            `a${i}: createAPI(input: { name: "Perf ${run} ${i}", context: "/perf${run}x${i}", version: "1.0.0", ` +
            `endpoints: { production: ["http://127.0.0.1:9/perf"] }, tags: ["perf"] }) { id }`,
        )
        .join('\n');
      await admin.run(`mutation {\n${fields}\n}`);
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

test('the API list renders quickly with 1,000 APIs', async ({ page }, testInfo) => {
  const admin = await Gql.admin();
  const before = await admin.run<{ apis: { totalCount: number } }>(`{ apis(first: 1) { totalCount } }`);
  const missing = Math.max(0, TARGET - before.apis.totalCount);
  const seedStart = Date.now();
  await seed(admin, missing);
  const seedMs = Date.now() - seedStart;
  const after = await admin.run<{ apis: { totalCount: number } }>(`{ apis(first: 1) { totalCount } }`);
  expect(after.apis.totalCount).toBeGreaterThanOrEqual(TARGET);

  await signIn(page, ADMIN_USERNAME, adminPassword());
  const rows = page.getByRole('table', { name: 'APIs' }).getByRole('row');

  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = Date.now();
    await page.goto('/publisher');
    await expect(rows).toHaveCount(26); // header + the first page of 25
    await expect(page.getByTestId('api-count')).toContainText(String(after.apis.totalCount));
    samples.push(Date.now() - start);
  }
  // The browser's own clock: from navigation start to now (the list is on screen).
  const sinceNavigation = await page.evaluate(() => Math.round(performance.now()));

  const loadStart = Date.now();
  await page.getByRole('button', { name: 'Load more APIs' }).click();
  await expect(rows).toHaveCount(51);
  const loadMoreMs = Date.now() - loadStart;
  await shot(page, 'perf', 'api-list-1000');

  const median = [...samples].sort((a, b) => a - b)[1];
  const report = { apis: after.apis.totalCount, seeded: missing, seedMs, navigationToListMs: samples, medianMs: median, performanceNowMs: sinceNavigation, loadMoreMs };
  console.log(`[perf] API list with ${report.apis} APIs: ${JSON.stringify(report)}`);
  testInfo.annotations.push({ type: 'perf', description: JSON.stringify(report) });
  await testInfo.attach('perf.json', { body: JSON.stringify(report, null, 2), contentType: 'application/json' });
  // A generous bound that only catches regressions of an order of magnitude.
  expect(median).toBeLessThan(10_000);
  await admin.dispose();
});
