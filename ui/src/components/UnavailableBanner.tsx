import { useSyncExternalStore } from 'react';
import { availability as pageAvailability, type Availability } from '../lib/unavailable';

/** Says that Turnpike is unavailable while the last answers said so; the client keeps retrying. */
export function UnavailableBanner({ availability = pageAvailability }: { availability?: Availability }) {
  const down = useSyncExternalStore(availability.subscribe, availability.unavailable, availability.unavailable);
  if (!down) return null;
  return (
    <div className="notice notice-warning unavailable-banner" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>
        Turnpike is unavailable, retrying… You stay signed in; what you see may be out of date until it answers again.
      </span>
    </div>
  );
}
