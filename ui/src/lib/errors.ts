import type { CombinedError } from '@urql/core';

/** The message to show for a failed operation: the GraphQL error messages, never a stack. */
export function errorMessage(err: CombinedError | Error | string | null | undefined): string {
  if (!err) return '';
  if (typeof err === 'string') return err;
  const combined = err as CombinedError;
  if (combined.graphQLErrors && combined.graphQLErrors.length > 0) {
    return combined.graphQLErrors.map((e) => e.message).join(' ');
  }
  if (combined.networkError) {
    const m = combined.networkError.message;
    return m ? `Cannot reach the server: ${m}` : 'Cannot reach the server.';
  }
  return err.message.replace(/^\[(GraphQL|Network)\]\s*/, '');
}

/** The extensions.code of the first GraphQL error (UNAUTHENTICATED, NOT_FOUND, ...). */
export function errorCode(err: CombinedError | null | undefined): string | undefined {
  const code = err?.graphQLErrors?.[0]?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether the server said the object does not exist (or may not be seen, which it reports the same way). */
export function isNotFound(err: CombinedError | null | undefined): boolean {
  const code = errorCode(err);
  return code === 'NOT_FOUND' || code === 'BAD_USER_INPUT';
}

/** The input field the server blamed (extensions.field, such as "input.name"), if any. */
export function errorField(err: CombinedError | null | undefined): string | undefined {
  const field = err?.graphQLErrors?.[0]?.extensions?.field;
  return typeof field === 'string' ? field : undefined;
}
