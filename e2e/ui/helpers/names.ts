import { randomBytes } from 'node:crypto';

/** A short random suffix so that runs against the same server never collide. */
export function rnd(n = 6): string {
  return randomBytes(8).toString('hex').slice(0, n);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${rnd()}`;
}

/** An API context: /prefix followed by a random suffix (letters and digits only). */
export function uniqueContext(prefix: string): string {
  return `/${prefix}${rnd()}`;
}

export const PASSWORD = 'e2e-Passw0rd!';
