import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice, SuccessNotice } from '../../../components/States';
import { errorCode, errorMessage } from '../../../lib/errors';
import { email as emailCheck, hasErrors, password as passwordCheck, username as usernameCheck } from '../../../lib/validate';
import { LoginMutation, SignUpMutation } from '../queries';
import { safeNext } from '../roles';
import { useSession } from '../session';
import { useTitle } from '../../../components/useTitle';

type Errors = Partial<Record<'username' | 'email' | 'password' | 'confirm', string | null>>;

export default function SignUp() {
  useTitle('Sign up');
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const { reset } = useSession();
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [signUpResult, signUp] = useMutation(SignUpMutation);
  const [loginResult, login] = useMutation(LoginMutation);
  const formRef = useRef<HTMLFormElement>(null);
  const busy = signUpResult.fetching || loginResult.fetching;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const errs: Errors = {
      username: usernameCheck(username),
      email: emailCheck(email),
      password: passwordCheck(password),
      confirm: confirm !== password ? 'The passwords do not match.' : null,
    };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await signUp({ input: { username: username.trim(), password, email: email.trim() || null } });
    if (!res.data?.signUp) return;
    // A new account signs in straight away.
    const logged = await login({ username: username.trim(), password });
    if (logged.data?.login) {
      reset();
      navigate(next, { replace: true });
    }
  }

  return (
    <div className="auth-page">
      <form ref={formRef} className="card auth-card" onSubmit={onSubmit} noValidate aria-labelledby="signup-title">
        <h1 id="signup-title">Create an account</h1>
        <ErrorNotice error={signUpResult.error} title="Sign-up failed" />
        {/* With sign-up approval on, the new account cannot sign in yet (FORBIDDEN, awaiting approval). */}
        {errorCode(loginResult.error) === 'FORBIDDEN' ? (
          <SuccessNotice>Your account was created but cannot sign in yet: {errorMessage(loginResult.error)}.</SuccessNotice>
        ) : (
          <ErrorNotice error={loginResult.error} title="Your account was created but sign-in failed" />
        )}
        <TextField label="Username" value={username} onChange={setUsername} error={errors.username} required autoComplete="username" />
        <TextField label="Email" type="email" value={email} onChange={setEmail} error={errors.email} autoComplete="email" />
        <TextField
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          error={errors.password}
          required
          autoComplete="new-password"
          hint="At least 8 characters."
        />
        <TextField
          label="Confirm password"
          type="password"
          value={confirm}
          onChange={setConfirm}
          error={errors.confirm}
          required
          autoComplete="new-password"
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Creating account…' : 'Sign up'}
        </button>
        <p className="auth-alt">
          Already have an account? <Link to="/devportal/signin">Sign in</Link>
        </p>
      </form>
    </div>
  );
}
