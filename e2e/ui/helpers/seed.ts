// Seed data through the public GraphQL API (graph/*.graphqls).
import { Gql } from './graphql';
import { PASSWORD, uniqueContext, uniqueName } from './names';

export type Role = 'ADMIN' | 'PUBLISHER' | 'CREATOR' | 'SUBSCRIBER';

export interface SeededUser {
  id: string;
  username: string;
  password: string;
}

export async function createUser(admin: Gql, roles: Role[], prefix = 'user'): Promise<SeededUser> {
  const username = uniqueName(prefix);
  const data = await admin.run<{ createUser: { id: string; username: string } }>(
    `mutation($input: CreateUserInput!) { createUser(input: $input) { id username } }`,
    { input: { username, password: PASSWORD, email: `${username}@example.com`, roles } },
  );
  return { id: data.createUser.id, username, password: PASSWORD };
}

export async function signUp(prefix = 'dev'): Promise<SeededUser> {
  const username = uniqueName(prefix);
  const anon = await Gql.anonymous();
  const data = await anon.run<{ signUp: { id: string } }>(
    `mutation($input: SignUpInput!) { signUp(input: $input) { id } }`,
    { input: { username, password: PASSWORD, email: `${username}@example.com` } },
  );
  await anon.dispose();
  return { id: data.signUp.id, username, password: PASSWORD };
}

export interface SeededApi {
  id: string;
  name: string;
  context: string;
  version: string;
  gatewayURLs: string[];
  lifecycleState: string;
}

const API_FIELDS = 'id name context version gatewayURLs lifecycleState';

export async function createApi(
  publisher: Gql,
  opts: {
    endpoint: string;
    name?: string;
    context?: string;
    version?: string;
    resources?: Array<{ method: string; path: string; authRequired?: boolean }>;
    tiers?: string[];
    tags?: string[];
    description?: string;
    corsForBrowsers?: boolean;
  },
): Promise<SeededApi> {
  const input: Record<string, unknown> = {
    name: opts.name ?? uniqueName('E2E API'),
    context: opts.context ?? uniqueContext('e2e'),
    version: opts.version ?? '1.0.0',
    description: opts.description ?? 'Seeded by the **end-to-end** tests.',
    endpoints: { type: 'SINGLE', production: [opts.endpoint], sandbox: [opts.endpoint] },
    subscriptionTiers: opts.tiers ?? ['Unlimited'],
    tags: opts.tags ?? ['e2e'],
  };
  if (opts.resources) input.resources = opts.resources.map((r) => ({ authRequired: true, ...r }));
  if (opts.corsForBrowsers) {
    // The try-it console calls the gateway from the portal's origin.
    input.cors = {
      enabled: true,
      allowOrigins: ['*'],
      allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type'],
      allowCredentials: false,
    };
  }
  const data = await publisher.run<{ createAPI: SeededApi }>(
    `mutation($input: CreateAPIInput!) { createAPI(input: $input) { ${API_FIELDS} } }`,
    { input },
  );
  return data.createAPI;
}

export async function publish(publisher: Gql, apiId: string): Promise<SeededApi> {
  const data = await publisher.run<{ changeLifecycle: SeededApi }>(
    `mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { ${API_FIELDS} } }`,
    { id: apiId },
  );
  return data.changeLifecycle;
}

export async function getApi(client: Gql, id: string) {
  const data = await client.run<{
    api: SeededApi & {
      subscriptionTiers: string[];
      resources: Array<{ method: string; path: string; authRequired: boolean; scopes: string[] }>;
    } | null;
  }>(`query($id: ID!) { api(id: $id) { ${API_FIELDS} subscriptionTiers resources { method path authRequired scopes } } }`, { id });
  return data.api;
}

export async function createApplication(owner: Gql, name = uniqueName('app'), policy = 'Unlimited') {
  const data = await owner.run<{ createApplication: { id: string; name: string } }>(
    `mutation($input: CreateApplicationInput!) { createApplication(input: $input) { id name } }`,
    { input: { name, throttlingPolicy: policy } },
  );
  return data.createApplication;
}

export async function subscribe(owner: Gql, apiId: string, applicationId: string, tier = 'Unlimited') {
  const data = await owner.run<{ subscribe: { id: string; status: string } }>(
    `mutation($a: ID!, $app: ID!, $t: String!) { subscribe(apiId: $a, applicationId: $app, tier: $t) { id status } }`,
    { a: apiId, app: applicationId, t: tier },
  );
  return data.subscribe;
}
