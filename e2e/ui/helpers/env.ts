// Where the server under test is. global-setup fills these in when it starts one itself.
export function baseURL(): string {
  const u = process.env.TURNPIKE_E2E_BASE_URL;
  if (!u) throw new Error('TURNPIKE_E2E_BASE_URL is not set (global-setup should have set it).');
  return u.replace(/\/+$/, '');
}

export function adminPassword(): string {
  const p = process.env.TURNPIKE_E2E_ADMIN_PASSWORD;
  if (!p) throw new Error('TURNPIKE_E2E_ADMIN_PASSWORD is not set.');
  return p;
}

export const ADMIN_USERNAME = process.env.TURNPIKE_E2E_ADMIN_USERNAME ?? 'admin';
