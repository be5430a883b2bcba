// Access tokens obtained in this tab, by application, kept in memory only (never in
// storage): the try-it console offers them.
import { useSyncExternalStore } from 'react';

export interface HeldToken {
  applicationId: string;
  applicationName: string;
  keyType: string;
  accessToken: string;
  expiresAt?: number;
}

let tokens: HeldToken[] = [];
const listeners = new Set<() => void>();

export function rememberToken(t: HeldToken): void {
  tokens = [t, ...tokens.filter((x) => !(x.applicationId === t.applicationId && x.keyType === t.keyType))];
  listeners.forEach((l) => l());
}

export function forgetTokens(): void {
  tokens = [];
  listeners.forEach((l) => l());
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useHeldTokens(): HeldToken[] {
  return useSyncExternalStore(subscribe, () => tokens, () => tokens);
}
