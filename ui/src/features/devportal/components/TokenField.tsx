import { SelectField, TextField } from '../../../components/Field';
import { useHeldTokens } from '../../../lib/tokens';

/**
 * The access token of a try-it console: typed, or picked from the tokens this tab obtained
 * on the applications' pages (kept in memory only).
 */
export function TokenField({ value, onChange, error }: { value: string; onChange: (v: string) => void; error?: string | null }) {
  const held = useHeldTokens();
  return (
    <>
      {held.length > 0 && (
        <SelectField
          label="Use a token from"
          value=""
          onChange={(v) => v && onChange(v)}
          options={[
            { value: '', label: 'Choose an application…' },
            ...held.map((t) => ({ value: t.accessToken, label: `${t.applicationName} (${t.keyType.toLowerCase()})` })),
          ]}
        />
      )}
      <TextField label="Access token" value={value} onChange={onChange} error={error} monospace required hint="Bearer token from POST /oauth2/token." />
    </>
  );
}

/** The first token held in this tab, to start a console with. */
export function useFirstHeldToken(): string {
  return useHeldTokens()[0]?.accessToken ?? '';
}
