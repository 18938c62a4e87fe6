import { useState } from 'preact/hooks';
import { call } from '../api/client';
import { session } from '../api/session';
import { messageOf, useList } from '../components/use-list';
import { More } from '../components/more';
import { CopyButton } from '../components/copy-button';
import { formatTime, t } from '../i18n';
import { ActionsHeader, ErrorMessage } from '../components/messages';

interface ApiKey {
  id: number;
  name: string;
  scopes: string[];
  userId: number;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  key?: string;
}

const SCOPES = ['activities:read', 'activities:write', 'audit:read'];

/** One's own API keys (an ADMIN's: everyone's): create (the key shown once), list, revoke. */
export function ApiKeysPage() {
  const admin = session()?.user.role === 'ADMIN';
  const keys = useList<ApiKey>('/api-keys');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['activities:write']);
  const [expiresAt, setExpiresAt] = useState('');
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    keys.setError(null);
    try {
      const body: Record<string, unknown> = { name, scopes };
      if (expiresAt) body.expiresAt = new Date(`${expiresAt}T23:59:59`).toISOString();
      const key = await call<ApiKey>('POST', '/api-keys', body);
      setCreated(key);
      setName('');
      keys.reload();
    } catch (failure) {
      keys.setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (key: ApiKey) => {
    if (!window.confirm(t('confirmRevoke', { name: key.name }))) return;
    try {
      await call('DELETE', `/api-keys/${key.id}`);
      keys.setRows(keys.rows.filter((row) => row.id !== key.id));
    } catch (failure) {
      keys.setError(messageOf(failure));
    }
  };

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">{t('apiKeys')}</h1>
      <form class="filters" aria-label={t('createKey')} onSubmit={(event) => void create(event)}>
        <label>
          {t('name')}
          <input type="text" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>{t('scopes')}</legend>
          {SCOPES.filter((scope) => admin || scope !== 'audit:read').map((scope) => (
            <label key={scope} class="inline">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(e) =>
                  setScopes(e.currentTarget.checked ? [...scopes, scope] : scopes.filter((item) => item !== scope))
                }
              />
              {scope}
            </label>
          ))}
        </fieldset>
        <label>
          {t('expires')}
          <input type="date" value={expiresAt} onInput={(e) => setExpiresAt(e.currentTarget.value)} />
        </label>
        <div class="buttons">
          <button type="submit" disabled={busy || !scopes.length}>
            {t('createKey')}
          </button>
        </div>
      </form>
      {created?.key && (
        <div class="secret" role="status">
          <p>{t('keyShownOnce', { name: created.name })}</p>
          <code>{created.key}</code> <CopyButton text={created.key} />
        </div>
      )}
      <ErrorMessage text={keys.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">{t('name')}</th>
            <th scope="col">{t('prefix')}</th>
            <th scope="col">{t('scopes')}</th>
            {admin && <th scope="col">{t('userId')}</th>}
            <th scope="col">{t('created')}</th>
            <th scope="col">{t('lastUsed')}</th>
            <th scope="col">{t('expires')}</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {keys.rows.map((key) => (
            <tr key={key.id}>
              <td>{key.name}</td>
              <td>
                <code>{key.prefix}</code>
              </td>
              <td>{key.scopes.join(', ')}</td>
              {admin && <td>{key.userId}</td>}
              <td>{formatTime(key.createdAt)}</td>
              <td>{key.lastUsedAt ? formatTime(key.lastUsedAt) : t('never')}</td>
              <td>{key.expiresAt ? formatTime(key.expiresAt) : t('never')}</td>
              <td>
                <button type="button" class="danger" onClick={() => void revoke(key)}>
                  {t('revokeNamed', { name: key.name })}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <More more={keys.more} loading={keys.loading} />
    </section>
  );
}
