import { useId, useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice, SuccessNotice } from '../../../components/States';
import { errorCode, errorField } from '../../../lib/errors';
import { hasErrors, newPassword as newPasswordCheck } from '../../../lib/validate';
import { ChangePasswordMutation } from '../queries';

type Errors = Partial<Record<'current' | 'next' | 'confirm', string | null>>;

/** Changes the signed-in user's own password; the server ends their other sessions. */
export function ChangePasswordForm({ username }: { username: string }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [done, setDone] = useState(false);
  const [result, change] = useMutation(ChangePasswordMutation);
  const formRef = useRef<HTMLFormElement>(null);
  const titleId = useId();

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setDone(false);
    const errs: Errors = {
      current: current === '' ? 'Current password is required.' : null,
      next: newPasswordCheck(next) ?? (next === current ? 'The new password must differ from the current one.' : null),
      confirm: confirm === '' ? 'Confirm the new password.' : confirm !== next ? 'The passwords do not match.' : null,
    };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await change({ currentPassword: current, newPassword: next });
    if (res.data?.changePassword) {
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(true);
      return;
    }
    // A wrong current password or a refused new one belongs to its field.
    const err = res.error;
    if (errorCode(err) === 'UNAUTHENTICATED' && /invalid username or password/i.test(err?.message ?? '')) {
      setErrors({ current: 'The current password is not correct.' });
      focusFirstInvalid(formRef.current);
    } else if (errorField(err) === 'password') {
      setErrors({ next: `New password ${err?.graphQLErrors[0]?.message.replace(/^password: /, '')}.` });
      focusFirstInvalid(formRef.current);
    }
  }

  const fieldError = errors.current || errors.next;
  return (
    <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-labelledby={titleId}>
      <h2 id={titleId}>Change password</h2>
      {done && <SuccessNotice>Your password was changed. Your other sessions were signed out.</SuccessNotice>}
      {!fieldError && <ErrorNotice error={result.error} title="Cannot change the password" />}
      {/* For password managers: the account the new password belongs to. */}
      <input type="text" name="username" autoComplete="username" value={username} readOnly hidden />
      <TextField
        label="Current password"
        type="password"
        value={current}
        onChange={setCurrent}
        error={errors.current}
        required
        autoComplete="current-password"
      />
      <TextField
        label="New password"
        type="password"
        value={next}
        onChange={setNext}
        error={errors.next}
        required
        autoComplete="new-password"
        hint="8 to 256 characters."
      />
      <TextField
        label="Confirm new password"
        type="password"
        value={confirm}
        onChange={setConfirm}
        error={errors.confirm}
        required
        autoComplete="new-password"
      />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Changing…' : 'Change password'}
        </button>
      </div>
    </form>
  );
}
