import { useEffect, useState } from 'preact/hooks';
import { ApiError, call } from '../api/client';
import { session } from '../api/session';
import { RecordKind, VerifyRecord } from '../components/verify-record';
import { Checkpoint, LedgerKey, noteSignedBy } from '../evidence/verify';
import { formatNumber, formatTime, t } from '../i18n';
import { ErrorMessage } from '../components/messages';

interface LedgerCheck {
  valid: boolean;
  treeSize: number;
  checked: number;
  problems: { leafIndex: number | null; kind: string; recordId: number; problem: string }[];
}

/** The latest checkpoint, its signature checked here; `Verify` for any record; the whole ledger's check (ADMIN). */
export function EvidencePage() {
  const admin = session()?.user.role === 'ADMIN';
  const [key, setKey] = useState<LedgerKey | null>(null);
  const [checkpoint, setCheckpoint] = useState<Checkpoint | null>(null);
  const [signed, setSigned] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [kind, setKind] = useState<RecordKind>('activity');
  const [id, setId] = useState('');
  const [target, setTarget] = useState<{ kind: RecordKind; id: number; at: number } | null>(null);
  const [ledger, setLedger] = useState<LedgerCheck | null>(null);
  const [checking, setChecking] = useState(false);

  useEffect(() => {
    (async () => {
      const [publicKey, latest] = await Promise.all([
        call<LedgerKey>('GET', '/ledger/public-key'),
        call<Checkpoint>('GET', '/ledger/checkpoint'),
      ]);
      setKey(publicKey);
      setCheckpoint(latest);
      setSigned(latest.origin === publicKey.origin && (await noteSignedBy(latest.note, publicKey)));
    })().catch((failure: unknown) => setError(failure instanceof ApiError ? failure.message : String(failure)));
  }, []);

  const checkLedger = async () => {
    setChecking(true);
    try {
      setLedger(await call<LedgerCheck>('GET', '/ledger/verify'));
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setChecking(false);
    }
  };

  return (
    <section aria-labelledby="evidence-title">
      <h1 id="evidence-title">{t('evidence')}</h1>
      <p>{t('evidenceIntro')}</p>
      <ErrorMessage text={error} />
      <h2>{t('latestCheckpoint')}</h2>
      {checkpoint && key ? (
        <dl class="facts">
          <dt>{t('origin')}</dt>
          <dd>
            <code>{checkpoint.origin}</code>
          </dd>
          <dt>{t('treeSize')}</dt>
          <dd>{formatNumber(checkpoint.treeSize)}</dd>
          <dt>{t('rootHash')}</dt>
          <dd>
            <code>{checkpoint.rootHash}</code>
          </dd>
          <dt>{t('time')}</dt>
          <dd>{formatTime(checkpoint.createdAt)}</dd>
          <dt>{t('publicKey')}</dt>
          <dd>
            <code>{key.publicKey}</code>
          </dd>
          <dt>{t('signature')}</dt>
          <dd aria-live="polite">
            {signed === null ? t('verifying') : signed ? t('signatureVerified') : t('signatureNotVerified')}
          </dd>
        </dl>
      ) : (
        !error && <p>{t('loading')}</p>
      )}

      <h2>{t('verifyRecord')}</h2>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          const number = Number(id);
          if (Number.isInteger(number) && number > 0) setTarget({ kind, id: number, at: Date.now() });
        }}
      >
        <label>
          {t('recordKind')}
          <select value={kind} onInput={(event) => setKind(event.currentTarget.value as RecordKind)}>
            <option value="activity">{t('activity')}</option>
            {admin && <option value="audit">{t('auditEntry')}</option>}
          </select>
        </label>
        <label>
          {t('recordId')}
          <input type="number" min="1" required value={id} onInput={(event) => setId(event.currentTarget.value)} />
        </label>
        <div class="buttons">
          <button type="submit">{t('verify')}</button>
        </div>
      </form>
      {target && (
        <VerifyRecord key={`${target.kind}:${target.id}:${target.at}`} kind={target.kind} id={target.id} auto />
      )}

      {admin && (
        <>
          <h2>{t('wholeLedger')}</h2>
          <button type="button" class="secondary" disabled={checking} onClick={() => void checkLedger()}>
            {checking ? t('verifying') : t('checkLedger')}
          </button>
          {ledger && (
            <div aria-live="polite">
              <p>
                <strong>{ledger.valid ? t('ledgerValid') : t('ledgerInvalid')}</strong>{' '}
                {t('ledgerChecked', { checked: formatNumber(ledger.checked), size: formatNumber(ledger.treeSize) })}
              </p>
              {ledger.problems.length > 0 && (
                <ul>
                  {ledger.problems.map((problem) => (
                    <li key={`${problem.kind}:${problem.recordId}:${problem.problem}`}>
                      {problem.kind} {problem.recordId}: {problem.problem}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
