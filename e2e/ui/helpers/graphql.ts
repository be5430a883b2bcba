// GraphQL helpers for seeding: an API request context per user, so that each keeps its
// own session cookie (the cookie jar of Playwright's APIRequestContext).
import { request, type APIRequestContext } from '@playwright/test';
import { ADMIN_USERNAME, adminPassword, baseURL } from './env';

export class GraphQLError extends Error {
  constructor(
    message: string,
    readonly errors: Array<{ message: string; extensions?: { code?: string } }>,
  ) {
    super(message);
  }
}

export class Gql {
  private constructor(
    readonly ctx: APIRequestContext,
    readonly username?: string,
  ) {}

  static async anonymous(): Promise<Gql> {
    const base = baseURL();
    // Origin as a browser would send it, in case the server checks it against CSRF.
    const ctx = await request.newContext({ baseURL: base, extraHTTPHeaders: { Origin: base } });
    return new Gql(ctx);
  }

  static async login(username: string, password: string): Promise<Gql> {
    const g = await Gql.anonymous();
    await g.run<{ login: { id: string } }>(
      `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { id } }`,
      { u: username, p: password },
    );
    return new Gql(g.ctx, username);
  }

  static admin(): Promise<Gql> {
    return Gql.login(ADMIN_USERNAME, adminPassword());
  }

  /** Runs an operation; throws with the GraphQL messages when there are errors. */
  async run<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await this.ctx.post('/graphql', {
      data: { query, variables },
      headers: { 'Content-Type': 'application/json' },
      timeout: 60_000,
    });
    const text = await res.text();
    let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`POST /graphql answered ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
    }
    if (body.errors?.length) {
      throw new GraphQLError(`GraphQL: ${body.errors.map((e) => e.message).join('; ')}`, body.errors);
    }
    if (!res.ok()) throw new Error(`POST /graphql answered ${res.status}`);
    return body.data as T;
  }

  /** Cookies of this session, to start a browser context already signed in. */
  storageState() {
    return this.ctx.storageState();
  }

  dispose() {
    return this.ctx.dispose();
  }
}
