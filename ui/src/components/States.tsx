import type { ReactNode } from 'react';
import type { CombinedError } from '@urql/core';
import { errorMessage } from '../lib/errors';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

/** A failed operation: the GraphQL error message, announced to screen readers. */
export function ErrorNotice({
  error,
  title = 'Something went wrong',
  onRetry,
}: {
  error: CombinedError | Error | string | null | undefined;
  title?: string;
  onRetry?: () => void;
}) {
  if (!error) return null;
  return (
    <div className="notice notice-error" role="alert">
      <strong>{title}:</strong> {errorMessage(error)}
      {onRetry && (
        <button type="button" className="btn btn-small btn-secondary notice-action" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function SuccessNotice({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <div className="notice notice-success" role="status">
      {children}
    </div>
  );
}

/** Renders loading, error and empty states around a query result, or the content. */
export function QueryState<T>({
  fetching,
  error,
  data,
  isEmpty,
  empty,
  onRetry,
  children,
}: {
  fetching: boolean;
  error?: CombinedError;
  data: T | undefined | null;
  isEmpty?: (d: T) => boolean;
  empty?: ReactNode;
  onRetry?: () => void;
  children: (d: T) => ReactNode;
}) {
  if (error && !data) return <ErrorNotice error={error} onRetry={onRetry} />;
  if (data == null) return fetching ? <Loading /> : <Empty>{empty ?? 'Nothing here.'}</Empty>;
  return (
    <>
      {error && <ErrorNotice error={error} onRetry={onRetry} />}
      {isEmpty && isEmpty(data) ? <Empty>{empty ?? 'Nothing here.'}</Empty> : children(data)}
    </>
  );
}
