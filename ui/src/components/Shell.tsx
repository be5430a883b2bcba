import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { LogoutMutation } from '../features/auth/queries';
import { portalsFor } from '../features/auth/roles';
import { useSession } from '../features/auth/session';
import { isUnavailable } from '../lib/unavailable';
import { ErrorNotice } from './States';
import { UnavailableBanner } from './UnavailableBanner';

/** The frame of every page: skip link, portal switcher, the signed-in user. */
export function Shell() {
  const { me, loading, error, reset } = useSession();
  const [, logout] = useMutation(LogoutMutation);
  const navigate = useNavigate();
  const location = useLocation();
  const here = location.pathname + location.search;
  const onAuthPage = location.pathname === '/devportal/signin' || location.pathname === '/devportal/signup';

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/devportal" className="brand" aria-label="Turnpike home">
          <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
            <rect width="32" height="32" rx="6" className="brand-mark-bg" />
            <path d="M8 24 L16 8 L24 24" className="brand-mark-line" />
            <path d="M11 18 H21" className="brand-mark-line" />
          </svg>
          Turnpike
        </Link>
        <nav aria-label="Portals" className="portal-nav">
          {portalsFor(me).map((p) => (
            <NavLink key={p.path} to={p.path} className="portal-link">
              {p.label}
            </NavLink>
          ))}
        </nav>
        <div className="user-area">
          {loading ? null : me ? (
            <>
              <NavLink to="/devportal/account" className="user-name" aria-label={`Signed in as ${me.username}: your account`}>
                {me.username}
              </NavLink>
              <button
                type="button"
                className="btn btn-secondary btn-small"
                onClick={async () => {
                  await logout({});
                  reset();
                  navigate('/devportal');
                }}
              >
                Sign out
              </button>
            </>
          ) : (
            !onAuthPage && (
              <>
                <Link className="btn btn-secondary btn-small" to={`/devportal/signin?next=${encodeURIComponent(here)}`}>
                  Sign in
                </Link>
                <Link className="btn btn-primary btn-small" to="/devportal/signup">
                  Sign up
                </Link>
              </>
            )
          )}
        </div>
      </header>
      <UnavailableBanner />
      {error && !me && !isUnavailable(error) && <ErrorNotice error={error} title="Cannot load your session" />}
      <main id="main" tabIndex={-1} className="main">
        <Outlet />
      </main>
    </>
  );
}
