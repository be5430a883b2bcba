import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { TextField } from '../../../components/Field';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { Empty, ErrorNotice } from '../../../components/States';
import { formatTime } from '../../../lib/files';
import { AddCommentMutation, DeleteCommentMutation } from '../queries';

interface Comment {
  id: string;
  author: string;
  text: string;
  createdAt: string;
}

export function Comments({
  apiId,
  comments,
  me,
  isAdmin,
}: {
  apiId: string;
  comments: Comment[];
  me: string | null;
  isAdmin: boolean;
}) {
  const [text, setText] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [result, addComment] = useMutation(AddCommentMutation);
  const [deleteResult, deleteComment] = useMutation(DeleteCommentMutation);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const t = text.trim();
    const err = t === '' ? 'Write a comment first.' : t.length > 2000 ? 'A comment has at most 2,000 characters.' : null;
    setFieldError(err);
    if (err) return;
    const res = await addComment({ apiId, text: t });
    if (res.data) setText('');
  }

  return (
    <div className="stack">
      <ErrorNotice error={deleteResult.error} title="Cannot delete the comment" />
      {comments.length === 0 ? (
        <Empty>No comments yet.</Empty>
      ) : (
        <ul className="comments" aria-label="Comments">
          {comments.map((c) => (
            <li key={c.id} className="comment">
              <p className="comment-meta">
                <strong>{c.author}</strong> <span className="muted small">{formatTime(c.createdAt)}</span>
              </p>
              {/* Plain text: React escapes it. */}
              <p className="comment-text">{c.text}</p>
              {(isAdmin || c.author === me) && (
                <ConfirmButton label="Delete comment" question="Delete this comment?" onConfirm={() => deleteComment({ id: c.id })} />
              )}
            </li>
          ))}
        </ul>
      )}
      {me ? (
        <form className="form" onSubmit={onSubmit} noValidate aria-label="Add comment">
          <ErrorNotice error={result.error} title="Cannot add the comment" />
          <TextField label="Comment" value={text} onChange={setText} error={fieldError} multiline rows={3} />
          <button type="submit" className="btn btn-secondary" disabled={result.fetching}>
            {result.fetching ? 'Posting…' : 'Post comment'}
          </button>
        </form>
      ) : (
        <p className="muted">Sign in to comment.</p>
      )}
    </div>
  );
}
