import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { ConfirmButton } from '../../../components/ConfirmButton';
import { TextField } from '../../../components/Field';
import { Empty, ErrorNotice, Loading, SuccessNotice } from '../../../components/States';
import { useTitle } from '../../../components/useTitle';
import { typenames } from '../../../lib/typenames';
import { groupNameError, parseUsernames } from '../governance';
import { CreateGroupMutation, DeleteGroupMutation, GroupsQuery, SetGroupMembersMutation } from '../queries';

interface GroupView {
  name: string;
  description?: string | null;
  members: Array<{ id: string; username: string }>;
}

function GroupCard({ group }: { group: GroupView }) {
  const saved = group.members.map((m) => m.username).join(', ');
  const [members, setMembers] = useState(saved);
  const [result, setGroupMembers] = useMutation(SetGroupMembersMutation);
  const [deleteResult, deleteGroup] = useMutation(DeleteGroupMutation);
  const dirty = parseUsernames(members).join() !== parseUsernames(saved).join();
  return (
    <article className="card stack" aria-label={`Group ${group.name}`}>
      <div className="page-header">
        <h2 className="mono">{group.name}</h2>
        <ConfirmButton
          label="Delete"
          ariaLabel={`Delete group ${group.name}`}
          confirmLabel="Confirm delete"
          question={`Delete the group ${group.name}?`}
          onConfirm={() => deleteGroup({ name: group.name })}
        />
      </div>
      {group.description && <p>{group.description}</p>}
      <ErrorNotice error={deleteResult.error} title="Cannot delete the group" />
      <form
        className="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setGroupMembers({ name: group.name, usernames: parseUsernames(members) });
        }}
      >
        <TextField
          label={`Members of ${group.name}`}
          value={members}
          onChange={setMembers}
          multiline
          rows={2}
          hint="Usernames, separated by commas or spaces."
        />
        <ErrorNotice error={result.error} title="Cannot set the members" />
        {result.data && !dirty && <span className="muted small" role="status">Members saved.</span>}
        <div className="form-actions">
          <button type="submit" className="btn btn-secondary btn-small" disabled={!dirty || result.fetching}>
            Save members
          </button>
        </div>
      </form>
    </article>
  );
}

export default function Groups() {
  useTitle('Groups · Admin');
  const [{ data, fetching, error }, refetch] = useQuery({ query: GroupsQuery, context: typenames('Group') });
  const groups = data?.groups ?? [];
  return (
    <section className="page">
      <div className="page-header">
        <h1>Groups</h1>
      </div>
      <p className="muted">Restricted APIs are seen only by their groups' members (and publishers and administrators).</p>
      <ErrorNotice error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />
      {fetching && !data && <Loading label="Loading groups…" />}
      {data && groups.length === 0 && <Empty>No groups yet.</Empty>}
      <div className="stack">
        {groups.map((g) => (
          <GroupCard key={`${g.name}:${g.members.map((m) => m.username).join()}`} group={g} />
        ))}
      </div>
      <CreateGroupForm />
    </section>
  );
}

function CreateGroupForm() {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [result, create] = useMutation(CreateGroupMutation);
  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setCreated(null);
    const err = groupNameError(name);
    setNameError(err);
    if (err) return;
    const res = await create({ name: name.trim(), description: description.trim() || null });
    if (res.data) {
      setCreated(res.data.createGroup.name);
      setName('');
      setDescription('');
    }
  }
  return (
    <form className="form card" onSubmit={onSubmit} noValidate aria-label="Create group">
      <h2>Create a group</h2>
      <ErrorNotice error={result.error} title="Cannot create the group" />
      {created && <SuccessNotice>Created {created}.</SuccessNotice>}
      <TextField label="Group name" value={name} onChange={setName} error={nameError} required />
      <TextField label="Group description" value={description} onChange={setDescription} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={result.fetching}>
          Create group
        </button>
      </div>
    </form>
  );
}
