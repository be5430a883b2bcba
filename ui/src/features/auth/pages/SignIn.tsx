import { useRef, useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice } from '../../../components/States';
import { hasErrors, required } from '../../../lib/validate';
import { LoginMutation } from '../queries';
import { safeNext } from '../roles';
import { useSession } from '../session';
import { useTitle } from '../../../components/useTitle';

export default function SignIn() {
  useTitle('Sign in');
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const { me, reset } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ username?: string | null; password?: string | null }>({});
  const [result, login] = useMutation(LoginMutation);
  const formRef = useRef<HTMLFormElement>(null);

  if (me && !result.fetching && !result.data) return <Navigate to={next} replace />;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const errs = { username: required('Username')(username), password: required('Password')(password) };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await login({ username: username.trim(), password });
    if (res.data?.login) {
      reset();
      navigate(next, { replace: true });
    }
  }

  return (
    <div className="auth-page">
      <form ref={formRef} className="card auth-card" onSubmit={onSubmit} noValidate aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in</h1>
        <ErrorNotice error={result.error} title="Sign-in failed" />
        <TextField label="Username" value={username} onChange={setUsername} error={errors.username} required autoComplete="username" />
        <TextField
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          error={errors.password}
          required
          autoComplete="current-password"
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={result.fetching}>
          {result.fetching ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="auth-alt">
          No account? <Link to={`/devportal/signup${next !== '/devportal' ? `?next=${encodeURIComponent(next)}` : ''}`}>Sign up</Link>
        </p>
      </form>
    </div>
  );
}
