// Issue 15: with subscription approval on, a new subscription is ON_HOLD in the Developer
// Portal; an admin approves it on the Admin portal's Tasks page and its owner sees it ACTIVE.
// A second, stale admin page that tries to decide the same task is told it is already decided.
import { ADMIN_USERNAME, adminPassword, baseURL } from './helpers/env';
import { expect, test } from './helpers/test';
import { Gql } from './helpers/graphql';
import { createApi, createApplication, createUser, publish, signUp } from './helpers/seed';
import { shot, signIn, watchConsole } from './helpers/ui';

async function setApproval(admin: Gql, required: boolean) {
  await admin.run(`mutation($r: Boolean!) { setWorkflowApproval(type: SUBSCRIPTION_CREATION, required: $r) { type approvalRequired } }`, {
    r: required,
  });
}

test('approve a subscription in the Admin portal and see it become ACTIVE in the Developer Portal', async ({ page, browser }) => {
  const flow = 'gov-subscription-approval';
  const problems = watchConsole(page);
  const admin = await Gql.admin();
  const pub = await createUser(admin, ['PUBLISHER'], 'pub');
  const publisher = await Gql.login(pub.username, pub.password);
  const api = await publish(publisher, (await createApi(publisher, { endpoint: 'http://127.0.0.1:9/unused' })).id);
  const dev = await signUp('approvee');
  const owner = await Gql.login(dev.username, dev.password);
  const app = await createApplication(owner);

  const adminCtx = await browser.newContext({ baseURL: baseURL() });
  const staleCtx = await browser.newContext({ baseURL: baseURL() });
  try {
    // The admin turns subscription approval on in Workflow settings.
    const adminPage = await adminCtx.newPage();
    const adminProblems = watchConsole(adminPage);
    await signIn(adminPage, ADMIN_USERNAME, adminPassword(), '/admin/workflows');
    const toggle = adminPage.getByRole('switch', { name: 'Subscription creation' });
    await expect(toggle).not.toBeChecked();
    await toggle.check();
    await expect(toggle).toBeChecked();
    await shot(adminPage, flow, '01-approval-on');

    // The developer subscribes on the API page: ON_HOLD, waiting for approval.
    await signIn(page, dev.username, dev.password, `/devportal/apis/${api.id}`);
    await page.getByLabel('Application').selectOption({ label: app.name });
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await expect(page.getByText(`Subscribed ${app.name} (ON_HOLD, waiting for approval).`)).toBeVisible();
    await page.goto(`/devportal/applications/${app.id}`);
    const ownerRow = page.getByRole('table', { name: 'Subscriptions' }).getByRole('row', { name: new RegExp(api.name) });
    await expect(ownerRow).toContainText('ON_HOLD');
    await expect(ownerRow).toContainText('Waiting for approval');
    await shot(page, flow, '02-owner-on-hold');

    // A second admin page loads the Tasks page now and goes stale.
    const stalePage = await staleCtx.newPage();
    await signIn(stalePage, ADMIN_USERNAME, adminPassword(), '/admin/tasks');
    const subject = new RegExp(`subscribes the application "${app.name}"`);
    const staleRow = stalePage.getByRole('table', { name: 'Tasks' }).getByRole('row', { name: subject });
    await expect(staleRow).toContainText('PENDING');

    // The admin approves it with a comment on the Tasks page.
    await adminPage.getByRole('link', { name: 'Tasks' }).click();
    const row = adminPage.getByRole('table', { name: 'Tasks' }).getByRole('row', { name: subject });
    await expect(row).toContainText('PENDING');
    await expect(row).toContainText(dev.username);
    await row.getByRole('textbox').fill('welcome aboard');
    await row.getByRole('button', { name: /^Approve / }).click();
    await expect(row).toContainText('APPROVED');
    await expect(row).toContainText('welcome aboard');
    await expect(row.getByRole('button', { name: /^Approve / })).toHaveCount(0);
    await shot(adminPage, flow, '03-admin-approved');

    // The stale page cannot decide it again: CONFLICT, shown as already decided.
    await staleRow.getByRole('button', { name: /^Reject / }).click();
    await expect(staleRow.getByRole('alert')).toContainText('Already decided');
    await shot(stalePage, flow, '04-stale-conflict');

    // The owner sees the subscription ACTIVE, and the outcome in My requests.
    await page.reload();
    await expect(ownerRow).toContainText('ACTIVE');
    await expect(ownerRow).not.toContainText('Waiting for approval');
    await page.getByRole('link', { name: 'My requests' }).click();
    const request = page.getByRole('table', { name: 'My requests' }).getByRole('row', { name: subject });
    await expect(request).toContainText('APPROVED');
    await expect(request).toContainText('welcome aboard');
    await shot(page, flow, '05-owner-active');

    const seen = await owner.run<{ application: { subscriptions: Array<{ status: string; api: { id: string } }> } }>(
      `query($id: ID!) { application(id: $id) { subscriptions { status api { id } } } }`,
      { id: app.id },
    );
    expect(seen.application.subscriptions.find((s) => s.api.id === api.id)?.status).toBe('ACTIVE');
    expect([...problems, ...adminProblems]).toEqual([]);
  } finally {
    // The setting is global: leave it off for the other specs.
    await setApproval(admin, false);
    await Promise.all([adminCtx.close(), staleCtx.close()]);
    await Promise.all([admin.dispose(), publisher.dispose(), owner.dispose()]);
  }
});
