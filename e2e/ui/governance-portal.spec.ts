// Issue 15 in the Developer Portal: with application approval on, a new application is
// PENDING and offers no keys; rejected in the Admin portal, its owner sees why. With tier
// change approval on, a tier change leaves the old tier in force and shows the pending one
// until approved.
import { ADMIN_USERNAME, adminPassword, baseURL } from './helpers/env';
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { createApi, createApplication, createUser, publish, signUp, subscribe } from './helpers/seed';
import { shot, signIn, watchConsole } from './helpers/ui';

async function setApproval(admin: Gql, type: string, required: boolean) {
  await admin.run(`mutation($t: WorkflowType!, $r: Boolean!) { setWorkflowApproval(type: $t, required: $r) { type } }`, { t: type, r: required });
}

test('a pending application has no keys and its rejection reason reaches the owner; a tier change waits for approval', async ({ page, browser }) => {
  const flow = 'gov-portal-states';
  const problems = watchConsole(page);
  const admin = await Gql.admin();
  const pub = await createUser(admin, ['PUBLISHER'], 'pub');
  const publisher = await Gql.login(pub.username, pub.password);
  const api = await publish(publisher, (await createApi(publisher, { endpoint: 'http://127.0.0.1:9/unused', tiers: ['Bronze', 'Gold'] })).id);
  const dev = await signUp('states');
  const owner = await Gql.login(dev.username, dev.password);
  // Subscribed before approvals are turned on: ACTIVE on Bronze.
  const active = await createApplication(owner);
  expect((await subscribe(owner, api.id, active.id, 'Bronze')).status).toBe('ACTIVE');

  const adminCtx = await browser.newContext({ baseURL: baseURL() });
  try {
    await setApproval(admin, 'APPLICATION_CREATION', true);
    await setApproval(admin, 'SUBSCRIPTION_UPDATE', true);

    // A new application is PENDING: no keys.
    await signIn(page, dev.username, dev.password, '/devportal/applications');
    await page.getByLabel('Application name').fill('Pending app');
    await page.getByRole('button', { name: 'Create application' }).click();
    await expect(page.getByRole('heading', { name: 'Pending app' })).toBeVisible();
    await expect(page.getByText(/Waiting for approval: keys can be generated once/)).toBeVisible();
    await expect(page.getByText('Keys are disabled: only approved applications can get keys.')).toBeVisible();
    await expect(page.getByRole('button', { name: /Generate production keys/ })).toHaveCount(0);
    await shot(page, flow, '01-app-pending');

    // The admin rejects it with a reason.
    const adminPage = await adminCtx.newPage();
    const adminProblems = watchConsole(adminPage);
    await signIn(adminPage, ADMIN_USERNAME, adminPassword(), '/admin/tasks');
    const appRow = adminPage.getByRole('table', { name: 'Tasks' }).getByRole('row', { name: new RegExp(`${dev.username} creates the application "Pending app"`) });
    await appRow.getByRole('textbox').fill('use your team account');
    await appRow.getByRole('button', { name: /^Reject / }).click();
    await expect(appRow).toContainText('REJECTED');

    await page.reload();
    await expect(page.getByText(/The application was rejected: use your team account/)).toBeVisible();
    await shot(page, flow, '02-app-rejected');

    // A tier change on the ACTIVE subscription waits for approval; Bronze stays in force.
    await page.goto(`/devportal/applications/${active.id}`);
    const subRow = page.getByRole('table', { name: 'Subscriptions' }).getByRole('row', { name: new RegExp(api.name) });
    await subRow.getByLabel(`New tier for ${api.name}`).selectOption('Gold');
    await subRow.getByRole('button', { name: `Change tier of ${api.name}` }).click();
    await expect(subRow).toContainText('Change to Gold awaits approval');
    await page.reload();
    await expect(subRow).toContainText('Bronze (→ Gold pending)');
    await expect(subRow).toContainText('ACTIVE');
    await shot(page, flow, '03-tier-pending');

    await adminPage.getByRole('button', { name: 'Refresh' }).click();
    const tierRow = adminPage.getByRole('table', { name: 'Tasks' }).getByRole('row', { name: /from the Bronze tier to Gold/ });
    await tierRow.getByRole('button', { name: /^Approve / }).click();
    await expect(tierRow).toContainText('APPROVED');

    await page.reload();
    await expect(subRow).toContainText('Gold');
    await expect(subRow).not.toContainText('pending');
    await shot(page, flow, '04-tier-approved');
    expect([...problems, ...adminProblems]).toEqual([]);
  } finally {
    await setApproval(admin, 'APPLICATION_CREATION', false);
    await setApproval(admin, 'SUBSCRIPTION_UPDATE', false);
    await adminCtx.close();
    await Promise.all([admin.dispose(), publisher.dispose(), owner.dispose()]);
  }
});
