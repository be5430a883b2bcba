import { afterEach, describe, expect, it, vi } from 'vitest';
import { basicAuth, clientCredentialsToken } from './oauth';

describe('token endpoint client', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('encodes client credentials as RFC 6749 says', () => {
    expect(basicAuth('key', 'secret')).toBe(`Basic ${btoa('key:secret')}`);
    // reserved characters are form-urlencoded first
    expect(basicAuth('a:b', 's p')).toBe(`Basic ${btoa('a%3Ab:s+p')}`);
  });

  it('posts grant_type=client_credentials form-encoded with Basic auth', async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ access_token: 'tok', token_type: 'Bearer', expires_in: 3600 }), { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const res = await clientCredentialsToken('ck', 'cs');
    expect(res.access_token).toBe('tok');
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/oauth2/token');
    expect(init.method).toBe('POST');
    const headers = init.headers as Record<string, string>;
    expect(headers.Authorization).toBe(`Basic ${btoa('ck:cs')}`);
    expect(headers['Content-Type']).toBe('application/x-www-form-urlencoded');
    expect(init.body).toBe('grant_type=client_credentials');
  });

  it('reports the OAuth error description', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ error: 'invalid_client', error_description: 'bad secret' }), { status: 401 })),
    );
    await expect(clientCredentialsToken('ck', 'wrong')).rejects.toThrow('invalid_client: bad secret');
  });
});
