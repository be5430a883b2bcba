import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { TextField, focusFirstInvalid } from '../../../components/Field';
import { ErrorNotice } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { fileToText } from '../../../lib/files';
import { contextPath, hasErrors, httpUrl, version as versionCheck } from '../../../lib/validate';
import { ImportOpenApiMutation } from '../queries';

type Errors = Partial<Record<'definition' | 'endpoint' | 'context' | 'version', string | null>>;

export default function ApiImport() {
  useTitle('Import OpenAPI · Publisher');
  const navigate = useNavigate();
  const [definition, setDefinition] = useState('');
  const [fileName, setFileName] = useState('');
  const [endpoint, setEndpoint] = useState('');
  const [context, setContext] = useState('');
  const [version, setVersion] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [fileError, setFileError] = useState<string | null>(null);
  const [result, importApi] = useMutation(ImportOpenApiMutation);
  const formRef = useRef<HTMLFormElement>(null);

  async function onFile(file: File | undefined) {
    setFileError(null);
    if (!file) return;
    if (file.size > 5 * 1024 * 1024) {
      setFileError('The file is larger than 5 MB.');
      return;
    }
    try {
      setDefinition(await fileToText(file));
      setFileName(file.name);
    } catch (err) {
      setFileError((err as Error).message);
    }
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const errs: Errors = {
      definition: definition.trim() === '' ? 'Upload or paste an OpenAPI or Swagger document.' : null,
      endpoint: httpUrl(endpoint),
      context: context.trim() ? contextPath(context) : null,
      version: version.trim() ? versionCheck(version) : null,
    };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const res = await importApi({
      definition,
      endpoint: endpoint.trim(),
      context: context.trim() || null,
      version: version.trim() || null,
    });
    if (res.data) navigate(`/publisher/apis/${res.data.importOpenAPI.id}`);
  }

  return (
    <section className="page">
      <div className="page-header">
        <h1>Import OpenAPI</h1>
        <Link to="/publisher/apis/new">Create from a form instead</Link>
      </div>
      <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label="Import OpenAPI">
        <ErrorNotice error={result.error} title="Cannot import the document" />
        <div className="field">
          <label htmlFor="openapi-file">OpenAPI file</label>
          <input
            id="openapi-file"
            type="file"
            accept=".json,.yaml,.yml,application/json,application/yaml,text/yaml"
            aria-describedby="openapi-file-hint"
            onChange={(e) => onFile(e.target.files?.[0])}
          />
          <span className="field-hint" id="openapi-file-hint">
            OpenAPI 3.0/3.1 or Swagger 2.0, JSON or YAML.{fileName ? ` Loaded ${fileName}.` : ''}
          </span>
          {fileError && <span className="field-error">{fileError}</span>}
        </div>
        <TextField
          label="OpenAPI definition"
          value={definition}
          onChange={(v) => {
            setDefinition(v);
            setFileName('');
          }}
          error={errors.definition}
          multiline
          rows={12}
          monospace
          hint="Or paste the document here."
        />
        <TextField
          label="Endpoint URL"
          type="url"
          value={endpoint}
          onChange={setEndpoint}
          error={errors.endpoint}
          required
          placeholder="https://petstore.example.com/v1"
          hint="The production backend."
        />
        <div className="grid-2">
          <TextField
            label="Context"
            value={context}
            onChange={setContext}
            error={errors.context}
            placeholder="/pets"
            hint="Optional: derived from the document when empty."
            monospace
          />
          <TextField
            label="Version"
            value={version}
            onChange={setVersion}
            error={errors.version}
            hint="Optional: the document's info.version when empty."
          />
        </div>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={result.fetching}>
            {result.fetching ? 'Importing…' : 'Import API'}
          </button>
          <Link className="btn btn-secondary" to="/publisher">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
