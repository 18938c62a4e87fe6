import { useState } from 'preact/hooks';
import { call } from '../api/client';
import { session, User } from '../api/session';
import { More } from '../components/more';
import { messageOf, useList } from '../components/use-list';
import { formatTime, t } from '../i18n';

interface ListedUser extends User {
  createdAt: string;
  deletedAt?: string | null;
}

const ROLES: User['role'][] = ['ADMIN', 'INSTRUCTOR', 'PARTICIPANT'];

/** Users (ADMIN): list and search, change a role, delete (and restore what was just deleted). */
export function UsersPage() {
  const me = session()?.user.id;
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  // The API's user has no deletion date: a user deleted here stays on the page, to be restored, until it is read again.
  const users = useList<ListedUser>(`/users${query ? `?q=${encodeURIComponent(query)}` : ''}`);
  const [notice, setNotice] = useState<string | null>(null);

  const change = async (user: ListedUser, work: () => Promise<ListedUser>, deletedAt: string | null) => {
    users.setError(null);
    setNotice(null);
    try {
      const changed = { ...(await work()), deletedAt };
      users.setRows(users.rows.map((row) => (row.id === user.id ? changed : row)));
      setNotice(t('saved'));
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
      {users.error && (
        <p role="alert" class="error">
          {users.error}
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">{t('name')}</th>
            <th scope="col">{t('email')}</th>
            <th scope="col">{t('role')}</th>
            <th scope="col">{t('created')}</th>
            <th scope="col">
              <span class="visually-hidden">{t('actions')}</span>
            </th>
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
    </section>
  );
}
