import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockClient, withClient } from '../../../test/mockClient';
import { nextFrame } from '../../../test/frames';
import Environments, { environmentName, gatewayUrls } from './Environments';

type Answers = Parameters<typeof mockClient>[0];

const gateway = (id: string, healthy: boolean) => ({
  __typename: 'GatewayInstance',
  id,
  environments: ['internal'],
  address: '10.0.0.1:8243',
  healthy,
  lastSeen: '2026-12-03T09:00:00Z',
});

const environment = (name: string, gateways: unknown[] = [], urls = [`https://${name.toLowerCase()}.gw.example.com`]) => ({
  __typename: 'Environment',
  name,
  displayName: name === 'internal' ? 'Internal' : name,
  description: name === 'internal' ? 'Inside the firewall' : null,
  gatewayURLs: urls,
  gateways,
});

function setup(answers: Answers = {}) {
  const { client, calls } = mockClient({
    Environments: { environments: [environment('Default'), environment('internal', [gateway('gw-a', true), gateway('gw-b', false)])] },
    ...answers,
  });
  render(withClient(client, <Environments />));
  return { calls, user: userEvent.setup({ delay: null }) };
}

describe('environmentName', () => {
  it.each([
    ['', 'Name is required.'],
    ['in ternal', 'Name may contain only letters, digits, - and _, and starts with a letter or digit.'],
    ['a,b', 'Name may contain only letters, digits, - and _, and starts with a letter or digit.'],
    ['-x', 'Name may contain only letters, digits, - and _, and starts with a letter or digit.'],
    ['x'.repeat(65), 'Name must be at most 64 characters.'],
    ['eu-west_1', null],
  ])('%j', (value, want) => {
    expect(environmentName(value)).toBe(want);
  });
});

describe('gatewayUrls', () => {
  it.each([
    [[], null],
    [['https://gw.example.com', 'http://10.0.0.1:8280/base'], null],
    [['gw.example.com'], 'Gateway URLs: gw.example.com: Enter a valid URL, such as https://backend.example.com/v1.'],
    [['https://gw.example.com?x=1'], 'Gateway URLs: https://gw.example.com?x=1: give the base URL only, without query, fragment or credentials.'],
    [['https://u:p@gw.example.com'], 'Gateway URLs: https://u:p@gw.example.com: give the base URL only, without query, fragment or credentials.'],
    [Array.from({ length: 11 }, (_, i) => `https://gw${i}.example.com`), 'Gateway URLs: at most 10 (there are 11).'],
  ])('%j', (urls, want) => {
    expect(gatewayUrls(urls)).toBe(want);
  });
});

describe('Environments', () => {
  it('lists environments with their gateway URLs and gateways, health and last seen', async () => {
    setup();
    const table = await screen.findByRole('table', { name: 'Environments' });
    const row = within(table).getByRole('cell', { name: 'internal' }).closest('tr')!;
    const cells = within(row).getAllByRole('cell').map((c) => c.textContent);
    expect(cells.slice(0, 4)).toEqual(['internal', 'Internal', 'Inside the firewall', 'https://internal.gw.example.com']);
    const gateways = within(within(row).getByRole('list', { name: 'Gateways of internal' })).getAllByRole('listitem');
    expect(gateways.map((g) => g.textContent?.slice(0, 12))).toEqual(['gw-a Healthy', 'gw-b Stale l']);
    expect(gateways[0].textContent).toContain('last seen');
    expect(gateways[0].textContent).toContain('10.0.0.1:8243');
    // Default cannot be deleted; the others can.
    expect(screen.queryByRole('button', { name: 'Delete Default' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Delete internal' })).toBeTruthy();
  });

  it('validates the form before creating, then sends the trimmed input', async () => {
    const { calls, user } = setup({
      CreateEnvironment: (v) => ({
        createEnvironment: environment(String((v.input as { name: string }).name)),
      }),
    });
    const form = within(await screen.findByRole('form', { name: 'Create environment' }));
    await user.click(form.getByRole('button', { name: 'Create environment' }));
    await nextFrame();
    expect(form.getByText('Name is required.')).toBeTruthy();
    expect(document.activeElement).toBe(form.getByLabelText('Environment name'));

    await user.type(form.getByLabelText('Environment name'), 'external');
    await user.type(form.getByLabelText('Gateway URLs'), 'ftp://x');
    await user.click(form.getByRole('button', { name: 'Create environment' }));
    await nextFrame();
    expect(form.getByText(/Gateway URLs: ftp:\/\/x: URL must start with http/)).toBeTruthy();
    expect(calls.some((c) => c.name === 'CreateEnvironment')).toBe(false);

    await user.clear(form.getByLabelText('Gateway URLs'));
    await user.type(form.getByLabelText('Gateway URLs'), 'https://ext.gw.example.com{enter}  https://ext2.gw.example.com ');
    await user.type(form.getByLabelText('Description'), 'Partners');
    await user.click(form.getByRole('button', { name: 'Create environment' }));
    expect(calls.find((c) => c.name === 'CreateEnvironment')?.variables).toEqual({
      input: {
        name: 'external',
        displayName: null,
        description: 'Partners',
        gatewayURLs: ['https://ext.gw.example.com', 'https://ext2.gw.example.com'],
      },
    });
    expect(await form.findByText('Created external.')).toBeTruthy();
  });

  it('deletes after confirmation and shows the server’s CONFLICT', async () => {
    const conflict = "environment 'internal' is in use: revision 2 of Pets 1.0.0 is deployed to it; undeploy it first";
    const { calls, user } = setup({ DeleteEnvironment: { __error: conflict, __extensions: { code: 'CONFLICT' } } });
    await user.click(await screen.findByRole('button', { name: 'Delete internal' }));
    expect(calls.some((c) => c.name === 'DeleteEnvironment')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Confirm delete' }));
    expect(calls.find((c) => c.name === 'DeleteEnvironment')?.variables).toEqual({ name: 'internal' });
    expect((await screen.findByRole('alert')).textContent).toBe(`Cannot delete the environment: ${conflict}`);
  });
});
