import type { OperationContext } from '@urql/core';

const cache = new Map<string, Partial<OperationContext>>();

/**
 * A stable urql context naming the types whose mutations refresh a query, even when its
 * result held none of them (an empty list). Stable: urql re-runs a query whose context
 * object changes, so a fresh object on every render would loop.
 */
export function typenames(...names: string[]): Partial<OperationContext> {
  const key = names.join(',');
  let ctx = cache.get(key);
  if (!ctx) {
    ctx = { additionalTypenames: names };
    cache.set(key, ctx);
  }
  return ctx;
}
