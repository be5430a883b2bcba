import { useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { getFragmentData, type FragmentType } from '../../../gql';
import type { DocumentSource } from '../../../gql/graphql';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { TextField, focusFirstInvalid } from '../../../components/Field';
import { Empty, ErrorNotice, SuccessNotice } from '../../../components/States';
import { fileToBase64, formatBytes, formatTime } from '../../../lib/files';
import { hasErrors, httpUrl, name as nameCheck } from '../../../lib/validate';
import { AddDocumentMutation, ApiDocumentsFields, DeleteDocumentMutation } from '../queries';

const MAX_FILE = 10 * 1024 * 1024;

type Errors = Partial<Record<'name' | 'content' | 'url' | 'file', string | null>>;

export function DocumentsTab(props: { api: FragmentType<typeof ApiDocumentsFields> }) {
  const api = getFragmentData(ApiDocumentsFields, props.api);
  const [deleteResult, deleteDocument] = useMutation(DeleteDocumentMutation);
  return (
    <div className="stack">
      <h2>Documents</h2>
      <ErrorNotice error={deleteResult.error} title="Cannot delete the document" />
      {api.documents.length === 0 ? (
        <Empty>No documents yet.</Empty>
      ) : (
        <table className="table" aria-label="Documents">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Source</th>
              <th scope="col">Summary</th>
              <th scope="col">Added</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {api.documents.map((d) => (
              <tr key={d.id}>
                <td>
                  {d.url ? (
                    <a href={d.url} target="_blank" rel="noopener noreferrer">
                      {d.name}
                    </a>
                  ) : (
                    d.name
                  )}
                </td>
                <td>
                  {d.source}
                  {d.size != null ? ` · ${formatBytes(d.size)}` : ''}
                </td>
                <td>{d.summary}</td>
                <td>{formatTime(d.createdAt)}</td>
                <td>
                  <ConfirmButton
                    label="Delete" ariaLabel={`Delete ${d.name}`}
                    confirmLabel="Confirm delete"
                    question={`Delete the document ${d.name}?`}
                    onConfirm={() => deleteDocument({ id: d.id })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <AddDocumentForm apiId={api.id} />
    </div>
  );
}

function AddDocumentForm({ apiId }: { apiId: string }) {
  const [name, setName] = useState('');
  const [summary, setSummary] = useState('');
  const [source, setSource] = useState<DocumentSource>('INLINE');
  const [content, setContent] = useState('');
  const [url, setUrl] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [added, setAdded] = useState<string | null>(null);
  const [result, addDocument] = useMutation(AddDocumentMutation);
  const formRef = useRef<HTMLFormElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setAdded(null);
    const errs: Errors = {
      name: nameCheck('Name')(name),
      content: source === 'INLINE' && content.trim() === '' ? 'Content is required.' : null,
      url: source === 'URL' ? httpUrl(url) : null,
      file:
        source === 'FILE'
          ? !file
            ? 'Choose a file.'
            : file.size > MAX_FILE
              ? 'The file is larger than 10 MB.'
              : null
          : null,
    };
    setErrors(errs);
    if (hasErrors(errs as Record<string, string | undefined>)) return focusFirstInvalid(formRef.current);
    const input = {
      name: name.trim(),
      summary: summary.trim() || null,
      source,
      content: source === 'INLINE' ? content : null,
      url: source === 'URL' ? url.trim() : null,
      fileBase64: source === 'FILE' && file ? await fileToBase64(file) : null,
      fileName: source === 'FILE' && file ? file.name : null,
    };
    const res = await addDocument({ apiId, input });
    if (res.data) {
      setAdded(res.data.addDocument.name);
      setName('');
      setSummary('');
      setContent('');
      setUrl('');
      setFile(null);
      if (fileRef.current) fileRef.current.value = '';
    }
  }

  return (
    <form ref={formRef} className="form card" onSubmit={onSubmit} noValidate aria-label="Add document">
      <h3>Add a document</h3>
      <ErrorNotice error={result.error} title="Cannot add the document" />
      {added && <SuccessNotice>Added {added}.</SuccessNotice>}
      <TextField label="Document name" value={name} onChange={setName} error={errors.name} required />
      <TextField label="Summary" value={summary} onChange={setSummary} />
      <fieldset className="fieldset">
        <legend>Source</legend>
        <div className="radios">
          {(
            [
              ['INLINE', 'Inline (Markdown)'],
              ['URL', 'URL'],
              ['FILE', 'File'],
            ] as Array<[DocumentSource, string]>
          ).map(([value, label]) => (
            <div key={value} className="field-check">
              <input id={`doc-source-${value}`} type="radio" name="doc-source" value={value} checked={source === value} onChange={() => setSource(value)} />
              <label htmlFor={`doc-source-${value}`}>{label}</label>
            </div>
          ))}
        </div>
      </fieldset>
      {source === 'INLINE' && (
        <TextField label="Content" value={content} onChange={setContent} error={errors.content} multiline rows={8} required hint="Markdown." />
      )}
      {source === 'URL' && <TextField label="Document URL" type="url" value={url} onChange={setUrl} error={errors.url} required />}
      {source === 'FILE' && (
        <div className="field">
          <label htmlFor="doc-file">File</label>
          <input
            ref={fileRef}
            id="doc-file"
            type="file"
            aria-invalid={errors.file ? true : undefined}
            aria-describedby={errors.file ? 'doc-file-error' : undefined}
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
          {errors.file && (
            <span className="field-error" id="doc-file-error">
              {errors.file}
            </span>
          )}
        </div>
      )}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          {result.fetching ? 'Adding…' : 'Add document'}
        </button>
      </div>
    </form>
  );
}
