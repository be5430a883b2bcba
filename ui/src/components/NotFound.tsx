import { Link } from 'react-router';
import { useTitle } from './useTitle';

export function NotFound({ what = 'page' }: { what?: string }) {
  useTitle('Not found');
  return (
    <section className="page">
      <h1>Not found</h1>
      <p>
        This {what} does not exist or you may not see it. <Link to="/devportal">Go to the Developer Portal</Link>.
      </p>
    </section>
  );
}
