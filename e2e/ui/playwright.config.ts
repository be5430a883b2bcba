// End-to-end tests of the portals against a real Turnpike (all-in-one).
// TURNPIKE_E2E_BASE_URL (and TURNPIKE_E2E_ADMIN_PASSWORD) point at a running server;
// without it, global-setup starts bin/turnpike all-in-one on free ports with a fresh
// data directory and stops it afterwards. The browser is the system Chromium: nothing is
// downloaded (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
import { defineConfig } from '@playwright/test';

const chromium = process.env.TURNPIKE_E2E_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  globalSetup: './global-setup.ts',
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  // One browser at a time: the specs share one server, and parallel browsers competing with
  // it for CPU would make the timings they wait on erratic.
  workers: 1,
  fullyParallel: false,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  outputDir: 'artifacts/test-results',
  reporter: [['list'], ['html', { outputFolder: 'artifacts/report', open: 'never' }]],
  use: {
    browserName: 'chromium',
    headless: true,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    video: 'off',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: chromium,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'flows', testIgnore: /perf\..*\.spec\.ts$/ },
    { name: 'perf', testMatch: /perf\..*\.spec\.ts$/, timeout: 600_000 },
  ],
});
