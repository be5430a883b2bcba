// The Key Manager's token endpoint (RFC 6749): client_credentials with HTTP Basic.

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
}

/** base64 of a UTF-8 string (btoa alone rejects non-Latin-1 input). */
export function base64Utf8(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
export function basicAuth(clientId: string, clientSecret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${base64Utf8(`${enc(clientId)}:${enc(clientSecret)}`)}`;
}

export async function clientCredentialsToken(
  consumerKey: string,
  consumerSecret: string,
  scope?: string,
  endpoint = '/oauth2/token',
): Promise<TokenResponse> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope && scope.trim()) body.set('scope', scope.trim());
  const res = await fetch(endpoint, {
    method: 'POST',
    credentials: 'omit',
    headers: {
      Authorization: basicAuth(consumerKey, consumerSecret),
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    },
    body: body.toString(),
  });
  let json: Record<string, unknown> = {};
  try {
    json = (await res.json()) as Record<string, unknown>;
  } catch {
    /* a non-JSON error body */
  }
  if (!res.ok || typeof json.access_token !== 'string') {
    const desc = typeof json.error_description === 'string' ? json.error_description : '';
    const code = typeof json.error === 'string' ? json.error : `HTTP ${res.status}`;
    throw new Error(desc ? `${code}: ${desc}` : `The token request failed (${code}).`);
  }
  return json as unknown as TokenResponse;
}
