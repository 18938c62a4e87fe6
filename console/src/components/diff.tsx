import { t } from '../i18n';

type Values = Record<string, unknown> | null;

const shown = (value: unknown) => (value === undefined ? '' : JSON.stringify(value));

/** An audit entry's `old_values` and `new_values`, field by field: what was, and what became. */
export function Diff({ before, after }: { before: Values; after: Values }) {
  const fields = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].sort();
  if (!fields.length) return <span class="muted">{t('noValues')}</span>;
  return (
    <table class="diff">
      <thead>
        <tr>
          <th scope="col">{t('field')}</th>
          <th scope="col">{t('before')}</th>
          <th scope="col">{t('after')}</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((field) => {
          const was = before?.[field];
          const is = after?.[field];
          const same = shown(was) === shown(is);
          return (
            <tr key={field} class={same ? undefined : 'changed'}>
              <th scope="row">{field}</th>
              <td>{was === undefined ? '' : <del>{shown(was)}</del>}</td>
              <td>{is === undefined ? '' : <ins>{shown(is)}</ins>}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
