import { useEffect, useState } from 'preact/hooks';
import { call, list } from '../api/client';
import { session, User } from '../api/session';
import type { AuditEntry } from '../api/types';
import { More } from '../components/more';
import { messageOf, useList } from '../components/use-list';
import { formatTime, t } from '../i18n';
import { ActionsHeader, ErrorMessage } from '../components/messages';

interface ListedUser extends User {
  createdAt: string;
  deletedAt?: string | null;
}

const ROLES: User['role'][] = ['ADMIN', 'INSTRUCTOR', 'PARTICIPANT'];

interface DeletedUser {
  id: number;
  email: string;
  name: string;
  deletedAt: string;
  by: string | null;
}

/** The newest entries (at most 100) of `action` on users. */
const userEntries = async (action: string) =>
  (await list<AuditEntry>(`/audit-logs?entity_type=User&action=${action}&limit=100`)).data;

/**
 * The users deleted now, read from the audit trail (the API's user has no deletion date): those whose last `DELETE`
 * entry is newer than their last `RESTORE`, with the name and email of their `CREATE` entry.
 */
async function deletedUsers(): Promise<DeletedUser[]> {
  const [deletions, restorations] = await Promise.all([userEntries('DELETE'), userEntries('RESTORE')]);
  const restored = new Map<string, number>();
  for (const entry of restorations)
    restored.set(entry.entity_id!, Math.max(entry.id, restored.get(entry.entity_id!) ?? 0));
  const latest = new Map<string, AuditEntry>();
  for (const entry of deletions) {
    if (entry.id > (latest.get(entry.entity_id!)?.id ?? 0)) latest.set(entry.entity_id!, entry);
  }
  const current = [...latest.values()].filter((entry) => entry.id > (restored.get(entry.entity_id!) ?? 0));
  return Promise.all(
    current.map(async (entry) => {
      const [created] = (
        await list<AuditEntry>(`/audit-logs?entity_type=User&action=CREATE&entity_id=${entry.entity_id}&limit=1`)
      ).data;
      const values = (created?.new_values ?? {}) as { email?: string; name?: string };
      return {
        id: Number(entry.entity_id),
        email: values.email ?? '',
        name: values.name ?? '',
        deletedAt: entry.created_at,
        by: entry.username,
      };
    }),
  );
}

/** Deleted users, each with `Restore`. */
function DeletedUsers({ generation, onRestored }: { generation: number; onRestored: () => void }) {
  const [rows, setRows] = useState<DeletedUser[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    deletedUsers().then(setRows, (failure: unknown) => setError(messageOf(failure)));
  }, [generation]);
  const restore = async (user: DeletedUser) => {
    try {
      await call('POST', `/users/${user.id}/restore`);
      setRows((before) => (before ?? []).filter((row) => row.id !== user.id));
      onRestored();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <section aria-labelledby="deleted-users-title">
      <h2 id="deleted-users-title">{t('deletedUsers')}</h2>
      {error && <p class="error">{error}</p>}
      {rows === null ? (
        <p>{t('loading')}</p>
      ) : rows.length === 0 ? (
        <p>{t('noDeletedUsers')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('name')}</th>
              <th scope="col">{t('email')}</th>
              <th scope="col">{t('deleted')}</th>
              <th scope="col">{t('by')}</th>
              <ActionsHeader />
            </tr>
          </thead>
          <tbody>
            {rows.map((user) => (
              <tr key={user.id}>
                <td>{user.name}</td>
                <td>{user.email}</td>
                <td>{formatTime(user.deletedAt)}</td>
                <td>{user.by ?? ''}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => void restore(user)}>
                    {t('restoreNamed', { name: user.name || user.email })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Users (ADMIN): list and search, change a role, delete; the deleted ones (from the audit trail), to restore. */
export function UsersPage() {
  const me = session()?.user.id;
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  // A user deleted here stays in this list, marked, until it is read again; the deleted ones are listed below too.
  const users = useList<ListedUser>(`/users${query ? `?q=${encodeURIComponent(query)}` : ''}`);
  const [notice, setNotice] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);

  const change = async (user: ListedUser, work: () => Promise<ListedUser>, deletedAt: string | null) => {
    users.setError(null);
    setNotice(null);
    try {
      const changed = { ...(await work()), deletedAt };
      users.setRows(users.rows.map((row) => (row.id === user.id ? changed : row)));
      setNotice(t('saved'));
      setGeneration((value) => value + 1);
    } catch (failure) {
      users.setError(messageOf(failure));
    }
  };

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">{t('users')}</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery(q.trim());
        }}
      >
        <label>
          {t('searchUsers')}
          <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <div class="buttons">
          <button type="submit">{t('apply')}</button>
        </div>
      </form>
      <p aria-live="polite">{notice}</p>
      <ErrorMessage text={users.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">{t('name')}</th>
            <th scope="col">{t('email')}</th>
            <th scope="col">{t('role')}</th>
            <th scope="col">{t('created')}</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {users.rows.map((user) => (
            <tr key={user.id} class={user.deletedAt ? 'deleted' : undefined}>
              <td>{user.name}</td>
              <td>{user.email}</td>
              <td>
                <select
                  aria-label={t('roleOf', { name: user.name })}
                  value={user.role}
                  disabled={Boolean(user.deletedAt)}
                  onChange={(event) => {
                    const role = event.currentTarget.value;
                    void change(user, () => call<ListedUser>('PATCH', `/users/${user.id}`, { role }), null);
                  }}
                >
                  {ROLES.map((role) => (
                    <option key={role} value={role}>
                      {role}
                    </option>
                  ))}
                </select>
              </td>
              <td>{formatTime(user.createdAt)}</td>
              <td>
                {user.deletedAt ? (
                  <button
                    type="button"
                    class="secondary"
                    onClick={() => void change(user, () => call<ListedUser>('POST', `/users/${user.id}/restore`), null)}
                  >
                    {t('restoreNamed', { name: user.name })}
                  </button>
                ) : (
                  user.id !== me && (
                    <button
                      type="button"
                      class="danger"
                      onClick={() => {
                        if (window.confirm(t('confirmDeleteUser', { name: user.name }))) {
                          void change(
                            user,
                            () => call<ListedUser>('DELETE', `/users/${user.id}`),
                            new Date().toISOString(),
                          );
                        }
                      }}
                    >
                      {t('deleteNamed', { name: user.name })}
                    </button>
                  )
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <More more={users.more} loading={users.loading} />
      <DeletedUsers generation={generation} onRestored={users.reload} />
    </section>
  );
}
