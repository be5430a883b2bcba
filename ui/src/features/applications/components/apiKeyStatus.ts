/** What an API key in the list can do now. */
export type APIKeyStatus = 'Active' | 'Revoked' | 'Expired';

/** The status of a listed API key at `now` (revocation wins over expiry). */
export function apiKeyStatus(k: { revokedAt?: string | null; expiresAt: string }, now: number = Date.now()): APIKeyStatus {
  if (k.revokedAt) return 'Revoked';
  if (Date.parse(k.expiresAt) <= now) return 'Expired';
  return 'Active';
}

/** Parses the validity field: empty means the server's default; otherwise 1 to 1095 days. */
export function parseValidityDays(v: string): { days?: number; error?: string } {
  const t = v.trim();
  if (t === '') return {};
  if (!/^\d+$/.test(t)) return { error: 'Enter a whole number of days.' };
  const days = Number(t);
  if (days < 1 || days > 1095) return { error: 'Between 1 and 1095 days.' };
  return { days };
}
